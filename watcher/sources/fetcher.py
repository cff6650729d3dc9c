"""``Fetcher``: one source run's input side, for the pipeline.

``fetch`` never raises for a source's own problems: a refused connection, a
hostile body, a parser crash all become ``FetchResult.error`` and a state with
backoff, so one bad source is a logged result and the daemon goes on (the
lesson of lemon24/reader's updater). Concurrency is bounded twice: at most
``concurrency`` fetches in flight, at most ``per_host`` on one host, each wait
counted against that fetch's own deadline, so a slow host only slows itself.

Drop-folder files read in a run are returned in ``FetchResult.files`` and only
marked seen by ``commit``, which the pipeline calls *after* storing the items:
a crash in between re-reads the files rather than losing them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import random
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from ..config import Config, SourceConfig
from ..errors import FormatError, SourceError
from ..models import Item, SourceState, iso
from . import folder
from .folder import FileRecord
from .health import failure_state, redact_location, success_state
from .http import FetchError, fetch_url, freshness, make_client
from .pool import ParsePool

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchResult:
    source: str
    items: list[Item]
    state: SourceState
    not_modified: bool = False
    error: SourceError | None = None
    files: list[FileRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # per-file problems in a drop folder, reported once
    kind: str = "http"
    location: str = ""  # redacted: safe to log and store
    pending_files: int = 0  # drop-folder files still being written: run again soon
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class Fetcher:
    """Owns the HTTP clients, the concurrency limits and the parse process pool."""

    def __init__(self, config: Config, *, rng: random.Random | None = None, allow_networks: Iterable[str] = ()) -> None:
        """``allow_networks``: CIDR blocks reachable even though private (an intranet wire server)."""
        self.config = config
        self.allow_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        self.rng = rng or random.Random()
        self.pool = ParsePool(config.workers)
        self._clients: dict[bool, httpx.Client] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._hosts: dict[str, threading.BoundedSemaphore] = {}

    # -- public ---------------------------------------------------------------------------------

    def fetch(self, source: SourceConfig, state: SourceState, *, store: Store, now: datetime) -> FetchResult:
        started = time.monotonic()
        try:
            result = self._fetch_http(source, state, now) if source.url else self._fetch_path(source, state, store, now)
        except SourceError as exc:
            result = self._failed(source, state, now, exc)
        except Exception as exc:  # a bug of ours must still fail only this source
            log.exception("source run crashed source=%s", source.name)
            result = self._failed(source, state, now, SourceError(source.name, f"internal error: {exc!r}"))
        result = replace(result, elapsed=time.monotonic() - started)
        if result.error is not None:
            log.warning(
                "source failed source=%s failures=%s error=%r",
                source.name, result.state.consecutive_failures, result.error.reason,
            )  # fmt: skip
        else:
            log.debug(
                "source fetched source=%s items=%s not_modified=%s seconds=%.2f",
                source.name, len(result.items), result.not_modified, result.elapsed,
            )  # fmt: skip
        return result

    def fetch_many(
        self, sources: Iterable[tuple[SourceConfig, SourceState]], *, store: Store, now: datetime
    ) -> list[FetchResult]:
        """Fetch several sources concurrently (``watcher poll``, the bench); results in input order.

        HTTP sources run on a thread pool of ``concurrency`` threads; drop
        folders run on this thread, as they read the store.
        """
        pairs = list(sources)
        results: list[FetchResult | None] = [None] * len(pairs)
        http_jobs = [(i, s, st) for i, (s, st) in enumerate(pairs) if s.url]
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as ex:
            futures = {i: ex.submit(self.fetch, s, st, store=store, now=now) for i, s, st in http_jobs}
            for i, (s, st) in enumerate(pairs):
                if not s.url:
                    results[i] = self.fetch(s, st, store=store, now=now)
            for i, future in futures.items():
                results[i] = future.result()
        return [r for r in results if r is not None]

    def commit(self, result: FetchResult, store: Store) -> None:
        """Mark drop-folder files seen and save the source state, after the items are stored."""
        with store.transaction():
            folder.record_files(store, result.files, iso(datetime.now(UTC)) or "")
            store.save_source_state(result.state, kind=result.kind, location=result.location)

    def warm_up(self) -> None:
        """Start the parser processes now rather than on the first document."""
        self.pool.start()

    def kill(self) -> None:
        """Stop the parser processes at once (an exit past the shutdown grace)."""
        self.pool.kill()

    def close(self) -> None:
        self.pool.close()
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- outcomes -------------------------------------------------------------------------------

    def _failed(self, source: SourceConfig, state: SourceState, now: datetime, exc: SourceError) -> FetchResult:
        new_state = failure_state(
            state,
            now=now,
            interval=source.interval,
            jitter=self.config.jitter,
            error=exc.reason,
            failure_alert_after=self.config.failure_alert_after,
            retry_after=exc.retry_after,
            rng=self.rng,
        )
        return FetchResult(
            source=source.name, items=[], state=new_state, error=exc, kind=source.kind,
            location=redact_location(source),
        )  # fmt: skip

    # -- HTTP -----------------------------------------------------------------------------------

    def _client(self, allow_private: bool) -> httpx.Client:
        with self._lock:
            client = self._clients.get(allow_private)
            if client is None:
                client = make_client(
                    allow_private=allow_private,
                    user_agent=self.config.user_agent,
                    max_connections=max(self.config.concurrency, 1) * 2,
                    allow_networks=self.allow_networks,
                )
                self._clients[allow_private] = client
            return client

    def _host_slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._hosts.get(host)
            if sem is None:
                sem = self._hosts[host] = threading.BoundedSemaphore(self.config.per_host)
            return sem

    def _fetch_http(self, source: SourceConfig, state: SourceState, now: datetime) -> FetchResult:
        assert source.url is not None
        deadline = time.monotonic() + source.timeout.total_seconds()
        host = httpx.URL(source.url).host
        host_slot = self._host_slot(host)
        if not host_slot.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise SourceError(source.name, f"no free connection slot for host {host} before the deadline")
        try:
            if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise SourceError(source.name, "no free fetch slot before the deadline")
            try:
                headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"}
                headers.update(source.headers)
                if state.etag:
                    headers["If-None-Match"] = state.etag
                if state.last_modified:
                    headers["If-Modified-Since"] = state.last_modified
                try:
                    response = fetch_url(
                        self._client(source.allow_private_networks),
                        source.url,
                        headers=headers,
                        deadline=deadline,
                        max_bytes=source.max_bytes,
                        max_redirects=source.max_redirects,
                        now=now,
                    )
                except FetchError as exc:
                    raise SourceError(source.name, exc.message, retry_after=exc.retry_after) from None
            finally:
                self._slots.release()
        finally:
            host_slot.release()
        lower = {k.lower(): v for k, v in response.headers.items()}
        fresh_for = freshness(lower, now)
        common = {
            "now": now,
            "interval": source.interval,
            "jitter": self.config.jitter,
            "fresh_for": fresh_for,
            "rng": self.rng,
            "etag": lower.get("etag"),
            "last_modified": lower.get("last-modified"),
        }
        kind, location = source.kind, redact_location(source)
        if response.status == 304:
            new_state = success_state(state, new_items=0, **common)  # type: ignore[arg-type]
            return FetchResult(source.name, [], new_state, not_modified=True, kind=kind, location=location)
        body_hash = hashlib.sha256(response.body).hexdigest()
        if state.body_hash == body_hash and response.body:
            new_state = success_state(state, new_items=0, body_hash=body_hash, **common)  # type: ignore[arg-type]
            return FetchResult(source.name, [], new_state, not_modified=True, kind=kind, location=location)
        try:
            items = self.pool.parse(
                response.body,
                origin=location,
                source=source.name,
                headers=response.headers,
                language=source.language,
                default_guid=None,
            )
        except FormatError as exc:
            raise SourceError(source.name, _strip_origin(str(exc), location)) from None
        new_state = success_state(state, new_items=len(items), body_hash=body_hash, **common)  # type: ignore[arg-type]
        return FetchResult(source.name, items, new_state, kind=kind, location=location)

    # -- drop folders ---------------------------------------------------------------------------

    def _fetch_path(self, source: SourceConfig, state: SourceState, store: Store, now: datetime) -> FetchResult:
        assert source.path is not None
        root = source.path
        if not root.exists():
            raise SourceError(source.name, f"drop folder not found: {root}", hint="create it or fix 'path'")
        known = folder.known_files(store, source.name)
        ready, pending = folder.scan(root, known)
        items: list[Item] = []
        records: list[FileRecord] = []
        warnings: list[str] = []
        for cand in ready:
            try:
                data = folder.read_complete(cand, source.max_bytes)
            except OSError as exc:
                warnings.append(f"cannot read {cand.rel}: {exc.strerror or exc}")
                log.warning("drop file unreadable source=%s file=%s error=%s", source.name, cand.rel, exc)
                continue
            if data is None:
                pending += 1
                continue
            digest = folder.sha256(data)
            record = FileRecord(source.name, cand.rel, cand.size, cand.mtime_ns, digest)
            if cand.known is not None and cand.known[2] == digest:
                records.append(replace(record, error=cand.known[3]))  # touched, not changed
                continue
            origin = str(root / cand.rel) if root.is_dir() else str(root)
            try:
                if len(data) > source.max_bytes:
                    raise FormatError(f"file larger than {source.max_bytes // 2**20} MiB (max_bytes): {origin}")
                parsed = self.pool.parse(
                    data, origin=origin, source=source.name, language=source.language, default_guid=cand.rel
                )
            except FormatError as exc:
                warnings.append(str(exc))
                log.warning("drop file skipped source=%s file=%s error=%r", source.name, cand.rel, str(exc))
                records.append(replace(record, error=str(exc)))
                continue
            items.extend(parsed)
            records.append(record)
        new_state = success_state(
            state,
            now=now,
            interval=source.interval,
            jitter=self.config.jitter,
            new_items=len(items),
            rng=self.rng,
        )
        if pending:
            new_state = replace(new_state, next_poll=now + timedelta(seconds=folder.SETTLE + 0.1))
        return FetchResult(
            source.name, items, new_state, files=records, warnings=warnings, kind="path",
            location=str(root), pending_files=pending,
        )  # fmt: skip


def _strip_origin(message: str, origin: str) -> str:
    """FormatError names the document; SourceError adds the source name, so drop the URL repetition."""
    suffix = f": {origin}"
    return message[: -len(suffix)] if message.endswith(suffix) else message
