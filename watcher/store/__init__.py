"""SQLite storage through sqlite-utils: schema, migrations, items, hits, deliveries, source state.

Why some writes are raw SQL: sqlite-utils wraps each ``insert_all``/``upsert`` in
``with conn:``, which *commits* on exit even when we are inside our own
transaction. The outbox guarantee (items + hits + pending deliveries land
together or not at all) therefore uses ``Store.transaction()`` with plain
``execute`` calls only; sqlite-utils is used for schema, reads and
single-statement conveniences.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from ..errors import StoreError
from ..models import UTC, Delivery, DeliveryStatus, Hit, Item, SourceState, iso, parse_iso
from .base import Connected, locked
from .outbox import OutboxQueries
from .rows import delivery_from_row, hit_from_row, item_from_row, json_or_none
from .schema import APPLICATION_ID, FOLD_FUNCTION, MIGRATIONS, fold_for_index, split_sql

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleResult:
    """What one ``record_cycle`` call changed."""

    new_items: int
    new_hits: int
    new_deliveries: int


def _now() -> datetime:
    return datetime.now(UTC)


class Store(OutboxQueries):
    """One SQLite database. Open with ``Store.open(path)``; use as a context manager to close it.

    Safe to share between threads (see ``Connected``). The outbox's queries
    live in ``OutboxQueries``; items, hits, source state and meta here.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        super().__init__(conn, path)
        self.db = sqlite_utils.Database(conn)

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
            conn.create_function(FOLD_FUNCTION, 1, fold_for_index, deterministic=True)
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
                for statement in split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?, ?)", (version, description, iso(_now())))
            log.info("database migrated version=%s description=%r", version, description)

    @property
    def schema_version(self) -> int:
        row = self.conn.execute("SELECT max(version) FROM _migrations").fetchone()
        return int(row[0] or 0)

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


__all__ = [
    "APPLICATION_ID",
    "FOLD_FUNCTION",
    "MIGRATIONS",
    "Connected",
    "CycleResult",
    "Store",
    "delivery_from_row",
    "fold_for_index",
    "hit_from_row",
    "item_from_row",
    "json_or_none",
    "locked",
    "split_sql",
]
