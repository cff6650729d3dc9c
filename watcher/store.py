"""SQLite storage through sqlite-utils: schema, migrations, items, hits, deliveries, source state.

Why some writes are raw SQL: sqlite-utils wraps each ``insert_all``/``upsert`` in
``with conn:``, which *commits* on exit even when we are inside our own
transaction. The outbox guarantee (items + hits + pending deliveries land
together or not at all) therefore uses ``Store.transaction()`` with plain
``execute`` calls only; sqlite-utils is used for schema, reads and
single-statement conveniences.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from .errors import StoreError
from .models import UTC, Delivery, DeliveryStatus, Evidence, Hit, Item, SourceState, iso, parse_iso

log = logging.getLogger(__name__)

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
]


@dataclass(frozen=True)
class CycleResult:
    """What one ``record_cycle`` call changed."""

    new_items: int
    new_hits: int
    new_deliveries: int


def _now() -> datetime:
    return datetime.now(UTC)


F = TypeVar("F", bound=Callable[..., Any])


def locked(method: F) -> F:
    """Run a Store method while holding the store's lock (see ``Store``)."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Store:
    """One SQLite database. Open with ``Store.open(path)``; use as a context manager to close it.

    The daemon calls the store from scheduler threads, and one sqlite3
    connection must not be used by two threads at once: every method holds
    ``self.lock`` (re-entrant) for the whole of its work, and ``transaction()``
    holds it from BEGIN to COMMIT. New methods must do the same.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one statement under the lock and return all its rows."""
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    # -- lifecycle -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False, busy_timeout: float = 10.0) -> Store:
        path = Path(path)
        try:
            if readonly:
                if not path.exists():
                    raise StoreError(
                        f"no database at {path}", hint="run `watcher poll` or `watcher run` first to create it"
                    )
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy_timeout, check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            store = cls(conn, path)
            store._check_owner()
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                store._migrate()
            return store
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_owner(self) -> None:
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables and not self._has_migrations()):
            raise StoreError(
                f"{self.path} is not a watcher database (it belongs to another program)",
                hint="point [watcher] database at a new file",
            )

    def _has_migrations(self) -> bool:
        row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='_migrations'").fetchone()
        return row is not None

    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, description TEXT, applied_at TEXT)"
        )
        self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        done = {r[0] for r in self.conn.execute("SELECT version FROM _migrations")}
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            with self.transaction():
                for statement in _split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (version, description, iso(_now())))
            log.info("database migrated version=%s description=%r", version, description)

    @property
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT max(version) FROM _migrations").fetchone()
        return int(row[0] or 0)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolls back on any exception. Use only raw ``execute`` inside."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    # -- items and hits --------------------------------------------------------------------------

    @locked
    def known_item_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.conn.execute(f"SELECT id FROM items WHERE id IN ({marks})", chunk))
        return found

    def record_cycle(
        self,
        items: Sequence[Item],
        hits: Sequence[tuple[Hit, str | None]],
        deliveries: Sequence[tuple[str, str]],
        *,
        now: datetime | None = None,
    ) -> CycleResult:
        """Store new items, their hits (with suppression reason) and pending (hit_id, target) deliveries.

        All in one transaction: after a crash either all of it is there (and the
        pending deliveries are sent on restart) or none of it is (and the next
        poll sees the items as new again). Duplicates are ignored, so replaying
        a cycle is harmless.
        """
        now = now or _now()
        stamp = iso(now)
        with self.transaction() as c:
            n_items = n_hits = n_deliveries = 0
            for item in items:
                cur = c.execute(
                    "INSERT OR IGNORE INTO items (id, story_id, source, guid, version, title, summary, body, link,"
                    " published, language, origin, fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        item.id, item.story_id, item.source, item.guid, item.version, item.title, item.summary,
                        item.body, item.link, iso(item.published), item.language, item.origin, stamp,
                    ),
                )  # fmt: skip
                n_items += cur.rowcount
            for hit, suppressed in hits:
                cur = c.execute(
                    "INSERT OR IGNORE INTO hits (id, rule, title, severity, item_id, story_id, source, item_title,"
                    " link, published, value, negated, evidence, tags, fired_at, suppressed)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        hit.id, hit.rule, hit.title, hit.severity, hit.item_id, hit.story_id, hit.source,
                        hit.item_title, hit.link, iso(hit.published), hit.value, int(hit.negated),
                        json.dumps([e.to_dict() for e in hit.evidence], ensure_ascii=False),
                        json.dumps(list(hit.tags)), iso(hit.fired_at), suppressed,
                    ),
                )  # fmt: skip
                n_hits += cur.rowcount
            for hit_id, target in deliveries:
                cur = c.execute(
                    "INSERT OR IGNORE INTO deliveries (hit_id, target, kind, status, created_at, next_attempt_at)"
                    " VALUES (?, ?, 'hit', 'pending', ?, ?)",
                    (hit_id, target, stamp, stamp),
                )
                n_deliveries += cur.rowcount
        return CycleResult(n_items, n_hits, n_deliveries)

    @locked
    def hits(
        self,
        *,
        rule: str | None = None,
        since: datetime | None = None,
        story_id: str | None = None,
        limit: int | None = None,
        include_suppressed: bool = True,
    ) -> list[Hit]:
        where: list[str] = ["1=1"]
        args: list[Any] = []
        if rule:
            where.append("rule = ?")
            args.append(rule)
        if since:
            where.append("fired_at >= ?")
            args.append(iso(since))
        if story_id:
            where.append("story_id = ?")
            args.append(story_id)
        if not include_suppressed:
            where.append("suppressed IS NULL")
        sql = f"SELECT * FROM hits WHERE {' AND '.join(where)} ORDER BY fired_at, rowid"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [hit_from_row(r) for r in self.conn.execute(sql, args)]

    @locked
    def hit(self, hit_id: str) -> Hit | None:
        row = self.conn.execute("SELECT * FROM hits WHERE id = ?", (hit_id,)).fetchone()
        return hit_from_row(row) if row else None

    @locked
    def item(self, item_id: str) -> Item | None:
        row = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return item_from_row(row) if row else None

    def items(self, *, since: datetime | None = None, batch: int = 500) -> Iterator[Item]:
        """Stored items, oldest first, read in batches so a large store never sits in memory at once."""
        last = ("", "")
        while True:
            with self.lock:
                rows = self.conn.execute(
                    "SELECT * FROM items WHERE fetched_at >= ? AND (fetched_at, id) > (?, ?)"
                    " ORDER BY fetched_at, id LIMIT ?",
                    (iso(since) or "", last[0], last[1], batch),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield item_from_row(row)
            last = (rows[-1]["fetched_at"], rows[-1]["id"])

    @locked
    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])

    # -- source state ----------------------------------------------------------------------------

    @locked
    def source_state(self, name: str) -> SourceState:
        row = self.conn.execute("SELECT * FROM sources WHERE name = ?", (name,)).fetchone()
        if row is None:
            return SourceState(name=name)
        return SourceState(
            name=row["name"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            body_hash=row["body_hash"],
            last_success=parse_iso(row["last_success"]),
            last_error=row["last_error"],
            last_error_at=parse_iso(row["last_error_at"]),
            consecutive_failures=row["consecutive_failures"],
            items_seen=row["items_seen"],
            next_poll=parse_iso(row["next_poll"]),
            alerted_failing=bool(row["alerted_failing"]),
        )

    @locked
    def save_source_state(self, state: SourceState, *, kind: str, location: str) -> None:
        self.conn.execute(
            "INSERT INTO sources (name, kind, location, etag, last_modified, body_hash, last_success, last_error,"
            " last_error_at, consecutive_failures, items_seen, next_poll, alerted_failing)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET kind=excluded.kind,"
            " location=excluded.location, etag=excluded.etag, last_modified=excluded.last_modified,"
            " body_hash=excluded.body_hash, last_success=excluded.last_success, last_error=excluded.last_error,"
            " last_error_at=excluded.last_error_at, consecutive_failures=excluded.consecutive_failures,"
            " items_seen=excluded.items_seen, next_poll=excluded.next_poll,"
            " alerted_failing=excluded.alerted_failing",
            (
                state.name, kind, location, state.etag, state.last_modified, state.body_hash,
                iso(state.last_success), state.last_error, iso(state.last_error_at),
                state.consecutive_failures, state.items_seen, iso(state.next_poll), int(state.alerted_failing),
            ),
        )  # fmt: skip

    @locked
    def source_states(self) -> list[SourceState]:
        names = [r[0] for r in self.conn.execute("SELECT name FROM sources ORDER BY name")]
        return [self.source_state(n) for n in names]

    # -- deliveries ------------------------------------------------------------------------------

    @locked
    def deliveries(self, *, status: DeliveryStatus | str | None = None) -> list[Delivery]:
        if status:
            rows = self.conn.execute(
                "SELECT * FROM deliveries WHERE status = ? ORDER BY id", (DeliveryStatus(status).value,)
            )
        else:
            rows = self.conn.execute("SELECT * FROM deliveries ORDER BY id")
        return [delivery_from_row(r) for r in rows]

    # -- meta ------------------------------------------------------------------------------------

    @locked
    def set_meta(self, **values: Any) -> None:
        for key, value in values.items():
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )

    @locked
    def meta(self) -> dict[str, Any]:
        return {r["key"]: json.loads(r["value"]) for r in self.conn.execute("SELECT key, value FROM meta")}

    # -- retention -------------------------------------------------------------------------------

    def prune(self, older_than: timedelta, *, now: datetime | None = None) -> int:
        """Delete items older than ``older_than`` that no hit refers to; hits are always kept."""
        cutoff = iso((now or _now()) - older_than)
        with self.transaction() as c:
            cur = c.execute(
                "DELETE FROM items WHERE fetched_at < ? AND id NOT IN (SELECT item_id FROM hits)", (cutoff,)
            )
        return cur.rowcount

    # -- outbox (watcher.notify) -----------------------------------------------------------------

    @locked
    def alerted_hits(self, rule: str, story_id: str) -> list[Hit]:
        """Earlier hits of ``rule`` on ``story_id`` that alerted: the history escalation compares with."""
        rows = self.conn.execute(
            "SELECT * FROM hits WHERE rule = ? AND story_id = ? AND suppressed IS NULL ORDER BY fired_at, rowid",
            (rule, story_id),
        )
        return [hit_from_row(r) for r in rows]

    @locked
    def last_alert_at(self, rule: str) -> datetime | None:
        """When ``rule`` last alerted (any story): what its cooldown counts from."""
        row = self.conn.execute(
            "SELECT max(fired_at) FROM hits WHERE rule = ? AND suppressed IS NULL", (rule,)
        ).fetchone()
        return parse_iso(row[0])

    @locked
    def enqueue(
        self,
        target: str,
        kind: str,
        payload: dict[str, Any] | None,
        *,
        now: datetime,
        hit_id: str | None = None,
        dedupe_key: str | None = None,
        due: bool = True,
    ) -> int | None:
        """Add one pending delivery; None when ``dedupe_key`` was already used for ``target``.

        ``due=False`` leaves ``next_attempt_at`` empty, so no flush picks the row up
        (``watcher notify test`` sends and marks it itself).
        """
        stamp = iso(now)
        with self.transaction() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO deliveries (hit_id, target, kind, payload, status, created_at,"
                " next_attempt_at, dedupe_key) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
                (hit_id, target, kind, _json_or_none(payload), stamp, stamp if due else None, dedupe_key),
            )
            return cur.lastrowid if cur.rowcount else None

    @locked
    def due_deliveries(self, now: datetime) -> list[Delivery]:
        """Pending deliveries whose time has come, oldest first; hits waiting in a digest excluded."""
        rows = self.conn.execute(
            "SELECT * FROM deliveries WHERE status = 'pending' AND digest_id IS NULL"
            " AND next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY id",
            (iso(now),),
        )
        return [delivery_from_row(r) for r in rows]

    @locked
    def next_attempt_at(self, *, exclude_targets: Sequence[str] = ()) -> datetime | None:
        """The earliest time a pending delivery (not waiting in a digest) becomes due."""
        marks = ",".join("?" * len(exclude_targets))
        skip = f" AND NOT (kind = 'hit' AND target IN ({marks}))" if exclude_targets else ""
        row = self.conn.execute(
            "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending' AND digest_id IS NULL"
            f" AND next_attempt_at IS NOT NULL{skip}",
            list(exclude_targets),
        ).fetchone()
        return parse_iso(row[0])

    @locked
    def undigested(self, target: str) -> list[Delivery]:
        """Pending hit deliveries of ``target`` not yet folded into a digest, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM deliveries WHERE target = ? AND kind = 'hit' AND status = 'pending'"
            " AND digest_id IS NULL ORDER BY id",
            (target,),
        )
        return [delivery_from_row(r) for r in rows]

    @locked
    def delivery(self, delivery_id: int) -> Delivery | None:
        row = self.conn.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return delivery_from_row(row) if row else None

    @locked
    def digest_members(self, digest_id: int) -> list[Delivery]:
        rows = self.conn.execute("SELECT * FROM deliveries WHERE digest_id = ? ORDER BY id", (digest_id,))
        return [delivery_from_row(r) for r in rows]

    @locked
    def last_digest_at(self, target: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT max(created_at) FROM deliveries WHERE target = ? AND kind = 'digest'", (target,)
        ).fetchone()
        return parse_iso(row[0])

    @locked
    def fold_into_digest(self, target: str, delivery_ids: Sequence[int], hit_ids: Sequence[str], now: datetime) -> int:
        """Create one pending digest delivery carrying ``delivery_ids``, atomically.

        The folded hit deliveries stay pending (out of the due queue) until the
        digest is sent or fails, and then share its fate: a digest loses nothing.
        """
        stamp = iso(now)
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO deliveries (target, kind, payload, status, created_at, next_attempt_at)"
                " VALUES (?, 'digest', ?, 'pending', ?, ?)",
                (target, json.dumps({"hit_ids": list(hit_ids)}), stamp, stamp),
            )
            digest_id = int(cur.lastrowid or 0)
            for i in range(0, len(delivery_ids), 500):
                chunk = list(delivery_ids[i : i + 500])
                marks = ",".join("?" * len(chunk))
                c.execute(
                    f"UPDATE deliveries SET digest_id = ?, next_attempt_at = NULL"
                    f" WHERE id IN ({marks}) AND status = 'pending'",
                    [digest_id, *chunk],
                )
        return digest_id

    @locked
    def mark_sent(self, delivery_id: int, now: datetime) -> bool:
        """Mark a delivery (and the hits a digest carries) sent; False if it was no longer pending."""
        stamp = iso(now)
        with self.transaction() as c:
            cur = c.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL, next_attempt_at = NULL WHERE id = ? AND status = 'pending'",
                (stamp, delivery_id),
            )
            c.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ? WHERE digest_id = ? AND status = 'pending'",
                (stamp, delivery_id),
            )
        return cur.rowcount > 0

    @locked
    def mark_failed(self, delivery_id: int, error: str) -> None:
        """Give up on a delivery (and the hits a digest carries), keeping the reason."""
        with self.transaction() as c:
            c.execute(
                "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?,"
                " next_attempt_at = NULL WHERE id = ? AND status = 'pending'",
                (error, delivery_id),
            )
            c.execute(
                "UPDATE deliveries SET status = 'failed', last_error = ? WHERE digest_id = ? AND status = 'pending'",
                (f"digest {delivery_id} failed: {error}", delivery_id),
            )

    @locked
    def reschedule(self, delivery_id: int, next_attempt_at: datetime, error: str) -> None:
        """Count a failed attempt and set when to try again."""
        self.conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE id = ? AND status = 'pending'",
            (error, iso(next_attempt_at), delivery_id),
        )

    @locked
    def postpone(self, delivery_ids: Sequence[int], next_attempt_at: datetime) -> None:
        """Move deliveries that were not attempted (their target is backing off) to ``next_attempt_at``."""
        with self.transaction() as c:
            for delivery_id in delivery_ids:
                c.execute(
                    "UPDATE deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'pending'"
                    " AND next_attempt_at < ?",
                    (iso(next_attempt_at), delivery_id, iso(next_attempt_at)),
                )


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _split_sql(script: str) -> list[str]:
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


def hit_from_row(row: sqlite3.Row) -> Hit:
    value = row["value"]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return Hit(
        id=row["id"],
        rule=row["rule"],
        title=row["title"],
        severity=row["severity"],
        item_id=row["item_id"],
        story_id=row["story_id"],
        source=row["source"],
        item_title=row["item_title"],
        link=row["link"],
        published=parse_iso(row["published"]),
        value=value,
        negated=bool(row["negated"]),
        evidence=tuple(Evidence(**e) for e in json.loads(row["evidence"])),
        fired_at=parse_iso(row["fired_at"]) or _now(),
        tags=tuple(json.loads(row["tags"] or "[]")),
        suppressed=row["suppressed"],
    )


def item_from_row(row: sqlite3.Row) -> Item:
    return Item(
        source=row["source"],
        guid=row["guid"],
        title=row["title"],
        summary=row["summary"],
        body=row["body"],
        link=row["link"],
        published=parse_iso(row["published"]),
        language=row["language"],
        version=row["version"],
        origin=row["origin"],
    )


def delivery_from_row(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        hit_id=row["hit_id"],
        target=row["target"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        created_at=parse_iso(row["created_at"]) or _now(),
        next_attempt_at=parse_iso(row["next_attempt_at"]),
        last_error=row["last_error"],
        sent_at=parse_iso(row["sent_at"]),
        kind=row["kind"],
        payload=json.loads(row["payload"]) if row["payload"] else None,
        digest_id=row["digest_id"] if "digest_id" in row.keys() else None,  # noqa: SIM118  (readonly: maybe unmigrated)
    )
