"""Parsing off the scheduler thread, in worker processes so both cores serve.

feedparser is most of the CPU spent per new item and holds the GIL, so threads
would not help. Workers are started with ``forkserver`` (forking a process that
already runs scheduler and HTTP threads can deadlock on a lock held by one of
them). A worker answers with plain tuples rather than raising, because our
exceptions take keyword arguments that do not survive pickling. A parse that
outlives ``timeout`` or kills its worker fails only its own source; the pool is
rebuilt.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import FormatError, SourceError
from ..models import Item
from .items import fill_language

log = logging.getLogger(__name__)

PARSE_TIMEOUT = 60.0


class _Collect(logging.Handler):
    """Keeps a worker's log records so the parent logs them with its own handlers and format."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.getMessage()))


def _parse_job(
    data: bytes,
    origin: str,
    source: str,
    headers: dict[str, str],
    language: str | None,
    default_guid: str | None,
) -> tuple[str, Any, list[tuple[int, str]]]:
    from . import parse_document

    # Only ever run inside a worker process, whose logging belongs to us alone.
    logger = logging.getLogger("watcher.sources")
    collect = _Collect()
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        items = parse_document(
            data,
            origin=origin,
            source=source,
            headers=headers,
            language=language,
            default_guid=default_guid,
            detect_language=False,
        )
    except FormatError as exc:
        return ("error", str(exc), collect.records)
    finally:
        logger.removeHandler(collect)
    return ("ok", items, collect.records)


def _init_worker() -> None:
    """Each worker: deaf to the terminal's Ctrl-C, parsers imported before the first document.

    A terminal's Ctrl-C goes to the whole process group; a worker that took it
    would die with a KeyboardInterrupt traceback in the middle of the daemon's
    orderly shutdown, which closes the pool itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from . import formats  # noqa: F401


def _noop() -> None:
    """Submitted once per worker by ``start``: the executor starts processes on demand."""


class ParsePool:
    def __init__(self, workers: int, *, timeout: float = PARSE_TIMEOUT) -> None:
        self.workers = workers
        self.timeout = timeout
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closing = False

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                ctx = multiprocessing.get_context("forkserver")
                self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_init_worker)
                for _ in range(self.workers):
                    self._executor.submit(_noop)
            return self._executor

    def start(self) -> None:
        """Start the worker processes now, without waiting for them.

        Starting them takes over a second, which the first document dropped
        after a (re)start would otherwise pay, missing the two-second promise.
        """
        if self.workers > 0:
            self._get()

    def _reset(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        processes = dict(getattr(executor, "_processes", None) or {})
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():
            if process.is_alive():
                process.kill()

    def parse(
        self,
        data: bytes,
        *,
        origin: str,
        source: str,
        headers: Mapping[str, str] | None = None,
        language: str | None = None,
        default_guid: str | None = None,
    ) -> list[Item]:
        """Parse in a worker (or in this thread with ``workers = 0``); raises FormatError only."""
        if self.workers <= 0:
            from . import parse_document

            return parse_document(
                data, origin=origin, source=source, headers=headers, language=language, default_guid=default_guid
            )
        executor = self._get()
        args = (data, origin, source, dict(headers or {}), language, default_guid)
        try:
            status, value, records = executor.submit(_parse_job, *args).result(timeout=self.timeout)
        except FutureTimeout:
            self._reset(executor)
            raise FormatError(f"parsing took longer than {self.timeout:.0f}s: {origin}") from None
        except BrokenProcessPool:
            self._reset(executor)
            if self._closing:
                # Stopped by our own shutdown, not by the document: a transient
                # error, so a drop-folder file is read again at the next start.
                raise SourceError(source, f"stopped while parsing {origin}") from None
            raise FormatError(f"the parser process died on this document: {origin}") from None
        for level, message in records:
            log.log(level, "%s", message)
        if status == "error":
            raise FormatError(str(value))
        return fill_language(list(value))

    def close(self) -> None:
        self._closing = True
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def kill(self) -> None:
        """Kill the workers at once: for an exit that cannot wait for running parses."""
        self._closing = True
        with self._lock:
            executor = self._executor
        if executor is not None:
            self._reset(executor)
