"""The Fetcher against a real hostile HTTP server: every case of issue 5, acceptance 1."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from servers_http import HostileServer, closed_port, silent_port
from sources_fixtures import NOW, make_config, open_store

from watcher.config import Config, SourceConfig
from watcher.models import SourceState
from watcher.sources import Fetcher, FetchResult
from watcher.store import Store

DEADLINE = 3.0  # seconds: a short configured deadline keeps the trickle cases fast


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as s:
        yield s


def config_for(tmp_path: Path, urls: dict[str, str], **watcher: object) -> Config:
    watcher.setdefault("timeout", f"{DEADLINE}s")
    watcher.setdefault("allow_private_networks", True)
    sources = [{"name": name, "url": url, "interval": "2m"} for name, url in urls.items()]
    return make_config(tmp_path, sources, **watcher)


def fetch_one(tmp_path: Path, store: Store, url: str, *, state: SourceState | None = None, **kw: object) -> FetchResult:
    cfg = config_for(tmp_path, {"src": url}, **kw)
    with Fetcher(cfg) as fetcher:
        return fetcher.fetch(cfg.sources[0], state or store.source_state("src"), store=store, now=NOW)


def assert_failed(result: FetchResult, fragment: str) -> None:
    assert result.error is not None, f"expected an error containing {fragment!r}"
    assert fragment in str(result.error), str(result.error)
    assert "'src'" in str(result.error)  # the message names the source
    assert result.items == []
    assert result.state.consecutive_failures == 1
    assert result.state.last_error and fragment in result.state.last_error
    assert result.state.next_poll is not None and result.state.next_poll > NOW


def test_ok_feed_with_conditional_get_then_304(tmp_path: Path, store: Store, server: HostileServer) -> None:
    first = fetch_one(tmp_path, store, server.url("/etag"))
    assert first.error is None and [i.guid for i in first.items] == ["urn:wire:1", "urn:wire:2"]
    assert first.state.etag == '"v1"' and first.state.last_modified
    assert first.items[0].origin == server.url("/etag")
    second = fetch_one(tmp_path, store, server.url("/etag"), state=first.state)
    assert second.not_modified and second.items == [] and second.error is None
    assert server.requests[-1][1].get("if-none-match") == '"v1"'
    assert server.requests[-1][1].get("if-modified-since") == "Tue, 26 Nov 2024 08:00:00 GMT"
    assert second.state.last_success == NOW


def test_identical_body_is_not_parsed_again(tmp_path: Path, store: Store, server: HostileServer) -> None:
    first = fetch_one(tmp_path, store, server.url("/ignores-etag"))
    assert len(first.items) == 2
    # Cache-Control: max-age=600 pushes the next poll past the 2 min interval.
    assert first.state.next_poll is not None and first.state.next_poll - NOW >= timedelta(seconds=600)
    second = fetch_one(tmp_path, store, server.url("/ignores-etag"), state=first.state)
    assert second.not_modified and second.items == []


def test_gzip_content_is_decoded(tmp_path: Path, store: Store, server: HostileServer) -> None:
    result = fetch_one(tmp_path, store, server.url("/gzip"))
    assert len(result.items) == 2


def test_redirect_followed(tmp_path: Path, store: Store, server: HostileServer) -> None:
    result = fetch_one(tmp_path, store, server.url("/redirect-ok"))
    assert result.error is None and len(result.items) == 2


def test_connection_refused(tmp_path: Path, store: Store) -> None:
    result = fetch_one(tmp_path, store, f"http://127.0.0.1:{closed_port()}/feed")
    assert_failed(result, "connection refused")


def test_no_response_hits_the_deadline(tmp_path: Path, store: Store) -> None:
    with silent_port() as port:
        start = time.monotonic()
        result = fetch_one(tmp_path, store, f"http://127.0.0.1:{port}/feed")
    assert_failed(result, "no response within")
    assert time.monotonic() - start < DEADLINE + 1.5


def test_one_byte_every_two_seconds_hits_the_deadline(tmp_path: Path, store: Store, server: HostileServer) -> None:
    start = time.monotonic()
    result = fetch_one(tmp_path, store, server.url("/trickle"))
    elapsed = time.monotonic() - start
    assert_failed(result, "deadline exceeded")
    assert elapsed < DEADLINE + 2.5, elapsed


def bounded_memory(fn: object) -> tuple[FetchResult, int]:
    tracemalloc.start()
    try:
        result = fn()  # type: ignore[operator]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_100_mb_body_stops_at_the_cap(tmp_path: Path, store: Store, server: HostileServer) -> None:
    start = time.monotonic()
    result, peak = bounded_memory(lambda: fetch_one(tmp_path, store, server.url("/big"), max_bytes="2MiB"))
    assert_failed(result, "body larger than 2 MiB")
    assert peak < 16 * 2**20, peak
    assert time.monotonic() - start < DEADLINE


def test_gzip_bomb_stops_at_the_cap_after_decompression(tmp_path: Path, store: Store, server: HostileServer) -> None:
    result, peak = bounded_memory(lambda: fetch_one(tmp_path, store, server.url("/bomb")))
    assert_failed(result, "body larger than 15 MiB once decoded")
    assert peak < 48 * 2**20, peak  # 15 MiB kept, never the 256 MiB it decodes to


def test_redirect_loop(tmp_path: Path, store: Store, server: HostileServer) -> None:
    before = server.hits["/loop"]
    result = fetch_one(tmp_path, store, server.url("/loop"))
    assert_failed(result, "more than 5 redirects")
    assert server.hits["/loop"] - before == 6  # the first request and five redirects, then stop


def test_redirect_to_metadata_address_refused_even_when_private_allowed(
    tmp_path: Path, store: Store, server: HostileServer
) -> None:
    start = time.monotonic()
    result = fetch_one(tmp_path, store, server.url("/to-metadata"))
    assert_failed(result, "169.254.169.254 is a cloud metadata endpoint")
    assert time.monotonic() - start < 1.5  # refused before any connection attempt


def test_redirect_to_loopback_refused(tmp_path: Path, store: Store, server: HostileServer) -> None:
    """The feed's own host is explicitly allowed; the redirect to another loopback address is not."""
    cfg = config_for(tmp_path, {"src": server.url("/to-loopback")}, allow_private_networks=False)
    with Fetcher(cfg, allow_networks=["127.0.0.1/32"]) as fetcher:
        result = fetcher.fetch(cfg.sources[0], store.source_state("src"), store=store, now=NOW)
    assert_failed(result, "127.0.0.2 is a loopback address")
    assert "allow_private_networks" in str(result.error)


