"""Full-text search: the FTS5 index, its triggers and migration, safe queries, the CLI."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ecosystem_fixtures import run, store_seed, write_config

from watcher.models import Item
from watcher.search import SearchQueryError, fts_query, rebuild_index, search
from watcher.store import MIGRATIONS, Store, split_sql


@pytest.fixture
def store(tmp_path: Path):
    s = store_seed(tmp_path / "w.db")
    yield s
    s.close()


def test_seed_found_by_phrase_with_highlight(store: Store) -> None:
    results = search(store, '"missile balistique"')
    assert len(results) == 1
    r = results[0]
    assert r.source == "seed"
    # the phrase is folded like rules fold it: "missiles balistiques" matches too, shown as written
    assert len(r.highlights) == 1
    start, end = r.highlights[0]
    assert r.snippet[start:end] in ("missile balistique", "missiles balistiques")
    assert r.marked().count(f"[{r.snippet[start:end]}]") == 1


def test_seed_found_without_accent_or_case(store: Store) -> None:
    for query in ("nucleaire", "NUCLÉAIRE", "Nucléaire", "nucl*"):
        results = search(store, query)
        assert [r.source for r in results] == ["seed"], query
        assert "nucléaire" in results[0].marked(), query


def test_words_are_all_required_and_exclusion_works(store: Store) -> None:
    assert search(store, "missile balistique")
    assert search(store, "missile girafe") == []
    assert search(store, "otan -nucleaire") == []
    assert search(store, "otan -girafe")


def test_elided_article_is_ignored(store: Store) -> None:
    assert search(store, "l'Otan") and search(store, "l’Otan")


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("drone", "drones"),  # the seed only says "drones"
        ("DRONES", "drones"),
        ("missiles balistiques", "missiles"),
        ('"missiles balistiques"', "missiles balistiques"),
        ('"missile balistique"', None),
        ("nucleaire", "nucléaire"),
        ("dron*", "drones"),
        ("drones*", "drones"),
    ],
)
def test_search_folds_like_rules_and_highlights_the_original(store: Store, query: str, shown: str | None) -> None:
    results = search(store, query)
    assert [r.source for r in results] == ["seed"], query
    marked = [results[0].snippet[s:e] for s, e in results[0].highlights]
    assert marked, query
    if shown is not None:
        assert shown in marked, (query, marked)


def test_plural_and_elision_fold_on_both_sides(store: Store) -> None:
    store.record_cycle(
        [Item(source="wire", guid="c", title="Les chevaux de l’écurie", body="Trois batteries tirées.")], [], []
    )
    for query in ("cheval", "chevaux", "ecurie", "l'écuries", "batterie", "battery", '"cheval de ecuries"'):
        found = search(store, query)
        assert [r.source for r in found] == ["wire"], query
    r = search(store, "cheval")[0]
    assert r.marked() == "Les [chevaux] de l’écurie"
    assert search(store, "-drone cheval")
    # a snippet cut before its first word keeps that word's elided article
    body = "Un deux trois quatre cinq six sept huit neuf, l’écurie voit trois palefreniers."
    store.record_cycle([Item(source="wire", guid="p", title="Essai", body=body)], [], [])
    assert search(store, "palefrenier")[0].marked() == "…l’écurie voit trois [palefreniers]"
    assert search(store, "cheval -batterie") == []


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "AND",
        "OR (",
        "NEAR(a b)",
        "missile OR",
        "*",
        'a"b',
        "col:missile",
        "^missile",
        "-",
        "'; DROP TABLE items; --",
    ],
)
def test_hostile_queries_never_raise_syntax_errors(store: Store, query: str) -> None:
    with contextlib.suppress(SearchQueryError):  # "nothing to search for" is the one allowed refusal
        search(store, query)
    assert store.count("items") == 1


def test_fts_query_quotes_every_term() -> None:
    assert fts_query("missile balistique") == '"missile" AND "balistique"'
    assert fts_query('"missiles balistiques" -Otan') == '"missile balistique" NOT "otan"'
    assert fts_query("Shahed-136") == '"shahed 136"'
    assert fts_query("l'Otan") == '"otan"'
    assert fts_query("nucl*") == '"nucl" *'
    assert fts_query("drones*") == '("drone" * OR "drones" *)'
    assert fts_query('say "AND" OR') == '"say" AND "and" AND "or"'
    with pytest.raises(SearchQueryError):
        fts_query("-only-negative")
    with pytest.raises(SearchQueryError):
        fts_query('  ""  ')


def test_triggers_follow_inserts_updates_and_deletes(store: Store) -> None:
    item = Item(source="wire", guid="g1", title="Frappe de drones sur Odessa", body="Aucun blessé.")
    store.record_cycle([item], [], [])
    assert [r.title for r in search(store, "odessa")] == ["Frappe de drones sur Odessa"]
    store.conn.execute("UPDATE items SET title = 'Frappe sur Kharkiv' WHERE id = ?", (item.id,))
    assert search(store, "odessa") == []
    assert [r.title for r in search(store, "kharkiv")] == ["Frappe sur Kharkiv"]
    store.prune(timedelta(0), now=datetime.now(UTC) + timedelta(days=1))
    assert store.count("items") == 0
    assert search(store, "kharkiv") == []
    assert search(store, "nucleaire") == []
    # the index stays consistent with its content table (FTS5's own check)
    store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def test_since_filters_on_stored_time(tmp_path: Path) -> None:
    old = datetime.now(UTC) - timedelta(days=30)
    with store_seed(tmp_path / "w.db", now=old) as s:
        assert search(s, "nucleaire")
        assert search(s, "nucleaire", since=datetime.now(UTC) - timedelta(days=7)) == []
        assert search(s, "nucleaire", since=old - timedelta(minutes=1))


def test_limit_and_rank(store: Store) -> None:
    for i in range(5):
        store.record_cycle([Item(source="wire", guid=f"g{i}", title=f"Otan réunion {i}", body="otan " * i)], [], [])
    results = search(store, "otan", limit=3)
    assert len(results) == 3
    assert [r.rank for r in results] == sorted(r.rank for r in results)


def test_migration_2_indexes_items_stored_before_it(tmp_path: Path) -> None:
    """A database created by a version without search gets its existing items indexed on upgrade."""
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE _migrations (version INTEGER PRIMARY KEY, description TEXT, applied_at TEXT)")
    for statement in split_sql(MIGRATIONS[0][2]):
        conn.execute(statement)
    conn.execute("INSERT INTO _migrations VALUES (1, 'initial schema', '2024-11-26T00:00:00Z')")
    conn.execute(
        "INSERT INTO items (id, story_id, source, guid, title, body, fetched_at)"
        " VALUES ('i1', 's1', 'old', 'g', 'Essai nucléaire', 'texte', '2024-11-26T00:00:00Z')"
    )
    conn.close()
    with Store.open(db) as s:
        assert s.schema_version >= 2
        assert [r.item_id for r in search(s, "nucleaire")] == ["i1"]


def test_migration_4_folds_items_stored_before_it(tmp_path: Path) -> None:
    """A database at version 3 (search without plural folding) gets its items folded on upgrade."""
    db = tmp_path / "v3.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE _migrations (version INTEGER PRIMARY KEY, description TEXT, applied_at TEXT)")
    for version, description, sql in MIGRATIONS[:3]:
        for statement in split_sql(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations VALUES (?, ?, '2024-11-26T00:00:00Z')", (version, description))
    conn.execute(
        "INSERT INTO items (id, story_id, source, guid, title, body, fetched_at)"
        " VALUES ('i1', 's1', 'old', 'g', 'Attaque de drones', 'texte', '2024-11-26T00:00:00Z')"
    )
    conn.close()
    with Store.open(db) as s:
        assert s.schema_version >= 4
        assert [r.item_id for r in search(s, "drone")] == ["i1"]
        # the triggers follow later writes too, through the function Store.open registers
        s.record_cycle([Item(source="wire", guid="n", title="Essais nucléaires")], [], [])
        assert [r.title for r in search(s, "essai nucleaire")] == ["Essais nucléaires"]


def test_sqlite_utils_and_datasette_detect_the_index(store: Store) -> None:
    assert store.db["items"].detect_fts() == "items_fts"
    found = list(store.db["items"].search("nucleaire", columns=["source"]))
    assert found == [{"source": "seed"}]


def test_rebuild_index(store: Store) -> None:
    store.conn.execute("INSERT INTO items_fts (items_fts) VALUES ('delete-all')")
    store.conn.execute("DELETE FROM items_fold")
    assert search(store, "nucleaire") == []
    rebuild_index(store)
    assert search(store, "nucleaire")


def test_hits_are_listed_with_results(store: Store) -> None:
    row = store.conn.execute("SELECT id, story_id FROM items").fetchone()
    store.conn.execute(
        "INSERT INTO hits (id, rule, title, severity, item_id, story_id, source, item_title, evidence,"
        " fired_at) VALUES ('h1', 'nuclear', 'Nuclear', 'high', ?, ?, 'seed', 't', '[]', ?)",
        (row["id"], row["story_id"], "2024-11-26T00:00:00Z"),
    )
    assert search(store, "nucleaire")[0].rules == ("nuclear",)


# -- CLI -----------------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = write_config(tmp_path)
    store_seed(tmp_path / "var" / "watcher.db").close()
    return cfg


def test_cli_finds_seed_by_phrase_and_without_accent(config: Path) -> None:
    for query in ("missile balistique", "nucleaire", "drone", "missiles balistiques"):
        result = run(config, "search", query, "--format", "json")
        assert result.exit_code == 0, result.output
        found = json.loads(result.stdout)
        assert [f["source"] for f in found] == ["seed"]
        assert found[0]["highlights"]


def test_cli_table_and_csv(config: Path) -> None:
    table = run(config, "search", "missile balistique", "--since", "7d")
    assert table.exit_code == 0
    assert "balistique" in table.stdout and "seed" in table.stdout
    assert "\x1b[" not in table.stdout  # not a terminal: no colour codes
    csv_out = run(config, "search", "nucleaire", "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "fetched_at,source,title,snippet,rules"
    assert len(csv_out) == 2


def test_cli_bad_query_is_one_line_not_a_traceback(config: Path) -> None:
    result = run(config, "search", '"')
    assert result.exit_code == 2
    assert "nothing to search for" in result.output
    assert "Traceback" not in result.output


def test_cli_without_database_says_so(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    result = run(cfg, "search", "otan")
    assert result.exit_code == 1
    assert "no database" in result.output
