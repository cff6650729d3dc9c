"""Which spans a hit shows: the ones that explain why the rule fired.

A rule can hold on hundreds of occurrences ("russe" in every paragraph); a
notification has room for a few. Cutting the spans sorted by position kept 20
mentions of Russia and none of North Korea for a rule that needs both. So the
condition tree hands over its evidence *in priority order*: every branch that
held contributes its best span before any branch contributes a second one
(``interleave``), and a count's span (the one with the value) comes first.
``select`` then prefers distinct texts, collapses nested or overlapping spans
to the one that says most ("188 drones de combat" over "188 drones"), applies
the cap, and orders what is left by position, as a reader expects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from ..models import FIELDS, Evidence
from ..text import word_keys

__all__ = ["MAX_EVIDENCE", "Unit", "by_value", "interleave", "select"]

MAX_EVIDENCE = 8
REPEATS = 2  # occurrences of one text shown at most: a second one gives another context
Unit = tuple[Evidence, ...]  # spans shown together: one phrase, or the two sides of a near:


def _position(e: Evidence) -> tuple[int, int, int]:
    return (FIELDS.index(e.field) if e.field in FIELDS else len(FIELDS), e.start, -e.end)


def by_value(units: Iterable[Unit]) -> list[Unit]:
    """A count's units: the highest value first (the one the hit reports), then by position."""
    return sorted(units, key=lambda u: (-(u[0].value or 0), _position(u[0])))


def interleave(branches: Sequence[list[Unit]]) -> list[Unit]:
    """Round-robin over the branches that held, counts first: each branch is shown before any repeats."""
    ordered = sorted(branches, key=lambda b: not (b and b[0][0].value is not None))
    out: list[Unit] = []
    longest = max((len(b) for b in ordered), default=0)
    for k in range(longest):
        out.extend(b[k] for b in ordered if k < len(b))
    return out


def _representatives(spans: Iterable[Evidence]) -> dict[Evidence, Evidence]:
    """Each span -> the span shown for it: overlapping spans collapse to one.

    The one kept carries a value if any does (the highest: "trois des quatre missiles" shows the 4),
    then is the longest ("188 drones de combat" absorbs "188 drones").
    """
    rep: dict[Evidence, Evidence] = {}
    cluster: list[Evidence] = []
    cluster_end = -1

    def close() -> None:
        if cluster:
            best = max(cluster, key=lambda e: (e.value is not None, e.value or 0, e.end - e.start, -e.start))
            for e in cluster:
                rep[e] = best

    for e in sorted(set(spans), key=_position):
        if cluster and (e.field != cluster[0].field or e.start >= cluster_end):
            close()
            cluster, cluster_end = [], -1
        cluster.append(e)
        cluster_end = max(cluster_end, e.end)
    close()
    return rep


def select(units: Sequence[Unit], cap: int = MAX_EVIDENCE) -> tuple[Evidence, ...]:
    """At most ``cap`` spans that explain the hit, in reading order.

    A first pass takes only units that show a new text (compared as phrases are:
    "missiles" repeats "missile"; a negated mention differs from a plain one, so
    a hit that is not negated always shows why); a second fills the room left
    with a second occurrence of a text at most, for its context, never a third.
    """
    if len(units) == 1 and len(units[0]) <= cap:
        return tuple(sorted(set(units[0]), key=_position))
    rep = _representatives(e for u in units for e in u)
    chosen: dict[Evidence, None] = {}
    shown: dict[tuple[str, bool], int] = {}
    for most in (1, REPEATS):
        for unit in units:
            new = [e for e in dict.fromkeys(rep[e] for e in unit) if e not in chosen]
            if not new or len(chosen) + len(new) > cap:
                continue
            keys = [(_key(e.text), e.negated) for e in new]
            if all(shown.get(k, 0) >= most for k in keys):
                continue
            for e, k in zip(new, keys, strict=True):
                chosen[e] = None
                shown[k] = shown.get(k, 0) + 1
        if len(chosen) >= cap:
            break
    return tuple(sorted(chosen, key=_position))


@lru_cache(maxsize=4096)
def _key(text: str) -> str:
    return " ".join(word_keys(text))
