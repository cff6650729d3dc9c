"""The whole pipeline from the CLI: poll the seed, store, list hits, poll again and get nothing new."""

from __future__ import annotations

import json

from helpers import Project


def drone_hits(hits: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [h for h in hits if h["rule"] == "drone-swarm"]


def test_poll_then_hits_lists_the_drone_alert(project: Project) -> None:
    project.use_starter_rules()
    project.write_config(notify="")
    project.drop_seed()

    first = project.invoke("poll")
    assert first.exit_code == 0, first.output
    assert "drop: 1 fetched, 1 new" in first.output

    listed = project.invoke("hits", "--format", "json")
    assert listed.exit_code == 0, listed.output
    hits = json.loads(listed.output)
    [drone] = drone_hits(hits)
    assert drone["value"] == 188
    assert drone["severity"] in {"high", "critical"}
    assert drone["source"] == "drop"
    assert drone["fired_at"].endswith("Z")
    assert any("188" in e["text"] for e in drone["evidence"])
    for key in ("id", "rule", "title", "severity", "item", "source", "link", "value", "negated", "evidence"):
        assert key in drone

    second = project.invoke("poll")
    assert second.exit_code == 0, second.output
    assert "0 new, 0 hits, 0 alerts" in second.output
    again = json.loads(project.invoke("hits", "--format", "json").output)
    assert len(again) == len(hits)


def test_hits_csv_and_filters(project: Project) -> None:
    project.use_starter_rules()
    project.write_config(notify="")
    project.drop_seed()
    assert project.invoke("poll").exit_code == 0
    csv_out = project.invoke("hits", "--rule", "drone-swarm", "--format", "csv").output.splitlines()
    assert csv_out[0].startswith("fired_at,severity,rule,value")
    assert len(csv_out) == 2 and ",drone-swarm,188," in csv_out[1]
    assert json.loads(project.invoke("hits", "--since", "1h", "--format", "json").output)
    bad = project.invoke("hits", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since" in bad.output


def test_missing_source_path_is_one_line_and_nonzero(project: Project) -> None:
    project.use_starter_rules()
    project.write_config(notify="")
    project.drop.rmdir()
    result = project.invoke("poll")
    assert result.exit_code == 1
    assert "drop: error:" in result.output
    assert str(project.drop) in result.output
    assert "Traceback" not in result.output


def test_broken_rules_file_stops_poll_with_file_line(project: Project) -> None:
    project.write_config(notify="")
    (project.rules / "bad.yaml").write_text("- id: x\n  when: [a, b\n", encoding="utf-8")
    result = project.invoke("poll")
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output
    assert "Traceback" not in result.output


def test_story_revisions_alert_once_then_on_escalation(project: Project) -> None:
    """Issue 4 acceptance 4, through the real pipeline: a drop-folder file revised three times is one story."""
    import os
    import time

    from servers_notify import WebhookServer

    hook = WebhookServer().start()
    try:
        (project.rules / "drones.yaml").write_text(
            "- id: drone-swarm\n  title: Massive drone attack\n  when: {count: drone, at_least: 100}\n",
            encoding="utf-8",
        )
        project.write_config(notify=f'url = "{hook.url}"')
        dispatch = project.drop / "kyiv-attack.txt"
        revisions = [
            "Attaque massive sur l'Ukraine\n\nAu moins 100 drones ont été lancés cette nuit contre Kyiv.",
            "Attaque massive sur l'Ukraine\n\nL'armée de l'air fait état de 188 drones lancés cette nuit.",
            "Attaque massive sur l'Ukraine\n\nL'armée de l'air fait état de 188 drones lancés cette nuit. Bilan.",
        ]
        for n, text in enumerate(revisions):
            dispatch.write_text(text, encoding="utf-8")
            past = time.time() - 60 + n  # settled, and a new mtime for each revision
            os.utime(dispatch, (past, past))
            result = project.invoke("poll")
            assert result.exit_code == 0, result.output
            assert "1 new" in result.output
        drone_alerts = [r.json() for r in hook.requests if "Massive drone attack" in r.json()["title"]]
        assert len(drone_alerts) == 2
        assert "100" in drone_alerts[0]["title"] and "188" in drone_alerts[1]["title"]
        hits = [h for h in json.loads(project.invoke("hits", "--format", "json").output) if h["rule"] == "drone-swarm"]
        assert [h["value"] for h in hits] == [100, 188, 188]  # every revision's hit is stored
        assert [h["suppressed"] for h in hits] == [None, None, "story"]
    finally:
        hook.stop()


def test_a_source_gone_silent_is_reported_to_admins_once(project: Project) -> None:
    """Issue 5 health: a source that polls fine but brings nothing for far longer than usual raises one alert."""
    from datetime import UTC, datetime, timedelta

    from servers_notify import WebhookServer

    from watcher.config import load_config
    from watcher.models import Item
    from watcher.pipeline import open_pipeline

    hook = WebhookServer().start()
    try:
        project.write_config(notify=f'url = "{hook.url}"\ntags = ["admin"]')
        config = load_config(project.config)
        t0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        now = [t0]
        with open_pipeline(config, clock=lambda: now[0]) as pipeline:
            for hour in range(4):  # news every hour...
                stamp = t0 + timedelta(hours=hour)
                pipeline.store.record_cycle([Item(source="drop", guid=f"g{hour}", body="x")], [], [], now=stamp)
            now[0] = t0 + timedelta(hours=4)
            assert pipeline.check_silence() == []
            now[0] = t0 + timedelta(days=2)  # ...then nothing for two days
            assert pipeline.check_silence() == [("drop", "silent")]
            assert pipeline.check_silence() == []  # once
            pipeline.store.record_cycle([Item(source="drop", guid="back", body="y")], [], [], now=now[0])
            assert pipeline.check_silence() == [("drop", "resumed")]
        titles = [r.json()["title"] for r in hook.requests]
        assert titles == ["watcher: source drop is silent", "watcher: source drop has news again"]
    finally:
        hook.stop()


def test_a_failing_source_alerts_admins_once_then_recovers(project: Project) -> None:
    from servers_notify import WebhookServer

    hook = WebhookServer().start()
    try:
        project.write_config(notify=f'url = "{hook.url}"\ntags = ["admin"]')
        text = project.config.read_text(encoding="utf-8")
        project.config.write_text(text.replace("[watcher]\n", "[watcher]\nfailure_alert_after = 2\n"), "utf-8")
        project.drop.rmdir()
        for _ in range(3):
            assert project.invoke("poll").exit_code == 1
        project.drop.mkdir()
        assert project.invoke("poll").exit_code == 0
        titles = [r.json()["title"] for r in hook.requests]
        assert titles == ["watcher: source drop is failing", "watcher: source drop recovered"]
        assert "failed 2 times in a row" in hook.requests[0].json()["message"]
    finally:
        hook.stop()
