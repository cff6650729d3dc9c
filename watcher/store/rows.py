"""Rows to models: the one place that knows how each table's columns map to the data types."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from ..models import Delivery, DeliveryStatus, Evidence, Hit, Item, parse_iso


def _now() -> datetime:
    return datetime.now(UTC)


def json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


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
