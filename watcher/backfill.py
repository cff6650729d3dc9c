"""Run the current rules over stored items: "what would this new rule have caught last week?"

Only hits the store does not hold yet are reported (a hit's id is a hash of rule
and item revision, so a rule that already fired on an item is recognised). With
``apply``, those hits are recorded with ``suppressed = 'backfill'`` and no
delivery: a backfill never notifies anybody, because the news is old and the
desk has moved on. A backfilled hit's ``fired_at`` is when the item was stored,
the moment the rule would have fired, so reports and ``--since`` place it on
the right day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from .errors import WatcherError
from .models import Hit, Item, iso, parse_iso
from .rules import RuleSet
from .store import Store, item_from_row

log = logging.getLogger(__name__)

SUPPRESSED = "backfill"
_BATCH = 500  # hits per transaction: the daemon may be writing too, keep each lock short

Progress = Callable[[Iterable[tuple[Item, datetime]], int], Iterable[tuple[Item, datetime]]]


class UnknownRule(WatcherError):
    """``--rule`` names no rule of the loaded rule files."""

    exit_code = 2


@dataclass(frozen=True)
class BackfillResult:
    hits: tuple[Hit, ...]  # hits the store does not hold yet, oldest item first
    items_scanned: int
    already_stored: int  # matches that are already hits in the store
    recorded: int  # hits written (0 unless applied)


def stored_items(store: Store, since: datetime | None) -> tuple[int, Iterator[tuple[Item, datetime]]]:
    """(count, iterator of (item, stored at)), oldest first."""
    where, args = ("WHERE fetched_at >= ?", (iso(since),)) if since else ("", ())
    total = int(store.conn.execute(f"SELECT count(*) FROM items {where}", args).fetchone()[0])
    rows = store.conn.execute(f"SELECT * FROM items {where} ORDER BY fetched_at, rowid", args).fetchall()
    return total, ((item_from_row(r), parse_iso(r["fetched_at"]) or datetime.min) for r in rows)


def backfill(
    store: Store,
    ruleset: RuleSet,
    *,
    rule: str | None = None,
    since: datetime | None = None,
    apply: bool = False,
    progress: Progress | None = None,
    regex_timeout: float = 0.2,
    max_text: int = 200_000,
) -> BackfillResult:
    """Match ``ruleset`` (or only ``rule``, even disabled) against the stored items; record new hits if ``apply``."""
    known = {r.id: r for r in ruleset.rules}
    if rule is not None and rule not in known:
        names = ", ".join(sorted(known)) or "none"
        raise UnknownRule(f"no rule with id {rule!r} in the loaded rules (known: {names})")
    match = ruleset.match
    if rule is not None and not known[rule].enabled:
        # A new rule is often drafted with `enabled: false` so the daemon does not ring while it is tried;
        # asked for by id, it is run here as if enabled (the daemon's rule set is left untouched).
        from .rules.matcher import Matcher

        match = Matcher([replace(known[rule], enabled=True)], regex_timeout=regex_timeout, max_text=max_text).match
    total, items = stored_items(store, since)
    if progress is not None:
        items = iter(progress(items, total))
    found: list[Hit] = []
    seen: set[str] = set()
    scanned = 0
    for item, stored_at in items:
        scanned += 1
        for m in match(item):
            if rule is not None and m.rule_id != rule:
                continue
            hit = Hit.from_match(known[m.rule_id], item, m, fired_at=stored_at)
            if hit.id not in seen:
                seen.add(hit.id)
                found.append(hit)
    stored = _stored_hit_ids(store, [h.id for h in found])
    new = tuple(h for h in found if h.id not in stored)
    recorded = 0
    if apply:
        for i in range(0, len(new), _BATCH):
            result = store.record_cycle([], [(h, SUPPRESSED) for h in new[i : i + _BATCH]], [])
            recorded += result.new_hits
        log.info("backfill recorded hits=%d items=%d rule=%s", recorded, scanned, rule or "*")
    return BackfillResult(hits=new, items_scanned=scanned, already_stored=len(found) - len(new), recorded=recorded)


def _stored_hit_ids(store: Store, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in store.conn.execute(f"SELECT id FROM hits WHERE id IN ({marks})", chunk))
    return found
