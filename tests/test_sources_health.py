"""Schedule and health decisions (pure), and the health table over a real store."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sources_fixtures import NOW, make_config, open_store

from watcher.models import Item, SourceState
from watcher.sources import health, health_transition, silence_transitions
from watcher.sources.health import backoff_delay, failure_state, is_silent, success_state
from watcher.sources.http import freshness, parse_retry_after

MIN = timedelta(minutes=1)


def test_backoff_doubles_to_a_cap_then_keeps_retrying_slowly() -> None:
    delays = [backoff_delay(2 * MIN, n) for n in range(1, 12)]
    assert delays[:5] == [2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, 32 * MIN]
    assert delays[5:] == [timedelta(hours=1)] * 6  # never stops: once an hour
    assert backoff_delay(timedelta(hours=3), 5) == timedelta(hours=3)  # a long interval is its own cap


def test_jitter_spreads_within_bounds() -> None:
    rng = random.Random(1)
    polls = {
        success_state(SourceState("s"), now=NOW, interval=10 * MIN, jitter=0.1, new_items=0, rng=rng).next_poll
        for _ in range(50)
    }
    assert len(polls) > 40
    assert all(NOW + 9 * MIN <= p <= NOW + 11 * MIN for p in polls if p is not None)


def test_server_freshness_and_retry_after_push_the_next_poll() -> None:
    fresh = success_state(
        SourceState("s"), now=NOW, interval=2 * MIN, jitter=0, new_items=0, fresh_for=timedelta(minutes=30)
    )
    assert fresh.next_poll == NOW + timedelta(minutes=30)
    capped = success_state(
        SourceState("s"), now=NOW, interval=2 * MIN, jitter=0, new_items=0, fresh_for=timedelta(days=7)
    )
    assert capped.next_poll == NOW + timedelta(hours=1)
    failed = failure_state(
        SourceState("s"), now=NOW, interval=2 * MIN, jitter=0, error="HTTP 429", failure_alert_after=5, retry_after=900
    )
    assert failed.next_poll == NOW + timedelta(seconds=900)
    huge = failure_state(
        SourceState("s"), now=NOW, interval=2 * MIN, jitter=0, error="x", failure_alert_after=5, retry_after=10**9
    )
    assert huge.next_poll == NOW + timedelta(hours=24)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "public, max-age=300"}, timedelta(seconds=300)),
        ({"Cache-Control": "max-age=300", "Age": "100"}, timedelta(seconds=200)),
        ({"Cache-Control": "no-cache", "Expires": "Tue, 26 Nov 2024 11:00:00 GMT"}, None),
        ({"Expires": "Tue, 26 Nov 2024 11:00:00 GMT", "Date": "Tue, 26 Nov 2024 10:30:00 GMT"}, timedelta(minutes=30)),
        ({"Expires": "0"}, None),
        ({}, None),
    ],
)
def test_freshness(headers: dict[str, str], expected: timedelta | None) -> None:
    assert freshness(headers, NOW) == expected


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Tue, 26 Nov 2024 10:05:00 GMT", NOW) == 300
    assert parse_retry_after("soon", NOW) is None


def test_health_transition_once_per_outage(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, [], failure_alert_after=3)
    state = SourceState("s")
    seen = []
    for _ in range(5):
        new = failure_state(state, now=NOW, interval=MIN, jitter=0, error="boom", failure_alert_after=3)
        seen.append(health_transition(state, new, cfg))
        state = new
    assert seen == [None, None, "failing", None, None]
    back = success_state(state, now=NOW, interval=MIN, jitter=0, new_items=1)
    assert health_transition(state, back, cfg) == "recovered"
    assert health_transition(back, back, cfg) is None


def test_is_silent_judges_against_the_usual_gap() -> None:
    hourly = [NOW - timedelta(hours=h) for h in range(10)]
    assert not is_silent(hourly, NOW + timedelta(hours=2), 5 * MIN)
    assert is_silent(hourly, NOW + timedelta(hours=9), 5 * MIN)
    assert not is_silent(hourly[:2], NOW + timedelta(days=30), 5 * MIN)  # too little history to judge


def test_health_rows_and_silence_notices(tmp_path: Path) -> None:
    sources = [
        {"name": "feed", "url": "https://user:secret@wire.example/rss?token=abc&lang=fr"},
        {"name": "drop", "path": str(tmp_path)},
        {"name": "never", "url": "https://wire.example/never"},
    ]
    cfg = make_config(tmp_path, sources)
    with open_store(tmp_path) as store:
        for hours in range(10):
            item = Item(source="feed", guid=f"g{hours}", title=f"story {hours}")
            store.record_cycle([item], [], [], now=NOW - timedelta(hours=hours))
        store.save_source_state(SourceState("feed", last_success=NOW, items_seen=10), kind="http", location="x")
        store.save_source_state(
            replace(SourceState("drop"), consecutive_failures=2, last_error="drop folder not found"),
            kind="path",
            location=str(tmp_path),
        )
        rows = {r["name"]: r for r in health(store, cfg, now=NOW)}
        assert rows["feed"]["status"] == "ok"
        assert rows["feed"]["location"] == "https://****@wire.example/rss?token=****&lang=fr"
        assert rows["drop"]["status"] == "failing" and rows["drop"]["last_error"] == "drop folder not found"
        assert rows["never"]["status"] == "new"
        assert rows["feed"]["items_seen"] == 10 and rows["feed"]["last_success"] == "2024-11-26T10:00:00Z"

        later = NOW + timedelta(days=1)
        assert {r["name"]: r["status"] for r in health(store, cfg, now=later)}["feed"] == "silent"
        assert silence_transitions(store, cfg, now=later) == [("feed", "silent")]
        assert silence_transitions(store, cfg, now=later) == []  # once
        store.record_cycle([Item(source="feed", guid="new", title="back")], [], [], now=later)
        assert silence_transitions(store, cfg, now=later) == [("feed", "resumed")]
        assert silence_transitions(store, cfg, now=later) == []


def test_health_times_are_utc_strings(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, [{"name": "feed", "url": "https://wire.example/rss"}])
    with open_store(tmp_path) as store:
        when = datetime(2024, 11, 26, 12, 0, tzinfo=UTC)
        store.save_source_state(SourceState("feed", next_poll=when), kind="http", location="x")
        (row,) = health(store, cfg, now=NOW)
    assert row["next_poll"] == "2024-11-26T12:00:00Z"
