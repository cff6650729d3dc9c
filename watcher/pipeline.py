"""One source run: fetch -> dedupe -> match -> decide -> store -> notify.

Every failure of a source becomes a ``SourceRun`` with ``error`` set; nothing a
feed or a file does can stop the caller (the daemon's scheduler, or ``watcher
poll``). The order of the steps is the delivery guarantee: items, hits and
pending deliveries are committed together *before* anything is sent, and the
drop-folder files are marked as read only after that commit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from .alerting import suppression
from .config import Config, SourceConfig
from .errors import WatcherError
from .models import UTC, Hit, Item, Match, Rule, SourceState
from .notify import Notifier
from .rules import RuleSet, load_rules
from .sources import Fetcher, FetchResult, health_transition, silence_transitions
from .store import Store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SourceRun:
    """What one run of one source did, for logs, `watcher poll` and metrics."""

    name: str
    fetched: int = 0
    new_items: int = 0
    new_hits: int = 0
    alerts: int = 0
    error: str | None = None
    duration: float = 0.0
    not_modified: bool = False
    hits: tuple[Hit, ...] = field(default=(), compare=False)


class Pipeline:
    """Ties one store, one rule set, one fetcher and one notifier together.

    ``ruleset`` is read once at the start of each run, so the daemon can swap
    it (a plain assignment) while runs are in flight: a run finishes on the
    rules it started with.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        ruleset: RuleSet,
        notifier: Notifier,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.ruleset = ruleset
        self.notifier = notifier
        self.fetcher = fetcher
        self.clock = clock
        # sqlite3 connections are not safe for concurrent use, and the outbox
        # decisions (story, cooldown) must see each other's results: one run
        # writes at a time; fetching, the slow part, happens outside the lock.
        self._write_lock = threading.RLock()

    def run_all(self) -> list[SourceRun]:
        return [self.run_source(s.name) for s in self.config.sources if s.enabled]

    def run_source(self, name: str) -> SourceRun:
        started = time.monotonic()
        source = self.config.source(name)
        try:
            run = self._run(source)
        except WatcherError as exc:
            log.error("source failed source=%s error=%s", name, exc)
            run = SourceRun(name=name, error=str(exc))
        except Exception as exc:  # a bug must cost one run of one source, never the daemon
            log.exception("source crashed source=%s", name)
            run = SourceRun(name=name, error=f"internal error: {type(exc).__name__}: {exc}")
        run = SourceRun(**{**run.__dict__, "duration": time.monotonic() - started})
        if run.error is None:
            log.info(
                "source polled source=%s fetched=%d new_items=%d new_hits=%d alerts=%d duration=%.2fs",
                name, run.fetched, run.new_items, run.new_hits, run.alerts, run.duration,
            )  # fmt: skip
        return run

    def _run(self, source: SourceConfig) -> SourceRun:
        with self._write_lock:
            old_state = self.store.source_state(source.name)
        result = self.fetcher.fetch(source, old_state, store=self.store, now=self.clock())
        # Health notices are sent after the lock is released: a notice flushes the
        # outbox, and a slow mail server must not hold up the other sources' writes.
        change = health_transition(old_state, result.state, self.config)
        try:
            if result.error is not None:
                with self._write_lock:
                    self.fetcher.commit(result, self.store)
                log.warning("source error source=%s error=%s", source.name, result.error)
                return SourceRun(name=source.name, error=str(result.error))
            return self._store_and_notify(source, result)
        finally:
            self._health(source, change, result.state)

    def _store_and_notify(self, source: SourceConfig, result: FetchResult) -> SourceRun:
        ruleset = self.ruleset
        known = self.store.known_item_ids(i.id for i in result.items)
        new_items: list[Item] = []
        seen: set[str] = set()
        for item in result.items:
            if item.id not in known and item.id not in seen:
                seen.add(item.id)
                new_items.append(item)
        # Matching is the CPU-heavy part and touches no shared state: it runs
        # outside the lock; the decisions read earlier alerts, so they run inside.
        matched = [(ruleset.get(m.rule_id), item, m) for item in new_items for m in ruleset.match(item)]
        with self._write_lock:
            hits, deliveries = self._decide(matched)
            stored = self.store.record_cycle(new_items, hits, deliveries, now=self.clock())
            self.fetcher.commit(result, self.store)
        self.notifier.flush()
        return SourceRun(
            name=source.name,
            fetched=len(result.items),
            new_items=stored.new_items,
            new_hits=stored.new_hits,
            alerts=sum(1 for _, reason in hits if reason is None),
            not_modified=result.not_modified,
            hits=tuple(h for h, _ in hits),
        )

    def _decide(
        self, matched: Sequence[tuple[Rule, Item, Match]]
    ) -> tuple[list[tuple[Hit, str | None]], list[tuple[str, str]]]:
        """Decide, hit by hit, whether each match alerts and to which targets."""
        now = self.clock()
        hits: list[tuple[Hit, str | None]] = []
        deliveries: list[tuple[str, str]] = []
        in_cycle: dict[tuple[str, str], list[Hit]] = {}
        last_alert: dict[str, datetime | None] = {}
        for rule, item, match in matched:
            hit = Hit.from_match(rule, item, match, now)
            key = (rule.id, item.story_id)
            previous = [*self.store.alerted_hits(rule.id, item.story_id), *in_cycle.get(key, [])]
            if rule.id not in last_alert:
                last_alert[rule.id] = self.store.last_alert_at(rule.id)
            reason = suppression(rule, hit, previous=previous, last_alert_at=last_alert[rule.id], now=now)
            hits.append((hit, reason))
            if reason is None:
                in_cycle.setdefault(key, []).append(hit)
                last_alert[rule.id] = now
                deliveries.extend((hit.id, target) for target in self.notifier.route(rule))
        return hits, deliveries

    def check_silence(self) -> list[tuple[str, str]]:
        """Tell admin targets, once per change, about sources that went silent or resumed.

        A feed can break without an error (an empty channel, a frozen CMS): it
        then polls fine and brings nothing, for much longer than its usual gap.
        The daemon calls this periodically; failing sources are reported by
        the per-run health check instead.
        """
        with self._write_lock:
            changes = silence_transitions(self.store, self.config, now=self.clock())
        for name, change in changes:
            source = self.config.source(name)
            if change == "silent":
                self.notifier.admin(
                    f"watcher: source {name} is silent",
                    f"Source {name} ({source.location}) polls without error but has brought no new item "
                    "for much longer than usual. Check that the feed still publishes.",
                    key=f"source-silent:{name}:{self.clock().isoformat()}",
                )
            else:
                self.notifier.admin(
                    f"watcher: source {name} has news again",
                    f"Source {name} ({source.location}) brings new items again.",
                    key=f"source-resumed:{name}:{self.clock().isoformat()}",
                )
        return changes

    def _health(self, source: SourceConfig, change: str | None, new: SourceState) -> None:
        if change == "failing":
            self.notifier.admin(
                f"watcher: source {source.name} is failing",
                f"Source {source.name} ({source.location}) has failed {new.consecutive_failures} times in a row.\n"
                f"Last error: {new.last_error}",
                key=f"source-failing:{source.name}:{new.last_error_at}",
            )
        elif change == "recovered":
            self.notifier.admin(
                f"watcher: source {source.name} recovered",
                f"Source {source.name} ({source.location}) is polling again.",
                key=f"source-recovered:{source.name}:{new.last_success}",
            )


@contextmanager
def open_pipeline(config: Config, *, clock: Callable[[], datetime] = utcnow) -> Iterator[Pipeline]:
    """Everything a poll needs, opened in dependency order and closed in reverse.

    Rules are loaded before the database is touched, so a broken rules file
    never leaves a half-initialised database behind it.
    """
    ruleset = load_rules(
        list(config.rules),
        regex_timeout=config.regex_timeout.total_seconds(),
        max_text=config.max_text,
    )
    with ExitStack() as stack:
        store = Store.open(config.database)
        stack.callback(store.close)
        fetcher = Fetcher(config)
        stack.callback(fetcher.close)
        notifier = Notifier(config, store, clock=clock)
        stack.callback(notifier.close)
        yield Pipeline(config, store, ruleset, notifier, fetcher, clock=clock)
