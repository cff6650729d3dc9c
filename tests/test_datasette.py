"""Datasette's metadata.json canned queries and docs/database.md, checked against a real database."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ecosystem_fixtures import ROOT, store_seed

from watcher.models import Evidence, Hit, SourceState
from watcher.store import Store

METADATA = ROOT / "metadata.json"
DATABASE_DOC = ROOT / "docs" / "database.md"
NOW = datetime.now(UTC)


def metadata() -> dict:  # type: ignore[type-arg]
    return json.loads(METADATA.read_text(encoding="utf-8"))


@pytest.fixture
def db(tmp_path: Path):
    """A database made by Store.open, holding the seed, two hits, a failing source and three deliveries."""
    path = tmp_path / "var" / "watcher.db"
    with store_seed(path) as store:
        item = next(store.items())

        def hit(rule: str, when: datetime) -> Hit:
            return Hit(
                id=f"{rule}-hit", rule=rule, title=rule.title(), severity="high", item_id=item.id,
                story_id=item.story_id, source=item.source, item_title=item.label, link=None, published=None,
                value=188, negated=False, evidence=(Evidence("body", 0, 10, "188 drones", 188),),
                fired_at=when,
            )  # fmt: skip

        recent, old = hit("drone-swarm", NOW - timedelta(hours=2)), hit("nuclear", NOW - timedelta(days=40))
        store.record_cycle([], [(recent, None), (old, "backfill")], [(recent.id, "desk"), (recent.id, "mail")])
        store.conn.execute("UPDATE deliveries SET status = 'failed', last_error = '550' WHERE target = 'mail'")
        store.conn.execute(
            "INSERT INTO deliveries (hit_id, target, kind, status, created_at) VALUES (NULL, 'ops', 'admin',"
            " 'pending', ?)",
            ((NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),),  # due after the hit deliveries
        )
        store.save_source_state(
            SourceState(name="lemonde", last_error="HTTP 503", last_error_at=NOW, consecutive_failures=3),
            kind="http", location="https://example.org/rss",
        )  # fmt: skip
        store.save_source_state(SourceState(name="seed", last_success=NOW), kind="path", location="seeds/")
    return path


def query(db: Path, name: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    sql = metadata()["databases"]["watcher"]["queries"][name]["sql"]
    wanted = set(re.findall(r":(\w+)", sql))
    assert wanted == set(params), f"{name} takes {sorted(wanted)}"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # read-only, as Datasette opens it
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def test_database_name_matches_the_default_file() -> None:
    assert set(metadata()["databases"]) == {"watcher"}  # datasette names a database after its file: watcher.db


def test_every_canned_query_is_tested() -> None:
    assert set(metadata()["databases"]["watcher"]["queries"]) == {
        "recent_hits", "hits_per_rule_per_day", "failing_sources", "pending_deliveries", "failed_deliveries",
        "search_items",
    }  # fmt: skip


def test_recent_hits(db: Path) -> None:
    assert [r["rule"] for r in query(db, "recent_hits", since="")] == ["drone-swarm"]
    rows = query(db, "recent_hits", since=(NOW - timedelta(days=60)).strftime("%Y-%m-%d"))
    assert [r["rule"] for r in rows] == ["drone-swarm", "nuclear"]
    assert rows[1]["suppressed"] == "backfill"


def test_hits_per_rule_per_day(db: Path) -> None:
    rows = query(db, "hits_per_rule_per_day", since="2000-01-01")
    assert {(r["day"], r["rule"], r["hits"], r["alerted"]) for r in rows} == {
        ((NOW - timedelta(hours=2)).strftime("%Y-%m-%d"), "drone-swarm", 1, 1),
        ((NOW - timedelta(days=40)).strftime("%Y-%m-%d"), "nuclear", 1, 0),
    }
    assert [r["rule"] for r in query(db, "hits_per_rule_per_day", since="")] == ["drone-swarm"]


def test_failing_sources(db: Path) -> None:
    rows = query(db, "failing_sources")
    assert [(r["name"], r["consecutive_failures"], r["last_error"]) for r in rows] == [("lemonde", 3, "HTTP 503")]


def test_pending_and_failed_deliveries(db: Path) -> None:
    pending = query(db, "pending_deliveries")
    assert [(r["target"], r["kind"], r["rule"]) for r in pending] == [
        ("desk", "hit", "drone-swarm"),
        ("ops", "admin", None),
    ]
    failed = query(db, "failed_deliveries")
    assert [(r["target"], r["last_error"], r["rule"]) for r in failed] == [("mail", "550", "drone-swarm")]


def test_search_items(db: Path) -> None:
    rows = query(db, "search_items", q="nucleaire")
    assert len(rows) == 1 and "[nucléaire]" in rows[0]["snippet"]


def test_metadata_tables_exist(db: Path) -> None:
    with Store.open(db) as store:
        tables = set(store.db.table_names())
    assert set(metadata()["databases"]["watcher"]["tables"]) <= tables


def _doc_sections() -> dict[str, str]:
    text = DATABASE_DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### `(\w+)`\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_table_and_column_is_documented(db: Path) -> None:
    sections = _doc_sections()
    with Store.open(db) as store:
        conn = store.conn
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            if not re.match(r"^items_(fts|fold)_(data|idx|docsize|config|content)$", r[0])  # FTS5's storage, in the doc
        ]
        missing = []
        for table in tables:
            if table not in sections:
                missing.append(f"table {table}")
                continue
            for col in conn.execute(f"PRAGMA table_info([{table}])"):
                if f"`{col['name']}`" not in sections[table]:
                    missing.append(f"{table}.{col['name']}")
    assert not missing, f"docs/database.md does not describe: {', '.join(missing)}"


def test_every_canned_query_is_documented() -> None:
    text = DATABASE_DOC.read_text(encoding="utf-8")
    for name in metadata()["databases"]["watcher"]["queries"]:
        assert f"`{name}`" in text, name
