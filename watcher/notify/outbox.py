"""The outbox: send what the store says is owed, retry what failed, never lose or double an alert.

The pipeline commits items, hits and one pending delivery per (hit, target) in
one transaction; only then does ``flush`` send, and it marks a delivery sent
after the target accepted it. A crash between the two can re-send one message
after restart (at-least-once), which is why every message carries its hit id.

Retries are per target: when a target fails temporarily, the delivery is
rescheduled with exponential backoff (``retry_initial`` doubling to
``retry_max``) and the target's other due deliveries wait with it, so a dead
mail server is probed once per backoff step, not once per alert. After
``retry_for`` the delivery is failed and reported to the ``admin`` targets.
Permanent refusals (SMTP 5xx, HTTP 4xx) fail at once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import apprise

from ..alerting import admin_targets, route, suppression
from ..config import Config, NotifyConfig
from ..errors import StoreError
from ..models import Delivery, Hit, Rule
from ..store import Store
from .messages import Message, Renderer
from .transport import Outcome, Target

log = logging.getLogger(__name__)

# Test hook for the crash-safety tests: "before-send" or "after-send" makes the
# process exit abruptly (os._exit, like SIGKILL: no cleanup, no commit) at that point.
CRASH_ENV = "WATCHER_TEST_CRASH"

_NOTIFY_TYPE = {
    "critical": "failure",
    "high": "failure",
    "medium": "warning",
    "low": "info",
    "info": "info",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TargetResult:
    """What one target answered to ``watcher notify test``."""

    target: str
    url: str  # apprise privacy form: safe to print
    ok: bool
    error: str | None = None


@dataclass
class FlushReport:
    sent: int = 0
    retried: int = 0  # attempts that failed and were rescheduled
    failed: int = 0  # deliveries given up on (permanent refusal or retry_for elapsed)
    digests: int = 0  # digest messages created in this flush
    errors: list[str] = field(default_factory=list)


class Notifier:
    def __init__(self, config: Config, store: Store, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.renderer = Renderer(config)
        asset = apprise.AppriseAsset(
            app_id="watcher",
            app_desc="watcher wire alerts",
            app_url="https://github.com/watcher-alerts/watcher",
        )
        self.targets: dict[str, Target] = {cfg.name: Target(cfg, asset) for cfg in config.notify}
        self._lock = threading.RLock()
        self._wanted = False
        self._unrouted: set[str] = set()
        self._pending_admin: list[str] = []

    # -- decisions -------------------------------------------------------------------------------

    def route(self, rule: Rule) -> list[str]:
        """Target names for a rule's alerts (see ``watcher.alerting.route``)."""
        names = route(rule, self.config.notify)
        if not names and rule.id not in self._unrouted:
            self._unrouted.add(rule.id)  # once per rule: a misrouted rule must not flood the log
            log.warning(
                "rule alerts reach no target rule=%s notify=%s; its hits are stored but not sent",
                rule.id, ",".join(rule.notify) or "(every target)",
            )  # fmt: skip
        return names

    def plan(self, rule: Rule, hit: Hit, *, now: datetime | None = None) -> tuple[str | None, list[str]]:
        """Suppression reason and target names for a hit, from the history in the store.

        A convenience for the pipeline: hits of the same story found earlier in
        the *same* cycle are not in the store yet; the caller must count those.
        """
        reason = suppression(
            rule,
            hit,
            previous=self.store.alerted_hits(rule.id, hit.story_id),
            last_alert_at=self.store.last_alert_at(rule.id),
            now=now or self.clock(),
        )
        return reason, ([] if reason else self.route(rule))

    # -- sending ---------------------------------------------------------------------------------

    def flush(self, *, now: datetime | None = None) -> FlushReport:
        """Send every due delivery and digest; never raises for a target's failure.

        Never blocks on another thread's flush: apprise spaces sends to one
        service seconds apart, so a flush can be long, and the pipeline calls
        this after every source run. A caller that finds a flush running leaves
        it a request for one more pass and returns an empty report.
        """
        report = FlushReport()
        while True:
            self._wanted = True
            if not self._lock.acquire(blocking=False):
                return report
            try:
                while self._wanted:
                    self._wanted = False
                    try:
                        self._flush_once(now or self.clock(), report)
                    except (sqlite3.Error, StoreError) as exc:
                        # Locked or full database: nothing is lost (the outbox is the database);
                        # the next flush tries again.
                        log.error("outbox unavailable, will retry on the next flush error=%s", exc)
                        report.errors.append(f"outbox unavailable: {exc}")
                        return report
            finally:
                self._lock.release()
            if not self._wanted:
                return report

    def next_due(self) -> datetime | None:
        """When ``flush`` next has something to do (a retry, a digest window closing), or None.

        The pipeline flushes after every source run; the daemon should also call
        ``flush`` at this time (and once at start), so retries and digests do not
        wait for the next poll.
        """
        digesting = [cfg for cfg in self.config.notify if cfg.digest is not None]
        times = [self.store.next_attempt_at(exclude_targets=[cfg.name for cfg in digesting])]
        for cfg in digesting:
            waiting = self.store.undigested(cfg.name)
            if waiting and cfg.digest is not None:
                times.append(waiting[0].created_at + cfg.digest)
        due = [t for t in times if t is not None]
        return min(due) if due else None

    def _flush_once(self, now: datetime, report: FlushReport) -> None:
        self._fold_digests(now, report)
        queue: dict[str, list[Delivery]] = {}
        digesting = {cfg.name for cfg in self.config.notify if cfg.digest is not None}
        for d in self.store.due_deliveries(now):
            if d.kind == "hit" and d.target in digesting:
                continue  # waits for its digest window
            queue.setdefault(d.target, []).append(d)
        for name, deliveries in queue.items():
            target = self.targets.get(name)
            for i, d in enumerate(deliveries):
                if target is None:
                    self._give_up(d, f"target {name!r} is no longer in the config", report)
                    continue
                try:
                    retry_at = self._attempt(target, d, now, report)
                except (sqlite3.Error, StoreError):
                    raise
                except Exception as exc:  # a bug must cost one delivery a retry, not the whole flush
                    log.exception("delivery crashed id=%s target=%s", d.id, name)
                    retry_at = self._retry_later(target, d, now, f"internal error: {type(exc).__name__}: {exc}", report)
                if retry_at is not None:
                    self.store.postpone([later.id for later in deliveries[i + 1 :]], retry_at)
                    break
        self._report_failures()

    def _fold_digests(self, now: datetime, report: FlushReport) -> None:
        for cfg in self.config.notify:
            waiting = self.store.undigested(cfg.name)
            if not waiting:
                continue
            if cfg.digest is not None:
                if now - waiting[0].created_at < cfg.digest:
                    continue
            elif len(waiting) <= (cfg.flood or self.config.flood):
                continue
            hit_ids = [d.hit_id for d in waiting if d.hit_id]
            digest_id = self.store.fold_into_digest(cfg.name, [d.id for d in waiting], hit_ids, now)
            report.digests += 1
            why = "digest" if cfg.digest is not None else "flood"
            log.info("digest created id=%s target=%s hits=%s reason=%s", digest_id, cfg.name, len(hit_ids), why)

    def _attempt(self, target: Target, d: Delivery, now: datetime, report: FlushReport) -> datetime | None:
        """Send one delivery and record the result; returns the retry time after a temporary failure."""
        current = self.store.delivery(d.id)
        if current is None or current.status.value != "pending":
            return None  # another flush got there first
        try:
            message = self._message(target, d)
        except LookupError as exc:
            self._give_up(d, str(exc), report)
            return None
        notify_type = self._notify_type(d)
        _crash_point("before-send")
        outcome = target.send(message.title, message.body, notify_type=notify_type)
        _crash_point("after-send")
        if outcome.ok:
            self.store.mark_sent(d.id, self.clock())
            report.sent += 1
            log.info("delivery sent id=%s target=%s kind=%s hit=%s", d.id, target.name, d.kind, d.hit_id)
            return None
        error = outcome.error or "failed"
        if outcome.permanent:
            self._give_up(d, error, report, url=target.url)
            return None
        return self._retry_later(target, d, now, error, report)

    def _retry_later(
        self, target: Target, d: Delivery, now: datetime, error: str, report: FlushReport
    ) -> datetime | None:
        """Reschedule with backoff, or give up once ``retry_for`` has passed; returns the retry time."""
        if now - d.created_at >= self.config.retry_for:
            self._give_up(d, f"still failing after {_human(self.config.retry_for)}: {error}", report, url=target.url)
            return None
        delay = min(self.config.retry_initial * (1 << min(d.attempts, 30)), self.config.retry_max)
        retry_at = now + delay
        self.store.reschedule(d.id, retry_at, error)
        report.retried += 1
        log.warning(
            "delivery failed, will retry id=%s target=%s url=%s attempt=%s retry_in=%s error=%s",
            d.id, target.name, target.url, d.attempts + 1, _human(delay), error,
        )  # fmt: skip
        return retry_at

    def _give_up(self, d: Delivery, error: str, report: FlushReport, *, url: str = "") -> None:
        self.store.mark_failed(d.id, error)
        report.failed += 1
        line = f"delivery {d.id} ({d.kind}{' ' + d.hit_id if d.hit_id else ''}) to {d.target!r} failed: {error}"
        report.errors.append(line)
        log.error("delivery failed id=%s target=%s url=%s kind=%s hit=%s error=%s",
                  d.id, d.target, url, d.kind, d.hit_id, error)  # fmt: skip
        if d.kind != "admin":  # an admin notice that fails is logged, never reported to itself
            self._pending_admin.append(line)

    def _report_failures(self) -> None:
        if not self._pending_admin:
            return
        lines, self._pending_admin = self._pending_admin, []
        n = len(lines)
        self.admin(
            f"watcher: {n} deliver{'y' if n == 1 else 'ies'} failed",
            "\n".join([*lines, "List them with: watcher deliveries --status failed"]),
        )

    def _message(self, target: Target, d: Delivery) -> Message:
        fmt, tfmt = target.format, target.title_format
        payload = d.payload or {}
        if d.kind == "hit":
            hit = self.store.hit(d.hit_id or "")
            if hit is None:
                raise LookupError(f"hit {d.hit_id} is not in the database")
            return self.renderer.hit(hit, self.store.item(hit.item_id), fmt=fmt, target=target.name, title_fmt=tfmt)
        if d.kind == "digest":
            pairs = []
            for hit_id in payload.get("hit_ids", []):
                hit = self.store.hit(hit_id)
                if hit is not None:
                    pairs.append((hit, self.store.item(hit.item_id)))
            if not pairs:
                raise LookupError(f"digest {d.id} lists no hit that is in the database")
            return self.renderer.digest(pairs, fmt=fmt, target=target.name, title_fmt=tfmt)
        title, body = str(payload.get("title", "")), str(payload.get("body", ""))
        return self.renderer.notice(title, body, fmt=fmt, title_fmt=tfmt)

    def _notify_type(self, d: Delivery) -> str:
        if d.kind == "hit" and d.hit_id:
            hit = self.store.hit(d.hit_id)
            if hit is not None:
                return _NOTIFY_TYPE.get(hit.severity, "info")
        return "warning" if d.kind == "admin" else "info"

    # -- admin notices and tests -----------------------------------------------------------------

    def admin(self, title: str, body: str, *, key: str | None = None) -> None:
        """Tell the operators (targets tagged ``admin``); ``key`` makes a notice go out once per target.

        The notice is queued in the outbox like any alert (so it survives a
        restart and is retried), then a flush is requested.
        """
        names = admin_targets(self.config.notify)
        log.warning("admin notice title=%r targets=%s", title, ",".join(names) or "none")
        if not names:
            return
        now = self.clock()
        queued = [
            self.store.enqueue(name, "admin", {"title": title, "body": body}, now=now, dedupe_key=key) for name in names
        ]
        if any(q is not None for q in queued):
            self.flush()

    def test(self, tag: str | None = None) -> list[TargetResult]:
        """Send a test message to every target (or those tagged ``tag``) and report each real result."""
        with self._lock:
            results: list[TargetResult] = []
            for cfg in self.config.notify:
                if tag is not None and tag not in cfg.tags:
                    continue
                results.append(self._test_one(cfg))
            return results

    def _test_one(self, cfg: NotifyConfig) -> TargetResult:
        target = self.targets[cfg.name]
        now = self.clock()
        title = "watcher test notification"
        body = (
            f"This is a test from watcher to target {cfg.name} (tags: {', '.join(cfg.tags)}).\n"
            f"Sent at {now.strftime('%Y-%m-%dT%H:%M:%SZ')}. If you read this, alerts will reach you here."
        )
        delivery_id = self.store.enqueue(cfg.name, "test", {"title": title, "body": body}, now=now, due=False)
        message = self.renderer.notice(title, body, fmt=target.format, title_fmt=target.title_format)
        outcome: Outcome = target.send(message.title, message.body, notify_type="info")
        if delivery_id is not None:
            if outcome.ok:
                self.store.mark_sent(delivery_id, self.clock())
            else:
                self.store.mark_failed(delivery_id, outcome.error or "failed")
        return TargetResult(cfg.name, target.url, outcome.ok, outcome.error)

    def close(self) -> None:
        """Nothing is buffered in memory: every owed message is already in the outbox."""
        self.targets.clear()


def _crash_point(point: str) -> None:
    if os.environ.get(CRASH_ENV) == point:
        os._exit(86)


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