def test_default_config_refuses_127_0_0_1(tmp_path: Path, store: Store, server: HostileServer) -> None:
    before = server.hits["/ok"]
    cfg = make_config(tmp_path, [{"name": "src", "url": server.url("/ok")}])
    assert cfg.sources[0].allow_private_networks is False
    with Fetcher(cfg) as fetcher:
        result = fetcher.fetch(cfg.sources[0], store.source_state("src"), store=store, now=NOW)
    assert_failed(result, "127.0.0.1 is a loopback address")
    assert server.hits["/ok"] == before  # never connected


def test_redirect_to_file_scheme_refused(tmp_path: Path, store: Store, server: HostileServer) -> None:
    assert_failed(fetch_one(tmp_path, store, server.url("/to-file")), "only http and https")


def test_429_with_retry_after(tmp_path: Path, store: Store, server: HostileServer) -> None:
    result = fetch_one(tmp_path, store, server.url("/ratelimit"))
    assert_failed(result, "HTTP 429 rate limited")
    assert result.error is not None and result.error.retry_after == 120
    assert result.state.next_poll is not None and result.state.next_poll - NOW >= timedelta(seconds=120)


def test_503_with_retry_after(tmp_path: Path, store: Store, server: HostileServer) -> None:
    result = fetch_one(tmp_path, store, server.url("/unavailable"))
    assert_failed(result, "HTTP 503 service unavailable")
    assert result.state.next_poll is not None and result.state.next_poll - NOW >= timedelta(seconds=600)


def test_five_500s_then_200_with_backoff_and_health(tmp_path: Path, store: Store, server: HostileServer) -> None:
    from watcher.sources import health_transition

    cfg = config_for(tmp_path, {"src": server.url("/flaky")}, jitter=0, failure_alert_after=5)
    state = store.source_state("src")
    delays, transitions = [], []
    with Fetcher(cfg) as fetcher:
        for _ in range(6):
            result = fetcher.fetch(cfg.sources[0], state, store=store, now=NOW)
            transitions.append(health_transition(state, result.state, cfg))
            assert result.state.next_poll is not None
            delays.append((result.state.next_poll - NOW).total_seconds())
            fetcher.commit(result, store)
            state = store.source_state("src")
    assert result.error is None and len(result.items) == 2
    assert delays == [120, 240, 480, 960, 1920, 120]  # exponential backoff, then the interval again
    assert transitions == [None, None, None, None, "failing", "recovered"]
    assert state.consecutive_failures == 0 and state.last_error == "HTTP 500 Internal Server Error"


