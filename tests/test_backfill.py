"""`watcher rules backfill`: current rules over stored items; --apply records hits and notifies nobody."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ecosystem_fixtures import DRONE_RULES, SEED, run, store_seed, write_config
from servers_notify import WebhookServer

from watcher.backfill import UnknownRule, backfill
from watcher.models import Item
from watcher.rules import load_rules
from watcher.store import Store

OTHER_RULE = """\
- id: giraffe
  title: Giraffe sighting
  when: girafe
"""


def _ruleset(tmp: Path, text: str = DRONE_RULES):  # type: ignore[no-untyped-def]
    path = tmp / "bf-rules.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules([path])


def test_backfill_lists_the_drone_hit_and_writes_nothing(tmp_path: Path) -> None:
    with store_seed(tmp_path / "w.db") as store:
        result = backfill(store, _ruleset(tmp_path))
        assert result.items_scanned == 1
        drone = [h for h in result.hits if h.rule == "drone-swarm"]
        assert len(drone) == 1 and drone[0].value == 188
        assert {h.rule for h in result.hits} == {"drone-swarm", "ballistic-missile"}
        assert result.recorded == 0
        assert store.count("hits") == 0


def test_fired_at_is_when_the_item_was_stored(tmp_path: Path) -> None:
    stored = datetime(2024, 11, 26, 9, 30, tzinfo=UTC)
    with store_seed(tmp_path / "w.db", now=stored) as store:
        result = backfill(store, _ruleset(tmp_path))
        assert {h.fired_at for h in result.hits} == {stored}


def test_apply_records_once_marked_backfill_without_deliveries(tmp_path: Path) -> None:
    with store_seed(tmp_path / "w.db") as store:
        ruleset = _ruleset(tmp_path)
        first = backfill(store, ruleset, apply=True)
        assert first.recorded == len(first.hits) == 2
        rows = store.conn.execute("SELECT rule, suppressed, value FROM hits ORDER BY rule").fetchall()
        assert [tuple(r) for r in rows] == [("ballistic-missile", "backfill", None), ("drone-swarm", "backfill", 188)]
        assert store.count("deliveries") == 0
        again = backfill(store, ruleset, apply=True)
        assert again.hits == () and again.already_stored == 2 and again.recorded == 0


def test_rule_and_since_filters(tmp_path: Path) -> None:
    old = datetime.now(UTC) - timedelta(days=30)
    with store_seed(tmp_path / "w.db", now=old) as store:
        store.record_cycle([Item(source="wire", guid="new", title="Un missile balistique tiré")], [], [])
        ruleset = _ruleset(tmp_path)
        only = backfill(store, ruleset, rule="drone-swarm")
        assert [h.rule for h in only.hits] == ["drone-swarm"]
        recent = backfill(store, ruleset, since=datetime.now(UTC) - timedelta(days=7))
        assert recent.items_scanned == 1
        assert [(h.rule, h.source) for h in recent.hits] == [("ballistic-missile", "wire")]
        with pytest.raises(UnknownRule, match="no rule with id 'drone'"):
            backfill(store, ruleset, rule="drone")


def test_progress_sees_every_item(tmp_path: Path) -> None:
    seen: list[int] = []

    def progress(items, total):  # type: ignore[no-untyped-def]
        seen.append(total)
        yield from items

    with store_seed(tmp_path / "w.db") as store:
        backfill(store, _ruleset(tmp_path), progress=progress)
    assert seen == [1]


# -- CLI, on a database filled by a real poll, with a real notification target ----------------------------


@pytest.fixture
def polled(tmp_path: Path, webhook: WebhookServer) -> Path:
    """The seed stored by `watcher poll` while the only rule is unrelated: the seed has no hit yet."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / SEED.name).write_bytes(SEED.read_bytes())
    old = time.time() - 3600  # a file that finished arriving long ago: the drop folder reads it at once
    os.utime(drop / SEED.name, (old, old))
    notify = f'\n[[source]]\nname = "seed"\npath = "drop/"\n\n[[notify]]\nname = "hook"\nurl = "{webhook.url}"\n'
    config = write_config(tmp_path, rules=OTHER_RULE, notify=notify)
    result = run(config, "poll")
    assert result.exit_code == 0, result.output
    with Store.open(tmp_path / "var" / "watcher.db", readonly=True) as store:
        assert store.count("items") == 1 and store.count("hits") == 0
    (tmp_path / "rules" / "test.yaml").write_text(DRONE_RULES, encoding="utf-8")  # the new rules
    return config


def test_cli_lists_drone_hit(polled: Path) -> None:
    result = run(polled, "rules", "backfill", "--since", "7d", "--format", "json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    drone = [h for h in hits if h["rule"] == "drone-swarm"]
    assert len(drone) == 1 and drone[0]["value"] == 188 and drone[0]["source"] == "seed"
    assert "run again with --apply" in result.stderr
    table = run(polled, "rules", "backfill", "--rule", "drone-swarm")
    assert "drone-swarm" in table.stdout and "188" in table.stdout and "ballistic-missile" not in table.stdout


def test_cli_apply_records_and_notifies_nobody(polled: Path, webhook: WebhookServer) -> None:
    result = run(polled, "rules", "backfill", "--apply", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "nothing was notified" in result.stderr
    listed = json.loads(run(polled, "hits", "--rule", "drone-swarm", "--format", "json").stdout)
    assert [h["value"] for h in listed] == [188]
    # a poll flushes the outbox: still nothing may reach the target
    assert run(polled, "poll").exit_code == 0
    db = polled.parent / "var" / "watcher.db"
    with Store.open(db, readonly=True) as store:
        assert store.count("deliveries") == 0
        assert {r[0] for r in store.conn.execute("SELECT suppressed FROM hits")} == {"backfill"}
    assert webhook.received == []
    # and nothing is left to backfill
    assert json.loads(run(polled, "rules", "backfill", "--format", "json").stdout) == []


def test_cli_unknown_rule_is_one_line(polled: Path) -> None:
    result = run(polled, "rules", "backfill", "--rule", "nope")
    assert result.exit_code == 2
    assert "no rule with id 'nope'" in result.output and "Traceback" not in result.output


def test_a_disabled_rule_is_tried_only_when_named(tmp_path: Path) -> None:
    draft = DRONE_RULES + "- id: draft-nato\n  title: NATO draft\n  enabled: false\n  when: Otan\n"
    with store_seed(tmp_path / "w.db") as store:
        ruleset = _ruleset(tmp_path, draft)
        assert "draft-nato" not in {h.rule for h in backfill(store, ruleset).hits}
        tried = backfill(store, ruleset, rule="draft-nato")
        assert [h.rule for h in tried.hits] == ["draft-nato"]
        assert any("Otan" in e.text for e in tried.hits[0].evidence)
