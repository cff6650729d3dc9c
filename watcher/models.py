"""Every data type that crosses a module boundary.

Frozen dataclasses with no I/O: the pipeline passes these between stages, and
the store, the notifier and the CLI only ever see these shapes. Datetimes are
timezone-aware UTC everywhere; a naive datetime is a bug.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC as UTC
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
FIELDS: tuple[str, ...] = ("title", "summary", "body")


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class Item:
    """One news item, normalized from whatever format it arrived in.

    Identity has two levels, because wires re-send the same story with
    corrections: ``story_id`` is stable across revisions (source + guid, or
    link, or a content hash), ``id`` changes whenever the content or the
    declared version does. The store keeps one row per ``id``; alerting
    decisions are taken per ``story_id``.
    """

    source: str
    guid: str
    title: str = ""
    summary: str = ""
    body: str = ""
    link: str | None = None
    published: datetime | None = None
    language: str | None = None
    version: str | None = None
    origin: str | None = None  # file path or URL the item was read from
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def story_id(self) -> str:
        return _digest("story", self.source, self.guid)[:24]

    @property
    def content_hash(self) -> str:
        return _digest("content", self.title, self.summary, self.body)[:24]

    @property
    def id(self) -> str:
        return _digest("item", self.story_id, self.version or "", self.content_hash)[:24]

    def text(self, field_name: str) -> str:
        value = getattr(self, field_name)
        return value if isinstance(value, str) else ""

    @property
    def label(self) -> str:
        """What a person calls this item: its title, else the start of its text, else its guid."""
        if self.title.strip():
            return self.title.strip()
        text = (self.summary or self.body).strip()
        return text[:80] if text else self.guid


@dataclass(frozen=True)
class Evidence:
    """One span of item text that made a condition hold."""

    field: str
    start: int  # character offsets into the item's field text (not the folded text)
    end: int
    text: str
    value: float | int | None = None  # the number read for a count term, if any
    negated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "value": self.value,
            "negated": self.negated,
        }


@dataclass(frozen=True)
class Match:
    """What the rule engine returns: one rule that fired on one item."""

    rule_id: str
    value: float | int | None
    negated: bool
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Hit:
    """A stored match: a rule that fired on an item, with its identity in the store."""

    id: str
    rule: str
    title: str
    severity: Severity
    item_id: str
    story_id: str
    source: str
    item_title: str
    link: str | None
    published: datetime | None
    value: float | int | None
    negated: bool
    evidence: tuple[Evidence, ...]
    fired_at: datetime
    tags: tuple[str, ...] = ()
    suppressed: str | None = None  # why it did not alert (story, cooldown, backfill...); None: it alerted

    @classmethod
    def from_match(cls, rule: Rule, item: Item, match: Match, fired_at: datetime) -> Hit:
        return cls(
            id=_digest("hit", rule.id, item.id)[:24],
            rule=rule.id,
            title=rule.title,
            severity=rule.severity,
            item_id=item.id,
            story_id=item.story_id,
            source=item.source,
            item_title=item.label,
            link=item.link,
            published=item.published,
            value=match.value,
            negated=match.negated,
            evidence=match.evidence,
            fired_at=fired_at,
            tags=rule.tags,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity,
            "item": self.item_title,
            "item_id": self.item_id,
            "story_id": self.story_id,
            "source": self.source,
            "link": self.link,
            "published": iso(self.published),
            "value": self.value,
            "negated": self.negated,
            "evidence": [e.to_dict() for e in self.evidence],
            "tags": list(self.tags),
            "fired_at": iso(self.fired_at),
            "suppressed": self.suppressed,
        }


@dataclass(frozen=True)
class Rule:
    """One alert rule as the user wrote it, validated. ``condition`` is the engine's parsed tree."""

    id: str
    title: str
    when: Any  # the parsed condition; its shape belongs to watcher.rules
    severity: Severity = "medium"
    tags: tuple[str, ...] = ()
    fields: tuple[str, ...] = FIELDS
    languages: tuple[str, ...] = ()  # empty: every language
    ignore_negated: bool = False
    notify: tuple[str, ...] = ()  # empty: every target
    cooldown: timedelta | None = None
    enabled: bool = True
    file: str = ""
    line: int = 0

    @property
    def has_count(self) -> bool:
        return bool(getattr(self.when, "has_count", False))


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    """One message owed to one target: the unit of the outbox."""

    id: int
    hit_id: str | None  # None for admin notices and digests
    target: str  # the target's name (never its URL: URLs hold secrets)
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None = None
    sent_at: datetime | None = None
    kind: str = "hit"  # hit | digest | admin | test
    payload: dict[str, Any] | None = None  # digest hit ids, notice text; never a target URL
    digest_id: int | None = None  # the digest delivery that carries this hit, if any


@dataclass(frozen=True)
class SourceState:
    """What the store remembers about a source between polls."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    items_seen: int = 0
    next_poll: datetime | None = None
    alerted_failing: bool = False


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z, the one format every output uses."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
