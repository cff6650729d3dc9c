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
    finally:
        hook.stop()
