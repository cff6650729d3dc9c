"""The parsed condition tree of a rule (what ``Rule.when`` holds).

Immutable nodes, built once by the loader; the matcher walks them. Every
phrase is stored already folded (``key``) so matching never re-folds rule text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Union

from .numbers import Bounds


@dataclass(frozen=True)
class Phrase:
    """Words in this order, as whole words, compared after folding."""

    text: str
    key: str  # " w1 w2 " folded and stemmed: the Aho-Corasick pattern
    nwords: int

    has_count = False

    def phrases(self) -> Iterator[Phrase]:
        yield self


@dataclass(frozen=True)
class _Group:
    items: tuple[Condition, ...]

    @property
    def has_count(self) -> bool:
        return any(c.has_count for c in self.items)

    def phrases(self) -> Iterator[Phrase]:
        for c in self.items:
            yield from c.phrases()


@dataclass(frozen=True)
class AnyOf(_Group):
    """At least one item holds."""


@dataclass(frozen=True)
class AllOf(_Group):
    """Every item holds."""


@dataclass(frozen=True)
class Not:
    item: Condition

    @property
    def has_count(self) -> bool:
        return self.item.has_count

    def phrases(self) -> Iterator[Phrase]:
        yield from self.item.phrases()


@dataclass(frozen=True)
class Near:
    first: Condition  # a Phrase or an AnyOf of phrases
    second: Condition
    within: int = 10

    has_count = False

    def phrases(self) -> Iterator[Phrase]:
        yield from self.first.phrases()
        yield from self.second.phrases()


@dataclass(frozen=True)
class Regex:
    pattern: str
    compiled: Any = field(compare=False, repr=False)  # regex.Pattern[str]

    has_count = False

    def phrases(self) -> Iterator[Phrase]:
        return iter(())


@dataclass(frozen=True)
class Count:
    terms: tuple[Phrase, ...]
    bounds: Bounds

    has_count = True

    def phrases(self) -> Iterator[Phrase]:
        yield from self.terms


Condition = Union[Phrase, AnyOf, AllOf, Not, Near, Regex, Count]  # noqa: UP007 (used at runtime)


def needs_terms(c: Condition) -> bool:
    """True when the condition cannot hold on a text where none of its phrases occur.

    The matcher skips such rules unless one of their phrases was found: the
    reason matching cost does not grow with the number of rules.
    """
    if isinstance(c, Phrase | Count | Near):
        return True
    if isinstance(c, Regex | Not):
        return False
    if isinstance(c, AnyOf):
        return all(needs_terms(x) for x in c.items)
    return any(needs_terms(x) for x in c.items)
