"""Builders shared by the notify tests: config, rules, items and hits, and a pipeline-shaped `fire()`.

Rules, matches and evidence are built directly from watcher.models, so these
tests do not depend on the rule engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watcher.config import Config, parse_config
from watcher.models import Evidence, Hit, Item, Match, Rule
from watcher.notify import Notifier
from watcher.store import Store

T0 = datetime(2024, 11, 26, 6, 0, tzinfo=UTC)


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_config(tmp_path: Path, targets: Sequence[dict[str, Any]], **watcher: Any) -> Config:
    data: dict[str, Any] = {"watcher": {"database": "watcher.db", **watcher}, "notify": list(targets)}
    return parse_config(data, tmp_path / "config.toml")


@contextmanager
def notifier(config: Config, clock: Clock) -> Iterator[tuple[Store, Notifier]]:
    store = Store.open(config.database)
    n = Notifier(config, store, clock=clock)
    try:
        yield store, n
    finally:
        n.close()
        store.close()


def rule(rule_id: str = "drones", **kw: Any) -> Rule:
    kw.setdefault("title", "Massive drone attack")
    kw.setdefault("severity", "high")
    return Rule(id=rule_id, when=None, **kw)


def item(
    body: str = "KIEV (AFP) - La Russie a lancé 188 drones sur l'Ukraine dans la nuit, selon l'armée de l'air.",
    *,
    guid: str = "afp-1",
    title: str = "La Russie lance une attaque massive de drones",
    link: str | None = "https://www.afp.com/fr/news/afp-1",
    version: str | None = None,
    source: str = "seed",
) -> Item:
    return Item(
        source=source,
        guid=guid,
        title=title,
        body=body,
        link=link,
        version=version,
        published=datetime(2024, 11, 26, 5, 42, tzinfo=UTC),
    )


def hit(r: Rule, it: Item, phrase: str = "188 drones", value: float | None = 188, *, at: datetime = T0) -> Hit:
    start = it.body.index(phrase)
    ev = Evidence("body", start, start + len(phrase), phrase, value=value)
    return Hit.from_match(r, it, Match(r.id, value, False, (ev,)), at)


def fire(store: Store, n: Notifier, r: Rule, hits: Sequence[tuple[Item, Hit]], now: datetime) -> list[str | None]:
    """Record one cycle the way the pipeline does: decide, then items + hits + deliveries in one transaction."""
    reasons: list[str | None] = []
    rows: list[tuple[Hit, str | None]] = []
    deliveries: list[tuple[str, str]] = []
    for _, h in hits:
        reason, targets = n.plan(r, h, now=now)
        reasons.append(reason)
        rows.append((h, reason))
        deliveries.extend((h.id, t) for t in targets)
    store.record_cycle([it for it, _ in hits], rows, deliveries, now=now)
    return reasons
