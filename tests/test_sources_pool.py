"""The parse pool: real worker processes, a parse that runs too long, a worker that dies."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from sources_fixtures import SEED, rss_feed

from watcher.errors import FormatError
from watcher.sources.pool import ParsePool


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    p = ParsePool(2, timeout=20)
    yield p
    p.close()


def test_workers_parse_and_the_parent_fills_the_language(pool: ParsePool) -> None:
    (item,) = pool.parse(SEED.read_bytes(), origin="seed.txt", source="s", default_guid="seed.txt")
    assert item.language == "fr" and item.guid == "seed.txt"
    items = pool.parse(rss_feed(20), origin="feed", source="s")
    assert len(items) == 20 and {i.language for i in items} == {"en"}


def test_format_errors_cross_the_process_boundary(pool: ParsePool) -> None:
    with pytest.raises(FormatError, match="HTML page"):
        pool.parse(b"<!DOCTYPE html><html></html>", origin="page", source="s")


def test_a_parse_past_the_time_limit_fails_alone_and_the_pool_recovers() -> None:
    pool = ParsePool(1, timeout=20)
    pool.parse(b"warm up the worker", origin="w", source="s")  # starting the worker is not parsing
    pool.timeout = 0.05
    with pytest.raises(FormatError, match="parsing took longer than"):
        pool.parse(rss_feed(3000), origin="huge", source="s")
    pool.timeout = 20
    assert len(pool.parse(rss_feed(2), origin="next", source="s")) == 2
    pool.close()


def test_a_dead_worker_fails_one_document_and_the_pool_is_rebuilt(pool: ParsePool) -> None:
    assert pool.parse(rss_feed(1), origin="first", source="s")
    executor = pool._executor
    assert executor is not None
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        os.kill(process.pid, signal.SIGKILL)
    time.sleep(0.2)
    with pytest.raises(FormatError, match="parser process died"):
        pool.parse(rss_feed(1), origin="second", source="s")
    assert len(pool.parse(rss_feed(3), origin="third", source="s")) == 3


def test_in_process_mode() -> None:
    pool = ParsePool(0)
    (item,) = pool.parse(SEED.read_bytes(), origin="seed.txt", source="s")
    assert item.language == "fr"
    pool.close()


def test_worker_warnings_are_logged_by_the_parent(pool: ParsePool, caplog: pytest.LogCaptureFixture) -> None:
    data = rss_feed(2).replace(b"story 0", b"story \xe9 0")  # invalid UTF-8: feedparser recovers, and says so
    with caplog.at_level("WARNING", logger="watcher.sources"):
        items = pool.parse(data, origin="feed-with-latin1", source="s")
    assert len(items) == 2
    assert any("feed recovered origin=feed-with-latin1" in r.getMessage() for r in caplog.records)
