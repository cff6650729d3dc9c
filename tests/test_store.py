"""The store: real SQLite files, WAL, recorded migrations, one transaction per cycle, never a foreign database."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watcher.errors import StoreError
from watcher.models import Evidence, Hit, Item, Match, Rule
from watcher.store import APPLICATION_ID, MIGRATIONS, Store

NOW = datetime(2024, 11, 26, 8, 0, tzinfo=UTC)


def make_hit(item: Item, rule_id: str = "drones", value: int | None = 188) -> Hit:
    rule = Rule(id=rule_id, title="Drones", when=None, severity="high")
    match = Match(rule_id=rule_id, value=value, negated=False, evidence=(Evidence("body", 0, 10, "188 drones", 188),))
    return Hit.from_match(rule, item, match, NOW)


def test_new_database_is_wal_owned_and_migrated(tmp_path: Path) -> None:
    with Store.open(tmp_path / "w.db") as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert store.schema_version == MIGRATIONS[-1][0]
        versions = [r[0] for r in store.conn.execute("SELECT version FROM _migrations ORDER BY version")]
        assert versions == [m[0] for m in MIGRATIONS]
    with Store.open(tmp_path / "w.db") as again:  # reopening runs nothing twice
        assert again.schema_version == MIGRATIONS[-1][0]


def test_refuses_another_programs_database(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance REAL)")
    conn.execute("INSERT INTO accounts VALUES (1, 100.0)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a watcher database"):
        Store.open(foreign)
    conn = sqlite3.connect(foreign)
    assert conn.execute("SELECT balance FROM accounts").fetchall() == [(100.0,)]
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["accounts"]


def test_record_cycle_is_idempotent(tmp_path: Path) -> None:
    item = Item(source="s", guid="g1", title="Attaque", body="188 drones")
    hit = make_hit(item)
    with Store.open(tmp_path / "w.db") as store:
        first = store.record_cycle([item], [(hit, None)], [(hit.id, "hook")], now=NOW)
        again = store.record_cycle([item], [(hit, None)], [(hit.id, "hook")], now=NOW)
        assert (first.new_items, first.new_hits, first.new_deliveries) == (1, 1, 1)
        assert (again.new_items, again.new_hits, again.new_deliveries) == (0, 0, 0)
        [stored] = store.hits()
        assert stored.value == 188 and stored.evidence[0].text == "188 drones"
        assert stored.fired_at == NOW


def test_record_cycle_is_one_transaction(tmp_path: Path) -> None:
    item = Item(source="s", guid="g1", title="Attaque", body="188 drones")
    hit = make_hit(item)
    with Store.open(tmp_path / "w.db") as store:
        # a delivery for a hit that does not exist violates the foreign key: the whole cycle must roll back
        with pytest.raises(sqlite3.IntegrityError):
            store.record_cycle([item], [(hit, None)], [("no-such-hit", "hook")], now=NOW)
        assert store.count("items") == 0
        assert store.count("hits") == 0
        assert store.count("deliveries") == 0


def test_new_revision_is_a_new_item_of_the_same_story(tmp_path: Path) -> None:
    v1 = Item(source="s", guid="story", body="au moins 100 drones")
    v2 = Item(source="s", guid="story", body="188 drones")
    assert v1.story_id == v2.story_id and v1.id != v2.id
    with Store.open(tmp_path / "w.db") as store:
        store.record_cycle([v1, v2], [], [], now=NOW)
        assert store.known_item_ids([v1.id, v2.id, "other"]) == {v1.id, v2.id}


def test_retention_prunes_old_items_but_keeps_hits(tmp_path: Path) -> None:
    old_hit_item = Item(source="s", guid="a", body="188 drones")
    old_plain = Item(source="s", guid="b", body="rien")
    hit = make_hit(old_hit_item)
    with Store.open(tmp_path / "w.db") as store:
        store.record_cycle([old_hit_item, old_plain], [(hit, None)], [], now=NOW - timedelta(days=100))
        assert store.prune(timedelta(days=90), now=NOW) == 1
        assert store.known_item_ids([old_hit_item.id, old_plain.id]) == {old_hit_item.id}
        assert len(store.hits()) == 1


def test_readonly_open_of_missing_database_is_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database at"):
        Store.open(tmp_path / "missing.db", readonly=True)
