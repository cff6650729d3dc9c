"""Pure decisions about a source's schedule and health, and the ``watcher sources`` table.

Kept free of I/O (the clock and the randomness are passed in) so the policy is
tested exactly: the interval with jitter after a success, pushed later by the
server's ``Cache-Control``/``Expires`` (up to ``MAX_FRESHNESS``); exponential
backoff after failures up to ``BACKOFF_CAP``, after which the source is still
retried at that slow pace forever (a source never stops being polled
silently); ``Retry-After`` honoured up to ``MAX_RETRY_AFTER``.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..logs import redact
from ..models import SourceState, iso, parse_iso

if TYPE_CHECKING:
    from ..config import Config, SourceConfig
    from ..store import Store

BACKOFF_CAP = timedelta(hours=1)
MAX_FRESHNESS = timedelta(hours=1)
MAX_RETRY_AFTER = timedelta(hours=24)
SILENT_FACTOR = 8  # "silent": no new item for this many times the usual gap between new items
MIN_SILENT = timedelta(hours=6)


def jittered(interval: timedelta, jitter: float, rng: random.Random | None = None) -> timedelta:
    """Spread polls so 1,000 sources configured at once do not all fire in the same second."""
    spread = max(0.0, min(jitter, 0.5))
    factor = 1.0 + (rng or random).uniform(-spread, spread)
    return interval * factor


def success_state(
    old: SourceState,
    *,
    now: datetime,
    interval: timedelta,
    jitter: float,
    new_items: int,
    etag: str | None = None,
    last_modified: str | None = None,
    body_hash: str | None = None,
    fresh_for: timedelta | None = None,
    rng: random.Random | None = None,
) -> SourceState:
    delay = jittered(interval, jitter, rng)
    if fresh_for is not None and fresh_for > delay:
        delay = min(fresh_for, max(MAX_FRESHNESS, interval))
    return replace(
        old,
        etag=etag if etag is not None else old.etag,
        last_modified=last_modified if last_modified is not None else old.last_modified,
        body_hash=body_hash if body_hash is not None else old.body_hash,
        last_success=now,
        consecutive_failures=0,
        items_seen=old.items_seen + new_items,
        next_poll=now + delay,
        alerted_failing=False,
    )


def backoff_delay(interval: timedelta, failures: int, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """interval, 2x, 4x... up to ``cap`` (or the interval itself when that is longer)."""
    ceiling = max(cap, interval)
    exponent = min(max(failures - 1, 0), 30)
    delay: timedelta = min(interval * (2**exponent), ceiling)
    return delay


def failure_state(
    old: SourceState,
    *,
    now: datetime,
    interval: timedelta,
    jitter: float,
    error: str,
    failure_alert_after: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> SourceState:
    failures = old.consecutive_failures + 1
    delay = jittered(backoff_delay(interval, failures), jitter, rng)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return replace(
        old,
        last_error=error,
        last_error_at=now,
        consecutive_failures=failures,
        next_poll=now + delay,
        alerted_failing=old.alerted_failing or failures >= failure_alert_after,
    )


def health_transition(old: SourceState, new: SourceState, config: Config) -> str | None:
    """ "failing" the first time a source crosses ``failure_alert_after``; "recovered" when it comes back.

    The decision is carried by ``alerted_failing``, which the store persists, so
    the notice is sent once per outage even across daemon restarts.
    """
    if not old.alerted_failing and new.consecutive_failures >= config.failure_alert_after:
        return "failing"
    if old.alerted_failing and new.consecutive_failures == 0:
        return "recovered"
    return None


def _recent_item_times(
    store: Store, now: datetime, window: timedelta = timedelta(days=30)
) -> dict[str, list[datetime]]:
    """Per source, the distinct times new items were stored in the window (one scan, not one per source)."""
    rows = store.conn.execute(
        "SELECT source, fetched_at FROM items WHERE fetched_at >= ? GROUP BY source, fetched_at",
        (iso(now - window),),
    ).fetchall()
    times: dict[str, list[datetime]] = {}
    for source, fetched_at in rows:
        stamp = parse_iso(fetched_at)
        if stamp is not None:
            times.setdefault(source, []).append(stamp)
    return times


def is_silent(times: list[datetime], now: datetime, interval: timedelta) -> bool:
    """No new item for much longer than usual, judged from the gaps between the recent cycles with news."""
    if len(times) < 3:
        return False
    times = sorted(times)
    gaps = sorted((b - a) for a, b in itertools.pairwise(times))
    usual = gaps[len(gaps) // 2]
    return now - times[-1] > max(usual * SILENT_FACTOR, interval * SILENT_FACTOR, MIN_SILENT)


def health(store: Store, config: Config, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per configured source for ``watcher sources``: never shows URL credentials."""
    from datetime import UTC

    now = now or datetime.now(UTC)
    times = _recent_item_times(store, now)
    rows: list[dict[str, Any]] = []
    for source in config.sources:
        state = store.source_state(source.name)
        if state.consecutive_failures:
            status = "failing"
        elif is_silent(times.get(source.name, []), now, source.interval):
            status = "silent"
        elif state.last_success is None:
            status = "new"
        else:
            status = "ok"
        rows.append(
            {
                "name": source.name,
                "kind": source.kind,
                "location": redact_location(source),
                "status": status,
                "enabled": source.enabled,
                "last_success": iso(state.last_success),
                "last_error": state.last_error,
                "last_error_at": iso(state.last_error_at),
                "consecutive_failures": state.consecutive_failures,
                "items_seen": state.items_seen,
                "next_poll": iso(state.next_poll),
            }
        )
    return rows


def silence_transitions(store: Store, config: Config, *, now: datetime) -> list[tuple[str, str]]:
    """Sources that went silent ("silent") or have news again ("resumed") since the last call.

    Silent means: polled fine, but no new item for much longer than its usual
    gap (see ``is_silent``), which is how a feed that broke without an error
    (an empty channel, a frozen CMS) shows. The set already reported is kept
    in the store's ``meta`` table, so each change is announced once, across
    restarts. Failing sources are left to ``health_transition``.
    """
    reported = set(store.meta().get("silent_sources") or [])
    times = _recent_item_times(store, now)
    silent: set[str] = set()
    changes: list[tuple[str, str]] = []
    for source in config.sources:
        if not source.enabled:
            continue
        state = store.source_state(source.name)
        if state.consecutive_failures == 0 and is_silent(times.get(source.name, []), now, source.interval):
            silent.add(source.name)
            if source.name not in reported:
                changes.append((source.name, "silent"))
        elif source.name in reported and state.consecutive_failures == 0:
            changes.append((source.name, "resumed"))
        elif source.name in reported:
            silent.add(source.name)  # failing now: keep it reported until news comes back
    if silent != reported:
        store.set_meta(silent_sources=sorted(silent))
    return changes


def redact_location(source: SourceConfig) -> str:
    """The URL without ``user:password@`` (and without query secrets such as ``?token=``)."""
    if not source.url:
        return str(source.path)
    location = redact(source.url)
    if "?" in location:
        base, query = location.split("?", 1)
        parts = []
        for pair in query.split("&"):
            key = pair.split("=", 1)[0]
            secret = any(s in key.lower() for s in ("token", "key", "secret", "pass", "auth", "sig"))
            parts.append(f"{key}=****" if secret and "=" in pair else pair)
        location = base + "?" + "&".join(parts)
    return location
