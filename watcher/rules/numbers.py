"""Reading quantities out of wire text, as a desk editor would.

A quantity is an interval (``quantity.py``): the reader below says what the
text guarantees, the rule bounds are checked there.

Numbers that are not counts (dates, years, times, ages, percentages, money,
digits of model designators such as Shahed-131/136 or Kh-59) are turned away
by the cursor this reader builds on (``notcount.py``). ``text2num`` reads
compound number words; this module handles what it leaves out: digit groups,
decimals with scale words, collectives, halves, vague plurals, ranges and
qualifiers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from text_to_num import text2num

from ..text import Token, is_clause_break
from .lexicon import (
    ARTICLES,
    COLLECTIVES,
    HALF,
    JOINERS,
    LINKS,
    NUMBER_WORDS,
    OF,
    QUALIFIERS,
    SCALES,
    SMALL,
    VAGUE,
    VAGUE_DET,
)
from .notcount import Cursor
from .quantity import INF, Bounds, Quantity, whole

__all__ = ["Bounds", "Quantity", "read_quantities"]

RANGE_OPENERS = frozenset(("de", "from", "entre", "between"))  # part of the span: "de 100 à 150 drones"
MAX_NUMBER_WORDS = 12  # "deux cent quatre-vingt-dix-sept mille trois cent ..." never needs more


class _Reader(Cursor):
    def words(self, i: int) -> tuple[float, int] | None:
        """Number words at i ("cent quatre-vingt-huit", "twenty-one", "un", "a")."""
        t = self.t
        if t[i].norm not in NUMBER_WORDS and t[i].norm not in ARTICLES:
            return None
        if t[i].norm in ("a", "an") and self.raw(i).lower() not in ("a", "an"):
            return None  # French "à"
        if t[i].norm == "cent" and self.norm(i - 1) in ("pour", "per"):
            return None  # "20 pour cent"
        j = i + 1
        while (
            j < self.n
            and j - i < MAX_NUMBER_WORDS
            and self.joined(j)
            and (t[j].norm in NUMBER_WORDS or (t[j].norm in JOINERS and self.norm(j + 1) in NUMBER_WORDS))
        ):
            j += 1
        while j > i + 1 and t[j - 1].norm in JOINERS:
            j -= 1
        words = [t[k].norm for k in range(i, j)]
        if words[0] in ("a", "an"):
            if len(words) == 1:
                return 1.0, j
            words[0] = "one"
        if len(words) == 1 and words[0] in ("un", "une", "one"):
            return 1.0, j
        for k in range(len(words), 0, -1):
            if words[k - 1] in JOINERS:
                continue
            phrase = " ".join(words[:k])
            for lang in ("fr", "en"):
                try:
                    return float(text2num(phrase, lang)), i + k
                except ValueError:
                    continue
        return None

    def base(self, i: int) -> Quantity | None:
        """The quantity starting at token i, before qualifiers."""
        t = self.t
        norm = t[i].norm
        # Vague plurals: "des milliers", "les milliers", "dozens of", "des dizaines de milliers".
        j = i + 1 if (norm in VAGUE_DET and self.norm(i + 1) in VAGUE and self.joined(i + 1)) else i
        if t[j].norm in VAGUE:
            return self.vague(i, j)
        small = self.small(i)
        if small is not None:
            return small
        read = self.digits(i)
        low: float
        if read is not None:
            low, end, grouped = read
            if self.not_a_count(i, end, low, grouped):
                return None
        elif norm == "half" and self.norm(i + 1) in ("a", "an") and self.joined(i + 1):
            low, end = 1.0, i + 2  # "half a dozen": the half is applied with the scale word below
        else:
            wr = self.words(i)
            if wr is None:
                return None
            low, end = wr
        low, high, end = self.range_end(i, end, low, read is not None)
        start = i - 1 if high != low and self.norm(i - 1) in RANGE_OPENERS and self.joined(i) else i
        # Scale words and collectives after the number: "1,5 million", "deux douzaines", "a dozen",
        # "une demi-douzaine", "half a million", "deux à trois millions".
        factor = 1.0
        if self.norm(end) in HALF and (self.norm(end + 1) in SCALES or self.norm(end + 1) in COLLECTIVES):
            factor, end = 0.5, end + 1
        elif norm == "half":
            factor = 0.5
        nxt = self.norm(end)
        scaled = False
        if nxt in SCALES and self.joined(end) and not (nxt in ("mille", "thousand") and read is None):
            factor *= SCALES[nxt]
            end += 1
            scaled = True
        elif nxt in COLLECTIVES or (nxt[:-1] in COLLECTIVES and nxt.endswith("s") and high > 1):
            factor *= COLLECTIVES[nxt if nxt in COLLECTIVES else nxt[:-1]]
            end += 1
            scaled = True
            if self.norm(end) in OF and self.norm(end + 1) in VAGUE and self.joined(end + 1):
                factor *= VAGUE[self.norm(end + 1)]  # "une dizaine de milliers"
                end += 2
        if factor == 0.5 and not scaled:
            return None  # "half a" without a scale word: "half a drone" is not a count
        if self.money_after(end):
            return None
        if (end - i > 1 or scaled) and self.norm(end) in OF and self.joined(end):
            end += 1
        low, high = low * factor, high * factor
        return Quantity(low, high, False, False, whole(low), start, end, start)

    def vague(self, i: int, j: int) -> Quantity | None:
        """ "des centaines de", "dozens of", "les milliers de": at least two of the unit (one with "les")."""
        unit = VAGUE[self.t[j].norm]
        if self.t[j].norm == "tens" and not (self.norm(j + 1) in OF and self.norm(j + 2) in VAGUE):
            return None
        low = float(unit * (1 if self.norm(i) == "les" else 2))
        end = j + 1
        while self.norm(end) in OF and self.norm(end + 1) in VAGUE and self.joined(end + 1):
            low *= VAGUE[self.norm(end + 1)]
            end += 2
        if self.norm(end) in OF and self.joined(end):
            end += 1
        elif j == i:
            return None  # without a determiner, "of"/"de" must follow: "hundreds of drones"
        return Quantity(low, INF, False, False, whole(low), i, end, i)

    def small(self, i: int) -> Quantity | None:
        """Vague small plurals: "plusieurs drones", "a few drones", "several hundred", "a couple of"."""
        norm = self.t[i].norm
        j = i
        if norm in ("a", "an") and self.raw(i).lower() == norm and self.joined(i + 1):
            if self.norm(i + 1) == "couple":
                end = i + 3 if self.norm(i + 2) == "of" and self.joined(i + 2) else i + 2
                return Quantity(2.0, 2.0, False, False, 2, i, end, i)
            j = i + 1
        word = self.norm(j)
        if word not in SMALL or (word == "few") != (j > i):
            return None  # "few drones" has no lower bound; French "il y a quelques jours" is no article
        most = SMALL[word]
        end = j + 1
        unit = 1.0
        scale = self.norm(end)
        if scale in SCALES and scale not in ("mille", "mln", "mds", "bn") and self.joined(end):
            unit = SCALES[scale]  # "several hundred" (VAGUE reads "plusieurs centaines")
            end += 1
            if self.norm(end) in OF and self.joined(end):
                end += 1
        elif scale in NUMBER_WORDS and self.raw(end).lower() in ("hundred", "cent", "cents"):
            unit = 100.0
            end += 1
        high = INF if not most else most * unit
        return Quantity(2 * unit, high, False, False, whole(2 * unit), i, end, i)

    def range_end(self, i: int, end: int, low: float, digits: bool) -> tuple[float, float, int]:
        """The high end of a range read at i ("10-15", "10 à 15", "entre 10 et 15", "deux à trois cents")."""
        t = self.t
        nxt = self.norm(end)
        connectors: tuple[str, ...] = ("a", "to", "ou", "or")
        if self.norm(i - 1) in ("entre", "between") and self.joined(i):
            connectors = ("et", "and")
        k = end + 1 if nxt in connectors else end
        if k >= self.n or not self.joined(k) or (k == end and not (digits and t[k].sep in ("-", "–"))):
            return low, low, end
        if digits:
            high = self.digits(k) if t[k].norm.isdigit() else None
            if high is not None and high[0] > low and not self.not_a_count(k, high[1], high[0], high[2]):
                return low, high[0], high[1]
            return low, low, end
        words = self.words(k) if k > end and t[k].norm not in ARTICLES else None
        if words is None or words[0] <= low:
            return low, low, end
        # "deux à trois cents": the scale written once applies to both ends.
        unit = self.words_value(k)
        if unit is not None and low < unit < words[0] and words[0] % unit == 0:
            low *= words[0] / unit
        return low, words[0], words[1]

    def words_value(self, k: int) -> float | None:
        for lang in ("fr", "en"):
            try:
                return float(text2num(self.t[k].norm, lang))
            except ValueError:
                continue
        return None

    def at(self, i: int) -> Quantity | None:
        q = self.base(i)
        if q is None:
            return None
        qual = self.qualifier(i)
        if qual is None:
            return q
        kind, start = qual
        v = q.low
        if kind == "gt":
            low, high, lo_open, hi_open = v, INF, True, False
        elif kind == "ge":
            low, high, lo_open, hi_open = v, INF, False, False
        elif kind == "almost":
            low, high, lo_open, hi_open = math.floor(v * 0.9), v, False, True
        elif kind == "le":
            low, high, lo_open, hi_open = 0, q.high if q.high != INF else v, False, False
        elif kind == "lt":
            low, high, lo_open, hi_open = 0, v, False, True
        else:
            low, high, lo_open, hi_open = q.low, q.high, q.low_open, q.high_open
        return Quantity(low, high, lo_open, hi_open, q.value, start, q.end, i)


# Quick rejection: a quantity can only start with a digit or one of these words.
_CANDIDATES = NUMBER_WORDS | ARTICLES | frozenset(VAGUE) | VAGUE_DET | frozenset(SMALL) | HALF
_DIGITS = frozenset("0123456789")
# Words that can stand inside a quantity expression: reading may not start right after one.
_INSIDE = (
    _CANDIDATES
    | JOINERS
    | OF
    | frozenset(SCALES)
    | frozenset(COLLECTIVES)
    | frozenset(w for words, _ in QUALIFIERS for w in words)
    | frozenset(w for words in LINKS for w in words)
    | frozenset(("a", "to", "ou", "or", "et", "and", "entre", "between"))
)


def read_quantities(
    tokens: Sequence[Token], text: str, start: int = 0, stop: int | None = None
) -> dict[int, list[Quantity]]:
    """The quantities starting in ``tokens[start:stop]``, keyed by the index of the token right after each.

    A term at token index ``f`` is quantified by a quantity ending at ``f`` (or a
    few modifier words earlier): the lookup the count condition needs.
    Reading goes left to right, so ``start`` must not fall inside a number
    ("cent quatre-vingt-huit" read from "quatre" would be 88): see ``safe_start``.
    """
    reader = _Reader(tokens, text)
    out: dict[int, list[Quantity]] = {}
    n = len(tokens)
    stop = n if stop is None else min(stop, n)
    free = start  # tokens before this index belong to a quantity already read
    for i in range(start, stop):
        norm = tokens[i].norm
        if i < free or not (norm in _CANDIDATES or norm[0] in _DIGITS):
            continue
        norm = tokens[i].norm
        if norm in VAGUE_DET and norm not in SMALL and not (i + 1 < n and tokens[i + 1].norm in VAGUE):
            continue
        q = reader.at(i)
        if q is not None:
            out.setdefault(q.end, []).append(q)
            free = q.end
    return out


def safe_start(tokens: Sequence[Token], i: int, limit: int = 40) -> int:
    """The closest index <= i where no quantity can be under way (the previous word cannot be in one)."""
    floor = max(0, i - limit)
    while i > floor and (tokens[i - 1].norm in _INSIDE or tokens[i - 1].norm[0] in _DIGITS):
        i -= 1
    return i


def link_before(tokens: Sequence[Token], q: Quantity, by_end: dict[int, list[Quantity]]) -> list[Quantity]:
    """Quantities X in "X des Y", "X out of Y", "X sur Y" where Y is ``q``: they count the same term."""
    out: list[Quantity] = []
    for words in LINKS:
        k = len(words)
        s = q.start - k
        if s <= 0:
            continue
        if all(tokens[s + m].norm == words[m] for m in range(k)) and not any(
            is_clause_break(tokens[s + m].sep) for m in range(k + 1)
        ):
            out.extend(by_end.get(s, ()))
            if out:
                break
    return out


def link_after(tokens: Sequence[Token], end: int) -> int:
    """Length of a link phrase ("des", "of the") starting at ``end``, or 0: "l'un des missiles"."""
    for words in LINKS:
        k = len(words)
        if (
            end + k <= len(tokens)
            and all(tokens[end + m].norm == words[m] for m in range(k))
            and not any(is_clause_break(tokens[end + m].sep) for m in range(k + 1) if end + m < len(tokens))
        ):
            return k
    return 0
