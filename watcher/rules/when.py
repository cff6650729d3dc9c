"""The ``when:`` condition parser: located YAML data -> the condition tree, every problem reported.

Kept apart from the rule-level checks in ``validate.py``: this is where the
rule language itself is read (phrases, lists, any/all/not, near, regex, count
and its bounds), and where most "did you mean" messages come from.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

import regex

from ..text import word_keys
from .conditions import AllOf, AnyOf, Condition, Count, Near, Not, Phrase, Regex
from .loader import Located, Path_
from .quantity import Bounds

__all__ = ["BOUND_KEYS", "CONDITION_KEYS", "Conditions", "did_you_mean", "dotted", "type_name"]

BOUND_KEYS = ("at_least", "more_than", "at_most", "less_than", "equals")
CONDITION_KEYS = ("any", "all", "not", "near", "regex", "count")
_EXTRA_KEYS = {"near": ("within",), "count": BOUND_KEYS}
REGEX_FLAGS = regex.IGNORECASE | regex.V0


def did_you_mean(word: Any, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def dotted(path: Path_) -> str:
    parts = [str(p) if isinstance(p, str) else f"[{p}]" for p in path[1:]]
    return ".".join(parts).replace(".[", "[") or "rule"


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


class Conditions:
    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.ok = True

    def fail(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.ok = False
        self.doc.problem(path, message, key=key)

    def phrase(self, value: Any, path: Path_) -> Phrase | None:
        if not isinstance(value, str):
            self.fail(path, f"{dotted(path)}: expected a phrase (text), got {type_name(value)} {value!r}")
            return None
        keys = _phrase_keys(value)
        if not keys:
            self.fail(path, f"{dotted(path)}: phrase {value!r} has no words to match")
            return None
        return Phrase(value, " " + " ".join(keys) + " ", len(keys))

    def phrases(self, value: Any, path: Path_) -> list[Phrase]:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            self.fail(path, f"{dotted(path)}: the list of phrases is empty")
        out = []
        for i, v in enumerate(items):
            p = self.phrase(v, (*path, i) if isinstance(value, list) else path)
            if p is not None:
                out.append(p)
        return out

    def parse(self, value: Any, path: Path_) -> Condition | None:
        if isinstance(value, str):
            return self.phrase(value, path)
        if isinstance(value, list):
            return self._list(value, path, AnyOf)
        if not isinstance(value, dict):
            self.fail(
                path,
                f"{dotted(path)}: a condition is a phrase, a list, or a mapping with one of "
                f"{', '.join(CONDITION_KEYS)}; got {type_name(value)} {value!r}",
            )
            return None
        forms = [k for k in value if k in CONDITION_KEYS]
        for k in value:
            if k in CONDITION_KEYS:
                continue
            allowed = [x for f in forms for x in _EXTRA_KEYS.get(f, ())] if forms else [*BOUND_KEYS, "within"]
            if k in allowed:
                continue
            hint = did_you_mean(k, [*CONDITION_KEYS, *BOUND_KEYS, "within"])
            where = f" in a {forms[0]} condition" if forms else ""
            self.fail((*path, k), f"unknown condition key {k!r}{where}{hint}", key=True)
        if len(forms) != 1:
            if len(forms) > 1:
                self.fail(
                    path,
                    f"{dotted(path)}: one condition per mapping, found {', '.join(forms)}; use all: [...]",
                )
            elif not any(k not in CONDITION_KEYS for k in value):
                self.fail(path, f"{dotted(path)}: empty condition")
            elif all(k in BOUND_KEYS or k == "within" for k in value):
                self.fail(path, f"{dotted(path)}: {', '.join(map(str, value))} without count: or near:")
            return None
        form = forms[0]
        sub = (*path, form)
        body = value[form]
        if form in ("any", "all"):
            if not isinstance(body, list):
                self.fail(sub, f"{dotted(sub)}: expected a list of conditions, got {type_name(body)} {body!r}")
                return None
            return self._list(body, sub, AnyOf if form == "any" else AllOf)
        if form == "not":
            inner = self.parse(body, sub)
            return None if inner is None else Not(inner)
        if form == "regex":
            return self.regex(body, sub)
        if form == "near":
            return self.near(value, body, path)
        return self.count(value, body, path)

    def _list(self, items: list[Any], path: Path_, kind: type[AnyOf] | type[AllOf]) -> Condition | None:
        if not items:
            self.fail(path, f"{dotted(path)}: empty list of conditions")
            return None
        parsed = [self.parse(v, (*path, i)) for i, v in enumerate(items)]
        if any(p is None for p in parsed):
            return None
        return kind(tuple(p for p in parsed if p is not None))

    def regex(self, body: Any, path: Path_) -> Regex | None:
        if not isinstance(body, str) or not body:
            self.fail(
                path,
                f"{dotted(path)}: expected a regular expression (text), got {type_name(body)} {body!r}",
            )
            return None
        try:
            compiled = regex.compile(body, REGEX_FLAGS)
        except regex.error as exc:
            at = getattr(exc, "pos", None)
            pos = f" at position {at}" if at is not None else ""
            msg = str(exc.msg) if hasattr(exc, "msg") else str(exc)
            self.fail(path, f"invalid regex {body!r}: {msg}{pos}")
            return None
        return Regex(body, compiled)

    def near(self, value: dict[str, Any], body: Any, path: Path_) -> Near | None:
        sub = (*path, "near")
        if not isinstance(body, list) or len(body) != 2:
            self.fail(sub, f"near: expected a list of exactly two phrases (or lists of phrases), got {body!r}")
            return None
        within = value.get("within", 10)
        if isinstance(within, bool) or not isinstance(within, int) or within < 0:
            self.fail((*path, "within"), f"within: expected a whole number of words >= 0, got {within!r}")
            return None
        sides: list[Condition] = []
        for i, side in enumerate(body):
            ps = self.phrases(side, (*sub, i))
            if not ps:
                return None
            sides.append(ps[0] if len(ps) == 1 and not isinstance(side, list) else AnyOf(tuple(ps)))
        return Near(sides[0], sides[1], within)

    def count(self, value: dict[str, Any], body: Any, path: Path_) -> Count | None:
        terms = self.phrases(body, (*path, "count"))
        bounds: dict[str, float] = {}
        for k in BOUND_KEYS:
            if k not in value:
                continue
            v = value[k]
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                self.fail((*path, k), f"{k}: expected a number >= 0, got {type_name(v)} {v!r}")
                continue
            bounds[k] = v
        if not any(k in value for k in BOUND_KEYS):
            self.fail(path, f"count needs at least one bound: {', '.join(BOUND_KEYS)}")
            return None
        b = Bounds(**bounds)
        why = b.contradiction()
        if why:
            self.fail(path, why)
            return None
        if not terms or len(bounds) != sum(k in value for k in BOUND_KEYS):
            return None
        return Count(tuple(terms), b)


@functools.lru_cache(maxsize=65536)
def _phrase_keys(value: str) -> tuple[str, ...]:
    """Rule bases repeat their phrases ("drone" in many rules): fold each distinct one once per process."""
    return tuple(word_keys(value))