def test_empty_200(tmp_path: Path, store: Store, server: HostileServer) -> None:
    assert_failed(fetch_one(tmp_path, store, server.url("/empty")), "empty document")


def test_html_login_page(tmp_path: Path, store: Store, server: HostileServer) -> None:
    assert_failed(fetch_one(tmp_path, store, server.url("/login")), "got an HTML page")


def test_truncated_xml(tmp_path: Path, store: Store, server: HostileServer) -> None:
    assert_failed(fetch_one(tmp_path, store, server.url("/truncated")), "malformed feed")


def test_wrong_charset_is_survivable(tmp_path: Path, store: Store, server: HostileServer, caplog) -> None:  # type: ignore[no-untyped-def]
    result = fetch_one(tmp_path, store, server.url("/charset"))
    assert result.error is None
    assert result.items[0].summary == "La Russie a lancé 188 drones."  # read as windows-1252, the right text
    assert any("feed recovered" in r.getMessage() for r in caplog.records)


def test_billion_laughs(tmp_path: Path, store: Store, server: HostileServer) -> None:
    from test_sources_formats import BILLION_LAUGHS

    server.bodies["/laughs"] = BILLION_LAUGHS
    assert_failed(fetch_one(tmp_path, store, server.url("/laughs")), "billion laughs")


def test_quadratic_blowup(tmp_path: Path, store: Store, server: HostileServer) -> None:
    from test_sources_formats import quadratic

    server.bodies["/quadratic"] = quadratic()
    result, peak = bounded_memory(lambda: fetch_one(tmp_path, store, server.url("/quadratic")))
    assert_failed(result, "quadratic blowup")
    assert peak < 32 * 2**20


def test_hostile_sources_never_delay_a_good_one(tmp_path: Path, store: Store, server: HostileServer) -> None:
    """All hostile sources at once, with the good one last in line: it still answers promptly."""
    from test_sources_formats import BILLION_LAUGHS

    server.bodies["/laughs2"] = BILLION_LAUGHS
    with silent_port() as port:
        urls = {
            "trickle": server.url("/trickle"),
            "silent": f"http://127.0.0.1:{port}/",
            "refused": f"http://127.0.0.1:{closed_port()}/",
            "big": server.url("/big"),
            "bomb": server.url("/bomb"),
            "loop": server.url("/loop"),
            "laughs": server.url("/laughs2"),
            "login": server.url("/login"),
            "good": server.url("/many"),
        }
        cfg = config_for(tmp_path, urls, concurrency=16, per_host=16, workers=2)
        pairs = [(s, store.source_state(s.name)) for s in cfg.sources]
        start = time.monotonic()
        with Fetcher(cfg) as fetcher:
            results = {r.source: r for r in fetcher.fetch_many(pairs, store=store, now=NOW)}
        elapsed = time.monotonic() - start
    assert results["good"].error is None and len(results["good"].items) == 50
    assert results["good"].elapsed < 2.0, results["good"].elapsed
    failed = {name for name, r in results.items() if r.error is not None}
    assert failed == set(urls) - {"good"}
    assert elapsed < DEADLINE + 3


def test_per_host_limit_bounds_concurrency(tmp_path: Path, store: Store, server: HostileServer) -> None:
    """per_host = 1: two trickling sources on one host; the second waits and fails at its own deadline."""
    urls = {"a": server.url("/trickle"), "b": server.url("/trickle")}
    cfg = config_for(tmp_path, urls, per_host=1, timeout="2s")
    pairs = [(s, SourceState(s.name)) for s in cfg.sources]
    start = time.monotonic()
    with Fetcher(cfg) as fetcher:
        results = fetcher.fetch_many(pairs, store=store, now=NOW)
    reasons = sorted(str(r.error) for r in results)
    assert any("no free connection slot" in r for r in reasons), reasons
    assert any("deadline exceeded" in r for r in reasons), reasons
    # Each fetch is bounded by its deadline plus at most one read; the two ran side by side.
    assert time.monotonic() - start < 2 * 2 + 1.5


def test_source_config_language_and_name(tmp_path: Path, store: Store, server: HostileServer) -> None:
    cfg = config_for(tmp_path, {"src": server.url("/ok")})
    source = replace(cfg.sources[0], language="en")
    assert isinstance(source, SourceConfig)
    with Fetcher(cfg) as fetcher:
        result = fetcher.fetch(source, SourceState("src"), store=store, now=NOW)
    assert {i.language for i in result.items} == {"en"} and {i.source for i in result.items} == {"src"}
