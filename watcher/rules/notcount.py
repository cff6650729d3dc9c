"""What is not a count: dates, years, times, ages, percentages, money and model designators.

The base of the number reader (``numbers.py``): a cursor over tokens with the
digit-group reader and the checks that turn a number away before it can
quantify a term. "les 14 drones Shahed-131/136" is 14 drones because the
designator digits are refused here; "a $500 million drone contract" is no
drones at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..text import Token, is_clause_break
from .lexicon import (
    AGE_PREV,
    COUNT_DETERMINERS,
    CURRENCY_CODES,
    CURRENCY_SIGNS,
    MODELS,
    MONTHS,
    PERCENT,
    QUALIFIERS,
    SCALES,
    TIME_AFTER,
    UNITS_EN,
    WEEKDAYS,
)

__all__ = ["Cursor"]

_QUALIFIERS_BY_LAST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _words, _kind in QUALIFIERS:
    _QUALIFIERS_BY_LAST.setdefault(_words[-1], []).append((_words, _kind))


class Cursor:
    """Tokens of one text with the readings every quantity form needs."""

    def __init__(self, tokens: Sequence[Token], text: str) -> None:
        self.t = tokens
        self.text = text
        self.n = len(tokens)

    def norm(self, i: int) -> str:
        return self.t[i].norm if 0 <= i < self.n else ""

    def raw(self, i: int) -> str:
        tok = self.t[i]
        return self.text[tok.start : tok.end]

    def joined(self, i: int) -> bool:
        """Token i follows token i-1 with only spaces between (same clause)."""
        return 0 < i < self.n and not is_clause_break(self.t[i].sep)

    # -- the forms ---------------------------------------------------------------------------------

    def digits(self, i: int) -> tuple[float, int, bool] | None:
        """A digit number at i: (value, end, grouped) with thousands groups and decimals merged."""
        t = self.t
        if not t[i].norm.isdigit():
            return None
        s = t[i].norm
        j = i + 1
        grouped = False
        while j < self.n and t[j].norm.isdigit() and len(t[j].norm) == 3 and len(s.replace(".", "")) <= 3 * 5:
            sep = t[j].sep
            if sep in (" ", "\u00a0", "\u202f", "\u2009") or (sep in (".", ",") and "." not in s):
                s += t[j].norm
                grouped = True
                j += 1
            else:
                break
        value = float(s)
        if not grouped and j < self.n and t[j].sep in (",", ".") and t[j].norm.isdigit():
            nxt = self.norm(j + 1)
            if len(t[j].norm) != 3 or nxt in SCALES:  # "1,5 million", "2.3 billion"
                value = float(f"{s}.{t[j].norm}")
                j += 1
        return value, j, grouped

    def not_a_count(self, i: int, end: int, value: float, grouped: bool) -> bool:
        """Dates, years, times, ages, percentages and model designators are never counts."""
        t = self.t
        prev = self.norm(i - 1)
        nxt = self.norm(end) if end < self.n else ""
        nsep = t[end].sep if end < self.n else ""
        sep = t[i].sep
        # Model designators: Shahed-131/136, X-59, Kh-59, F-16, and the 136 of 131/136; "Shahed 136", "MiG 31".
        if i > 0 and sep in ("-", "/", "‑") and (not t[i - 1].norm.isdigit() or self._designator(i - 1)):
            return True
        if i > 0 and sep.strip() == "" and self.model_name(i - 1):
            return True
        # Money: "$500 million", "USD 500", "500 €" (a currency word after the number is read as the term).
        if any(c in CURRENCY_SIGNS for c in sep) or (prev in CURRENCY_CODES and self.joined(i)):
            return True
        if (
            nsep in ("-", "‑")
            and nxt.isalpha()
            and nxt not in ("year", "years", "an", "ans")
            and not (end + 1 < self.n and t[end + 1].norm in ("year", "years"))
        ):
            return nxt not in UNITS_EN and len(nxt) <= 2  # "9-M"
        # Dates: "mardi 26 novembre", "November 26", "21 au mercredi 22 novembre", "21-22 novembre".
        if (nxt in MONTHS and self.joined(end)) or ((prev in MONTHS or prev in WEEKDAYS) and self.joined(i)):
            return True
        if nxt in ("au", "a", "to", "et", "and", "-") or nsep.strip() in ("-", "–"):
            k = end + 1 if nxt in ("au", "a", "to", "et", "and") else end
            if self.norm(k) in WEEKDAYS:
                k += 1
            if self.norm(k).isdigit() and self.norm(k + 1) in MONTHS:
                return True
        # Times: "3 a.m.", "0000 GMT", "15:30", "10 h 30".
        if nxt in TIME_AFTER or (nxt in ("a", "p") and self.norm(end + 1) == "m" and t[end + 1].sep == "."):
            return True
        if nsep == ":" and nxt.isdigit():
            return True
        if sep == ":" and prev.isdigit():
            return True
        # Ages: "71-year-old", "aged 71", "âgé de 71 ans".
        if nxt in ("year", "years", "yr") and (nsep in ("-", "‑") or self.norm(end + 1) == "old"):
            return True
        if prev in AGE_PREV or (prev == "de" and self.norm(i - 2) in AGE_PREV):
            return True
        # Percentages: "20 %", "20 pour cent", "20 per cent".
        if "%" in nsep or nxt in PERCENT or (nxt in ("pour", "per") and self.norm(end + 1) == "cent"):
            return True
        if end < self.n and self.text[t[end - 1].end : t[end - 1].end + 2].strip().startswith("%"):
            return True
        # Years: a bare 1900-2100, unless a qualifier or a determiner says it is a count
        # ("plus de 2000 drones", "les 2000 soldats").
        return (
            not grouped
            and value.is_integer()
            and 1900 <= value <= 2100
            and len(t[i].norm) == 4
            and prev not in COUNT_DETERMINERS
            and self.qualifier(i) is None
        )

    def model_name(self, i: int) -> bool:
        """Token i names a weapon model, so a number right after it is a designator ("Shahed 136")."""
        tok = self.t[i]
        if tok.elided or not tok.norm.isalpha():
            return False
        raw = self.raw(i)
        if tok.norm in MODELS:
            return len(raw) > 3 or raw[0].isupper()
        return len(raw) <= 6 and raw[0].isupper() and any(c.isupper() for c in raw[1:]) and not raw.isupper()

    def money_after(self, end: int) -> bool:
        """A currency sign right after a quantity: "500 €", "1,5 million $"."""
        after = self.t[end].sep if end < self.n else self.text[self.t[end - 1].end : self.t[end - 1].end + 3]
        return any(c in CURRENCY_SIGNS for c in after)

    def _designator(self, i: int) -> bool:
        return i > 0 and self.t[i].sep in ("-", "/") and not self.t[i - 1].norm.isdigit()

    def qualifier(self, i: int) -> tuple[str, int] | None:
        """The qualifier ending just before token i: (kind, start)."""
        if i <= 0:
            return None
        for words, kind in _QUALIFIERS_BY_LAST.get(self.t[i - 1].norm, ()):
            k = len(words)
            if i - k < 0:
                continue
            if all(self.t[i - k + m].norm == words[m] for m in range(k)) and all(
                self.joined(i - k + m + 1) for m in range(k)
            ):
                return kind, i - k
        return None
