"""The outbox's queries: deliveries owed, due, digested, sent and failed (used by watcher.notify)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..models import Delivery, Hit, iso, parse_iso
from .base import Connected, locked
from .rows import delivery_from_row, hit_from_row, json_or_none


class OutboxQueries(Connected):
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
                (hit_id, target, kind, json_or_none(payload), stamp, stamp if due else None, dedupe_key),
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
