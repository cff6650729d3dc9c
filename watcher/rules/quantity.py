"""What a text guarantees about a count: an interval, and the rule bounds it must satisfy.

A quantity is an interval, not a number, because wires hedge: "plus de 200"
says the count is above 200, "près de 300" says it is just under 300, "des
milliers" says at least two thousand. A rule bound holds only when the interval
*guarantees* it (``Quantity.satisfies``), so "plus d'une douzaine" never passes
``at_least: 20`` and "almost 300" never passes ``at_least: 300``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["INF", "Bounds", "Quantity", "point", "whole"]

INF = math.inf


@dataclass(frozen=True, slots=True)
class Bounds:
    at_least: float | None = None
    more_than: float | None = None
    at_most: float | None = None
    less_than: float | None = None
    equals: float | None = None

    def contradiction(self) -> str | None:
        """Why no number can satisfy these bounds together, or None."""
        lo, lo_open, hi, hi_open = -INF, False, INF, False
        for v, is_open in ((self.at_least, False), (self.more_than, True), (self.equals, False)):
            if v is not None and (v > lo or (v == lo and is_open)):
                lo, lo_open = v, is_open
        for v, is_open in ((self.at_most, False), (self.less_than, True), (self.equals, False)):
            if v is not None and (v < hi or (v == hi and is_open)):
                hi, hi_open = v, is_open
        if lo > hi or (lo == hi and (lo_open or hi_open)):
            return "contradictory bounds: no number satisfies " + self.describe()
        return None

    def describe(self) -> str:
        names = ("at_least", "more_than", "at_most", "less_than", "equals")
        return ", ".join(f"{n}: {_fmt(getattr(self, n))}" for n in names if getattr(self, n) is not None)


def _fmt(v: float | None) -> str:
    return str(int(v)) if v is not None and float(v).is_integer() else str(v)


@dataclass(frozen=True, slots=True)
class Quantity:
    """What the text guarantees about a count: every value in [low, high] (open ends excluded)."""

    low: float
    high: float
    low_open: bool
    high_open: bool
    value: int | float  # the number as written ("plus de 200" -> 200, "des milliers" -> 2000)
    start: int  # token index of the first token (qualifier included)
    end: int  # token index just past the quantity (a trailing "de"/"of" included)
    num_start: int  # token index where the number itself starts (after any qualifier)

    def satisfies(self, b: Bounds) -> bool:
        lo, hi, lo_open, hi_open = self.low, self.high, self.low_open, self.high_open
        # Counts are whole: "more than 199" guarantees 200.
        if lo_open and lo != INF and float(lo).is_integer():
            lo, lo_open = lo + 1, False
        if hi_open and hi != INF and float(hi).is_integer():
            hi, hi_open = hi - 1, False
        if b.at_least is not None and lo < b.at_least:
            return False
        if b.more_than is not None and not (lo > b.more_than or (lo == b.more_than and lo_open)):
            return False
        if b.at_most is not None and hi > b.at_most:
            return False
        if b.less_than is not None and not (hi < b.less_than or (hi == b.less_than and hi_open)):
            return False
        return not (b.equals is not None and not (lo == hi == b.equals and not lo_open and not hi_open))


def whole(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def point(v: float, start: int, end: int) -> Quantity:
    return Quantity(v, v, False, False, whole(v), start, end, start)
