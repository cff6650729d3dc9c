"""APScheduler set-up for the daemon: executors, one job per source, their triggers.

Kept apart from ``daemon.py`` so the scheduling policy can be read in one
place: every job is ``coalesce=True`` and ``max_instances=1`` (a stuck feed
cannot pile up runs), and a source's misfire grace is its own interval (a run
delayed by more than that is skipped: the next one is already due).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
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


def build_scheduler(pipeline_pool: concurrent.futures.ThreadPoolExecutor) -> BackgroundScheduler:
    """Jobs run on the daemon's pipeline thread by default; ``control`` is for the heartbeat."""
    return BackgroundScheduler(
        executors={"default": _SharedPool(pipeline_pool), "control": ThreadPoolExecutor(1)},
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
