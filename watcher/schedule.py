"""APScheduler set-up for the daemon: executors, one job per source, their triggers.

Kept apart from ``daemon.py`` so the scheduling policy can be read in one
place: every job is ``coalesce=True`` and ``max_instances=1`` (a stuck feed
cannot pile up runs), and a source's misfire grace is its own interval (a run
delayed by more than that is skipped: the next one is already due).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.pool import BasePoolExecutor, ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config, SourceConfig
from .models import UTC


class _SharedPool(BasePoolExecutor):  # type: ignore[misc]
    """An APScheduler executor over a pool the daemon owns and drains itself at shutdown."""

    def __init__(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        super().__init__(pool)

    def shutdown(self, wait: bool = True) -> None:
        pass


def build_scheduler(pool: concurrent.futures.ThreadPoolExecutor) -> BackgroundScheduler:
    """Jobs run in the daemon's own pool by default; ``control`` is for the watchdog heartbeat alone."""
    return BackgroundScheduler(
        executors={"default": _SharedPool(pool), "control": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def source_trigger(source: SourceConfig, config: Config) -> IntervalTrigger:
    seconds = source.interval.total_seconds()
    jitter = int(seconds * config.jitter) if source.url else 0  # spread HTTP polls, never drop folders
    return IntervalTrigger(seconds=seconds, jitter=jitter or None)


def sync_source_jobs(
    scheduler: BackgroundScheduler,
    config: Config,
    previous: Config | None,
    run: Callable[[str], Any],
) -> None:
    """Add, replace or drop one job per enabled source; unchanged sources keep their schedule.

    A new or changed source runs at once, which is also how every source gets
    its first run the moment the daemon starts.
    """
    old = {s.name: s for s in previous.sources if s.enabled} if previous else {}
    new = {s.name: s for s in config.sources if s.enabled}
    for name in old:
        if name not in new or old[name] != new[name]:
            job = scheduler.get_job(f"source:{name}")
            if job is not None:
                job.remove()
    for name, source in new.items():
        if name in old and old[name] == source and scheduler.get_job(f"source:{name}"):
            continue
        scheduler.add_job(
            run,
            source_trigger(source, config),
            args=[name],
            id=f"source:{name}",
            name=f"source {name}",
            next_run_time=in_seconds(0),
            replace_existing=True,
            misfire_grace_time=max(1, int(source.interval.total_seconds())),
        )


class InFlight:
    """The jobs running now, with a gate: for the watchdog, for config reloads and for shutdown.

    Every job enters before its work and leaves after it. ``hold`` makes new
    jobs wait at the gate (a config reload swaps the fetcher and notifier only
    once ``drain`` saw no job running), ``close`` turns them away for good (at
    shutdown, queued jobs then end at once while running ones finish).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._started: dict[int, tuple[float, bool]] = {}
        self._seq = 0
        self._held = False
        self._closed = False

    @contextmanager
    def job(self, *, watched: bool = True) -> Iterator[bool]:
        """``with inflight.job() as admitted:`` run the work only when ``admitted``.

        ``watched`` jobs count for ``oldest``: those with a bounded duration.
        """
        with self._cond:
            while self._held and not self._closed:
                self._cond.wait()
            if self._closed:
                admitted, token = False, 0
            else:
                self._seq += 1
                admitted, token = True, self._seq
                self._started[token] = (time.monotonic(), watched)
        try:
            yield admitted
        finally:
            if admitted:
                with self._cond:
                    del self._started[token]
                    self._cond.notify_all()

    def oldest(self) -> float:
        """Seconds the longest-running watched job has been running (0 when none runs)."""
        with self._cond:
            starts = [started for started, watched in self._started.values() if watched]
        return time.monotonic() - min(starts) if starts else 0.0

    def drain(self, timeout: float) -> bool:
        """Wait until no job runs; False if some job still ran after ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._started, timeout=max(0.0, timeout))

    def hold(self) -> None:
        with self._cond:
            self._held = True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
