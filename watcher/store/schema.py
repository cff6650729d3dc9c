"""The database schema: numbered migrations, append only.

A shipped migration is never edited, because users' databases have already run
it; a change is a new migration at the end of ``MIGRATIONS``. ``docs/database.md``
describes every table and column and must stay in sync with this file.
"""

from __future__ import annotations

from ..text import word_keys

# "WtCh": written into every database we create; a file with another non-zero
# application_id belongs to some other program and is never written to.
APPLICATION_ID = 0x57746368

# Numbered migrations. Append only: a shipped migration is never edited, because
# users' databases have already run it. Each entry is (version, description, SQL).
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial schema",
        """
        -- one row per source; HTTP cache validators and health live here
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,                 -- http | path
            location TEXT NOT NULL,             -- URL or folder (never secrets: URLs with userinfo are redacted)
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,                     -- sha256 of the last body parsed: skip identical bodies
            last_success TEXT,
            last_error TEXT,
            last_error_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            items_seen INTEGER NOT NULL DEFAULT 0,
            next_poll TEXT,
            alerted_failing INTEGER NOT NULL DEFAULT 0
        );
        -- one row per revision of a story: id changes with content/version, story_id does not
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            story_id TEXT NOT NULL,
            source TEXT NOT NULL,
            guid TEXT NOT NULL,
            version TEXT,
            title TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            link TEXT,
            published TEXT,
            language TEXT,
            origin TEXT,
            fetched_at TEXT NOT NULL
        );
        CREATE INDEX items_story ON items(story_id);
        CREATE INDEX items_fetched ON items(fetched_at);
        -- files of drop-folder sources already read, so a restart does not re-read them
        CREATE TABLE files (
            source TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            error TEXT,                         -- set when the file was bad: reported once
            seen_at TEXT NOT NULL,
            PRIMARY KEY (source, path)
        );
        -- one row per (rule, item revision); suppressed hits are stored but not notified
        CREATE TABLE hits (
            id TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            title TEXT NOT NULL,
            severity TEXT NOT NULL,
            item_id TEXT NOT NULL REFERENCES items(id),
            story_id TEXT NOT NULL,
            source TEXT NOT NULL,
            item_title TEXT NOT NULL,
            link TEXT,
            published TEXT,
            value REAL,
            negated INTEGER NOT NULL DEFAULT 0,
            evidence TEXT NOT NULL,             -- JSON list of Evidence.to_dict()
            tags TEXT NOT NULL DEFAULT '[]',    -- JSON list
            fired_at TEXT NOT NULL,
            suppressed TEXT                     -- NULL: alerted; else why not (story, cooldown, backfill, digest)
        );
        CREATE INDEX hits_rule ON hits(rule, fired_at);
        CREATE INDEX hits_fired ON hits(fired_at);
        CREATE INDEX hits_story ON hits(story_id, rule);
        -- the outbox: one row per message owed to one target
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hit_id TEXT REFERENCES hits(id),    -- NULL for digests, admin notices, tests
            target TEXT NOT NULL,               -- target name, never its URL
            kind TEXT NOT NULL DEFAULT 'hit',   -- hit | digest | admin | test
            payload TEXT,                       -- JSON: for kinds that are not one hit (digest hit ids, notice text)
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT
        );
        CREATE UNIQUE INDEX deliveries_hit_target ON deliveries(hit_id, target) WHERE hit_id IS NOT NULL;
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
        -- daemon state for `watcher status` (up since, last cycle, rules hash, last reload...)
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """,
    ),
    (
        2,
        "full-text search over items",
        # The same layout as sqlite-utils' enable_fts(..., create_triggers=True), so sqlite-utils
        # (`table.search`, `sqlite-utils rebuild-fts`) and Datasette detect and use it. External content:
        # the text lives once, in items; the index points at items.rowid. A trigger body's inner
        # statements must not end a line with ';' (the migration splitter cuts there).
        """
        CREATE VIRTUAL TABLE items_fts USING FTS5 (
            title, summary, body,
            tokenize='unicode61 remove_diacritics 2',
            content="items"
        );
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts (rowid, title, summary, body)
            VALUES (new.rowid, new.title, new.summary, new.body)
        ; END;
        CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary, body)
            VALUES ('delete', old.rowid, old.title, old.summary, old.body)
        ; END;
        CREATE TRIGGER items_au AFTER UPDATE ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary, body)
            VALUES ('delete', old.rowid, old.title, old.summary, old.body)
            ; INSERT INTO items_fts (rowid, title, summary, body)
            VALUES (new.rowid, new.title, new.summary, new.body)
        ; END;
        -- index the items stored before this migration
        INSERT INTO items_fts (items_fts) VALUES ('rebuild');
        """,
    ),
    (
        3,
        "deliveries: digests and deduplicated admin notices",
        """
        -- a hit delivery folded into a digest points at the digest delivery that carries it
        ALTER TABLE deliveries ADD COLUMN digest_id INTEGER REFERENCES deliveries(id);
        -- admin notices that must be sent once per target (source failing, rules reload failed...)
        ALTER TABLE deliveries ADD COLUMN dedupe_key TEXT;
        CREATE UNIQUE INDEX deliveries_dedupe ON deliveries(target, dedupe_key) WHERE dedupe_key IS NOT NULL;
        CREATE INDEX deliveries_digest ON deliveries(digest_id);
        """,
    ),
    (
        4,
        "search folds singular/plural and elision like the rules do",
        # items_fts (migration 2) only knows case and accents. items_fold indexes each text column as
        # its watcher.text keys ("drones" -> "drone", "l'Otan" -> "otan"), computed by watcher_fold(),
        # a Python function every Store connection registers (see FOLD_FUNCTION). It stores its own
        # copy of the keys rather than pointing at items, so deleting a row never has to recompute
        # them: a later change to the folding cannot leave stale words behind, only unfolded ones
        # until a migration rebuilds it. Only `watcher search` uses it; items_fts stays for Datasette.
        """
        CREATE VIRTUAL TABLE items_fold USING FTS5 (
            title, summary, body,
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER items_fold_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fold (rowid, title, summary, body)
            VALUES (new.rowid, watcher_fold(new.title), watcher_fold(new.summary), watcher_fold(new.body))
        ; END;
        CREATE TRIGGER items_fold_ad AFTER DELETE ON items BEGIN
            DELETE FROM items_fold WHERE rowid = old.rowid
        ; END;
        CREATE TRIGGER items_fold_au AFTER UPDATE OF title, summary, body ON items BEGIN
            DELETE FROM items_fold WHERE rowid = old.rowid
            ; INSERT INTO items_fold (rowid, title, summary, body)
            VALUES (new.rowid, watcher_fold(new.title), watcher_fold(new.summary), watcher_fold(new.body))
        ; END;
        -- index the items stored before this migration
        INSERT INTO items_fold (rowid, title, summary, body)
            SELECT rowid, watcher_fold(title), watcher_fold(summary), watcher_fold(body) FROM items;
        """,
    ),
]

# The SQL name of fold_for_index(): the items_fold triggers call it, so every connection that
# writes items must register it. Store.open does; a connection opened another way (sqlite-utils
# CLI, Datasette) can read everything but gets "no such function" if it inserts or updates items.
FOLD_FUNCTION = "watcher_fold"


def fold_for_index(text: str | None) -> str:
    """The text as search sees it: one key per word, the keys rules compare on (watcher.text)."""
    return " ".join(word_keys(text)) if text else ""


def split_sql(script: str) -> list[str]:
    statements, buf = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        buf.append(code)
        if code.rstrip().endswith(";"):
            statements.append("\n".join(buf).strip())
            buf = []
    tail = "\n".join(buf).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s.strip(" ;\n")]
