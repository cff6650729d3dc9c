"""The daemon: scheduling, signals, live reloads, systemd notification, status.

Threads, and why:

* a **job pool** of ``concurrency`` threads runs source runs, delivery
  flushes and retention, so a feed that trickles until its deadline never
  holds back a dispatch dropped meanwhile. The store, the pipeline and the
  notifier are safe to share; the daemon adds one rule: one run per source at
  a time.
* the **scheduler thread** (APScheduler's) decides when jobs are due; the
  **control executor** runs the watchdog heartbeat. A heartbeat that completes
  proves the scheduler is alive, and it withholds ``WATCHDOG=1`` while a job
  has been running longer than any run may take, so systemd restarts a hung
  daemon instead of trusting a free-running timer.
* the **main thread** only waits: SIGTERM/SIGINT stop, SIGHUP reloads config
  and rules. Rule files are also watched (``reload.py``), drop folders too.

Shutdown lets running jobs finish within ``shutdown_grace``. The outbox makes
an interrupted run harmless (uncommitted items are fetched again, committed
deliveries are sent first thing at the next start), so past the grace period
the process exits anyway.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config, load_config
from .errors import RulesError, WatcherError
from .lock import DatabaseLock
from .metrics import Metrics
from .reload import Fingerprint, RulesFailure, RuleWatcher, fingerprint, load_ruleset
from .rules import RuleSet
from .schedule import InFlight, build_scheduler, in_seconds, sync_source_jobs
from .status import delivery_counts, record_cycle, record_reload, record_start, record_stop
from .systemd import SystemdNotifier

log = logging.getLogger(__name__)

FLUSH_EVERY = 5.0  # seconds between outbox flushes: retries and digests fall due over time
RETENTION_EVERY = timedelta(hours=6)
SILENCE_EVERY = 600.0  # seconds between checks for sources gone silent (their usual gap is minutes to hours)
HEARTBEAT_DEFAULT = 10.0  # seconds, when systemd asks for no watchdog
HANG_ENV = "WATCHER_TEST_HANG"  # test hook: seconds after start at which the scheduler loop hangs


class _Stoppable(Protocol):
    def stop(self) -> None: ...


class Daemon:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.config: Config = load_config(config_path)
        self.sd = SystemdNotifier()
        self.metrics = Metrics()
        self.lock = DatabaseLock(self.config.database)
        self._stop = threading.Event()
        self._reload_requested = threading.Event()
        self._wake = threading.Event()
        self._reload_lock = threading.RLock()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max(1, self.config.concurrency), thread_name_prefix="watcher-job"
        )
        self._inflight = InFlight()
        self._source_locks: dict[str, threading.Lock] = {}
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._trigger_seq = 0
        self._stuck_logged = False
        self._reported_failure: str | None = None
        self._folder_watchers: list[_Stoppable] = []
        self._rule_watcher: RuleWatcher | None = None
        self.scheduler: BackgroundScheduler | None = None
        # Opened by _open(), rebuilt by _swap() while no job runs.
        self.store: Any = None
        self.pipeline: Any = None
        self.notifier: Any = None
        self.fetcher: Any = None

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> int:
        self._install_signals()
        self.lock.acquire()
        try:
            return self._run()
        finally:
            self.lock.release()

    def _run(self) -> int:
        config = self.config
        baseline = fingerprint(config.rules)  # taken before loading: an edit in between is not missed
        ruleset = load_ruleset(config)
        if config.metrics:
            self.metrics.serve(config.metrics)  # a busy port fails the start before anything is opened
        try:
            self._open(config, ruleset)
        except BaseException:
            self._close()
            self._pool.shutdown(wait=True)
            self.metrics.close()
            raise
        self._submit(self._flush)  # outbox recovery: queued before the first poll, so it starts first
        self.metrics.started.set(time.time())
        self.metrics.rules_loaded.set(len(ruleset))
        self._start_scheduler()
        self._start_watchers(baseline)
        enabled = sum(s.enabled for s in config.sources)
        self.sd.ready(f"watching {enabled} sources with {len(ruleset)} rules")
        log.info(
            "daemon started pid=%d sources=%d rules=%d database=%s",
            os.getpid(), enabled, len(ruleset), config.database,
        )  # fmt: skip
        if not enabled:
            log.warning("no enabled source in %s: nothing to poll", config.path)
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self.reload_config()
        return self._shutdown()

    def _install_signals(self) -> None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            # Only set flags: logging or taking locks inside a signal handler can deadlock.
            (self._reload_requested if signum == signal.SIGHUP else self._stop).set()
            self._wake.set()

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)

    def _open(self, config: Config, ruleset: RuleSet) -> None:
        from .store import Store

        self.store = Store.open(config.database)
        self._build(config, ruleset)
        record_start(
            self.store, config_path=str(config.path), pid=os.getpid(), rules_count=len(ruleset), rules_hash=ruleset.hash
        )
        self._refresh_delivery_gauges()

    def _build(self, config: Config, ruleset: RuleSet) -> None:
        from .notify import Notifier
        from .pipeline import Pipeline
        from .sources import Fetcher

        self.fetcher = Fetcher(config)
        self.notifier = Notifier(config, self.store)
        self.pipeline = Pipeline(config, self.store, ruleset, self.notifier, self.fetcher)
        self.fetcher.warm_up()

    def _shutdown(self) -> int:
        grace = self.config.shutdown_grace.total_seconds()
        deadline = time.monotonic() + grace
        self.sd.stopping()
        log.info("daemon stopping grace=%.0fs", grace)
        self._stop_watchers()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self._inflight.close()  # queued jobs now end at once; running ones finish
        if not self._inflight.drain(deadline - time.monotonic()):
            log.warning(
                "shutdown grace expired after %.0fs: abandoning the running jobs "
                "(uncommitted items are fetched again and pending deliveries sent at the next start)",
                grace,
            )
            if self.fetcher is not None:
                self.fetcher.kill()  # parser workers would outlive us otherwise
            self.metrics.close()
            self.lock.release()
            logging.shutdown()
            os._exit(0)  # a job's thread cannot be interrupted; it dies with the process
        self._pool.shutdown(wait=True)  # what is still queued is turned away at the gate at once
        self._close()
        self.metrics.close()
        self.sd.close()
        log.info("daemon stopped")
        return 0

    def _close(self) -> None:
        if self.store is None:
            return
        self._guard(record_stop, self.store)
        for closeable in (self.notifier, self.fetcher, self.store):
            if closeable is not None:
                self._guard(closeable.close)

    # -- jobs ------------------------------------------------------------------------------------

    def _job(self, fn: Callable[..., Any], *args: Any) -> None:
        """A source run: admitted by the gate, watched by the heartbeat while it runs, never raising."""
        with self._inflight.job() as admitted:
            if admitted:
                self._guard(fn, *args)

    def _chore(self, fn: Callable[..., Any], *args: Any) -> None:
        """Flushes and bookkeeping: gated like jobs, but not watched, since sending a backlog
        through a rate-limited service may take long and is no sign of a hung daemon."""
        with self._inflight.job(watched=False) as admitted:
            if admitted:
                self._guard(fn, *args)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn`` as a chore; exceptions are logged, never raised."""
        with contextlib.suppress(RuntimeError):  # pool already shut down: the daemon is exiting
            self._pool.submit(self._chore, fn, *args)

    def _guard(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except WatcherError as exc:
            log.error("%s", exc)
        except Exception:  # a bug in one job must never stop the daemon
            log.exception("daemon job crashed job=%s", getattr(fn, "__name__", fn))

    def _job_source(self, name: str) -> None:
        # One run per source at a time: a drop-folder trigger waits for the scheduled run in flight.
        with self._source_locks.setdefault(name, threading.Lock()):
            with self._pending_lock:
                self._pending.discard(name)  # from here on, this run sees every file already landed
            run = self.pipeline.run_source(name)
        self.metrics.record_run(run)
        self._guard(record_cycle, self.store, run)
        self._refresh_delivery_gauges()
        outcome = f"error: {run.error}" if run.error else f"{run.new_items} new items, {run.new_hits} hits"
        self.sd.status(f"last cycle {run.name}: {outcome}; {len(self.pipeline.ruleset)} rules")

    def _flush(self) -> None:
        self.notifier.flush()
        self._refresh_delivery_gauges()

    def _retention(self) -> None:
        if self.config.retention is None:
            return
        pruned = self.store.prune(self.config.retention)
        if pruned:
            log.info("retention pruned items=%d older_than=%s", pruned, self.config.retention)

    def _silence(self) -> None:
        self.pipeline.check_silence()

    def _refresh_delivery_gauges(self) -> None:
        self._guard(lambda: self.metrics.set_deliveries(delivery_counts(self.store)))

    # -- scheduling ------------------------------------------------------------------------------

    def _start_scheduler(self) -> None:
        self.scheduler = scheduler = build_scheduler(self._pool)
        sync_source_jobs(scheduler, self.config, None, self._run_source_job)
        flush = IntervalTrigger(seconds=FLUSH_EVERY)
        scheduler.add_job(self._chore, flush, args=[self._flush], id="flush", misfire_grace_time=int(FLUSH_EVERY))
        scheduler.add_job(
            self._chore, IntervalTrigger(seconds=RETENTION_EVERY.total_seconds()), args=[self._retention],
            id="retention", next_run_time=in_seconds(60), misfire_grace_time=3600,
        )  # fmt: skip
        scheduler.add_job(
            self._chore, IntervalTrigger(seconds=SILENCE_EVERY), args=[self._silence],
            id="silence", next_run_time=in_seconds(SILENCE_EVERY), misfire_grace_time=int(SILENCE_EVERY),
        )  # fmt: skip
        beat = self.sd.watchdog_interval or HEARTBEAT_DEFAULT
        scheduler.add_job(
            self._heartbeat, IntervalTrigger(seconds=beat), id="heartbeat", executor="control",
            next_run_time=in_seconds(0), misfire_grace_time=max(1, int(beat)),
        )  # fmt: skip
        hang = os.environ.get(HANG_ENV)
        if hang:
            log.warning("test hook %s=%s: the scheduler loop will hang", HANG_ENV, hang)
            scheduler.add_job(self._stop.wait, "date", run_date=in_seconds(float(hang)), executor="control")
        scheduler.start()

    def _run_source_job(self, name: str) -> None:
        self._job(self._job_source, name)

    def trigger_source(self, name: str) -> None:
        """Run a source now (a file landed in its drop folder)."""
        if self._stop.is_set() or self.scheduler is None:
            return
        with self._pending_lock:
            if name in self._pending:
                return  # a run is already queued, and it will see this file too
            self._pending.add(name)
            self._trigger_seq += 1
            job_id = f"drop:{name}:{self._trigger_seq}"
        try:
            self.scheduler.add_job(self._job, "date", args=[self._job_source, name], id=job_id, misfire_grace_time=None)
        except Exception as exc:  # the scheduler is shutting down
            with self._pending_lock:
                self._pending.discard(name)
            log.debug("drop trigger ignored source=%s error=%s", name, exc)

    def _heartbeat(self) -> None:
        limit = self._stuck_after()
        if self._inflight.oldest() > limit:
            if not self._stuck_logged:
                log.error("a job has run for more than %.0fs: withholding the systemd watchdog ping", limit)
                self._stuck_logged = True
            return
        self._stuck_logged = False
        if self.sd.watchdog_interval is not None:
            self.sd.watchdog()

    def _stuck_after(self) -> float:
        """Longer than any honest job: every fetch has a deadline, so past this a thread is hung."""
        return 4 * self._longest_fetch() + 60

    def _longest_fetch(self) -> float:
        return max((s.timeout.total_seconds() for s in self.config.sources), default=30.0)

    # -- watchers --------------------------------------------------------------------------------

    def _start_watchers(self, baseline: Fingerprint | None = None) -> None:
        from .sources import watch_folder

        for source in self.config.sources:
            if not source.enabled or source.path is None:
                continue
            try:
                callback = functools.partial(_ignore_path, self.trigger_source, source.name)
                self._folder_watchers.append(watch_folder(source.path, callback))
            except (OSError, WatcherError) as exc:
                log.warning("drop folder not watched, polled at its interval source=%s error=%s", source.name, exc)
        self._rule_watcher = RuleWatcher(self.config.rules, self.reload_rules, baseline=baseline)
        self._rule_watcher.start()

    def _stop_watchers(self) -> None:
        for watcher in self._folder_watchers:
            try:
                watcher.stop()
            except Exception as exc:  # a watcher must never keep the daemon from stopping
                log.debug("folder watcher stop failed error=%s", exc)
        self._folder_watchers = []
        if self._rule_watcher is not None:
            self._rule_watcher.stop()
            self._rule_watcher = None

    # -- reloads ---------------------------------------------------------------------------------

    def reload_rules(self) -> bool:
        """Validate the rule files whole and swap them in atomically; keep the old set if invalid."""
        with self._reload_lock:
            if self._stop.is_set() or self.pipeline is None:
                return False
            started = time.monotonic()
            try:
                ruleset = load_ruleset(self.config)
            except RulesError as exc:
                self._rules_failed(exc)
                return False
            except Exception as exc:  # an unreadable folder, a bug in the loader: keep the old rules
                log.exception("rules reload crashed; previous rules stay active")
                self._rules_failed(RulesError([], hint=f"{type(exc).__name__}: {exc}"))
                return False
            changed = ruleset.hash != self.pipeline.ruleset.hash
            self.pipeline.ruleset = ruleset  # one assignment: a run uses the old set or the new, never a mix
            self._reported_failure = None
            self.metrics.reloads.labels("ok").inc()
            self.metrics.rules_loaded.set(len(ruleset))
            log.info(
                "rules reloaded count=%d hash=%s changed=%s duration=%.3fs",
                len(ruleset), ruleset.hash, changed, time.monotonic() - started,
            )  # fmt: skip
            self._submit(self._record_reload, True, f"{len(ruleset)} rules loaded", ruleset)
            return True

    def _rules_failed(self, exc: RulesError) -> None:
        failure = RulesFailure.of(exc)
        log.error("rules reload failed, previous rules stay active: %s", failure.problems[0])
        for extra in failure.problems[1:]:
            log.error("rules problem: %s", extra)
        self.metrics.reloads.labels("error").inc()
        self._submit(self._record_reload, False, failure.problems[0], None)
        if failure.key != self._reported_failure:  # the same mistake saved again: the admins know already
            self._reported_failure = failure.key
            self._submit(lambda: self.notifier.admin(failure.title, failure.body, key=failure.key))

    def _record_reload(self, ok: bool, message: str, ruleset: RuleSet | None) -> None:
        count, digest = (len(ruleset), ruleset.hash) if ruleset is not None else (None, None)
        record_reload(self.store, ok=ok, message=message, rules_count=count, rules_hash=digest)

    def reload_config(self) -> bool:
        """SIGHUP: re-read config.toml and the rules; anything invalid leaves everything as it was."""
        with self._reload_lock:
            self.sd.reloading()
            try:
                return self._reload_config()
            finally:
                self.sd.notify("READY=1", "STATUS=running")

    def _reload_config(self) -> bool:
        log.info("reloading config path=%s", self.config_path)
        try:
            config = load_config(self.config_path)
        except WatcherError as exc:
            log.error("config reload failed, previous configuration stays active: %s", exc)
            self._submit(self._record_reload, False, str(exc), None)
            return False
        if config.database != self.config.database:
            log.warning("database path changed in %s: takes effect at the next restart", config.path)
            config = replace(config, database=self.config.database)
        try:
            ruleset = load_ruleset(config)
        except RulesError as exc:
            self._rules_failed(exc)
            return False
        previous = self.config
        self._inflight.hold()  # new jobs wait at the gate; the running ones finish on the old objects
        try:
            deadline = time.monotonic() + self._longest_fetch() + 5
            while not self._inflight.drain(0.25):
                if self._stop.is_set() or time.monotonic() > deadline:
                    log.error("config reload abandoned: a source run is still in flight (send SIGHUP again)")
                    return False
            self._swap(config, ruleset)
            self.config = config
        finally:
            self._inflight.release()
        self._reported_failure = None
        if self.scheduler is not None:
            sync_source_jobs(self.scheduler, config, previous, self._run_source_job)
        self._stop_watchers()
        self._start_watchers()
        self.metrics.reloads.labels("ok").inc()
        self.metrics.rules_loaded.set(len(ruleset))
        self._submit(self._record_reload, True, f"config and {len(ruleset)} rules reloaded", ruleset)
        log.info("config reloaded sources=%d rules=%d", sum(s.enabled for s in config.sources), len(ruleset))
        return True

    def _swap(self, config: Config, ruleset: RuleSet) -> None:
        old = (self.notifier, self.fetcher)
        self._build(config, ruleset)
        for closeable in old:
            self._guard(closeable.close)


def _ignore_path(trigger: Callable[[str], None], name: str, *_path: Any) -> None:
    trigger(name)  # watch_folder says which file landed; the source run finds every new file itself


def run_daemon(config_path: str | os.PathLike[str]) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (0 on a requested stop)."""
    return Daemon(Path(config_path)).run()
