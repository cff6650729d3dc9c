"""One matcher for every rule: one scan of an item finds every phrase of every rule.

All phrases of all rules go into one Aho-Corasick automaton over folded words
(`` w1 w2 `` with the surrounding spaces, so only whole words match). A scan
reports every occurrence, overlapping and nested ones included ("drones" inside
"drones kamikazes"), which a regex alternation would drop. Conditions are then
evaluated only for the rules one of whose phrases occurred (plus the few that
can hold without any, such as ``not:`` or ``regex:``), so the cost of an item
barely depends on the number of rules.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, NamedTuple

import ahocorasick

from ..models import FIELDS, Evidence, Item, Match, Rule
from ..text import Token, is_clause_break, tokenize
from .conditions import AllOf, AnyOf, Condition, Count, Near, Not, Phrase, Regex, needs_terms
from .evidence import Unit, by_value, interleave, select
from .lexicon import CURRENCIES, NEGATIONS, NEGATIONS_WITH_NE, NOT_NEGATING, NUMBER_WORDS, STOP
from .numbers import Quantity, link_after, link_before, read_quantities, safe_start

log = logging.getLogger(__name__)

MAX_GAP = 3  # modifier words allowed between a number and its term: "67 long-range drones"
NEG_WINDOW = 4  # a negation cue governs a phrase this many words ahead: "il n'y a pas eu de victimes"
QUANTITY_WINDOW = 16  # words before a count term searched for its number: gap, "X des Y", qualifiers


class _Field:
    """One field of one item, tokenized once; numbers are read only if a count needs them."""

    __slots__ = ("_kpos", "_neg", "_quantities", "name", "text", "tokens", "word_tokens")

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.tokens: list[Token] = tokenize(text)
        self.word_tokens: list[int] = []  # token index of each word (elided tokens are not words)
        self._kpos: list[int] | None = None
        self._quantities: dict[int, dict[int, list[Quantity]]] | None = None
        self._neg: dict[int, bool] = {}

    @property
    def kpos(self) -> list[int]:
        """Token index -> index among words, to count the words between two phrases."""
        if self._kpos is None:
            kpos = [0] * len(self.tokens)
            w = 0
            for ti, tok in enumerate(self.tokens):
                kpos[ti] = w
                if not tok.elided:
                    w += 1
            self._kpos = kpos
        return self._kpos

    def quantities_before(self, first: int) -> dict[int, list[Quantity]]:
        """Quantities in the few words before token ``first``, read once per place.

        Numbers are read only where a count term occurs, not over the whole
        text: most items mention no counted term at all.
        """
        if self._quantities is None:
            self._quantities = {}
        found = self._quantities.get(first)
        if found is None:
            start = safe_start(self.tokens, max(0, first - QUANTITY_WINDOW))
            found = self._quantities[first] = read_quantities(self.tokens, self.text, start, first)
        return found

    def negated(self, i: int) -> bool:
        """Whether a negation cue governs the token at i (same clause, a few words before)."""
        cached = self._neg.get(i)
        if cached is not None:
            return cached
        result = False
        toks = self.tokens
        j = i
        seen = 0
        while j > 0 and seen < NEG_WINDOW:
            if is_clause_break(toks[j].sep):
                break
            j -= 1
            tok = toks[j]
            if tok.elided:
                continue
            seen += 1
            nxt = toks[j + 1].norm if j + 1 < len(toks) else ""
            if (tok.norm in NEGATIONS and nxt not in NOT_NEGATING) or (tok.norm in NEGATIONS_WITH_NE and nxt == "ne"):
                result = True
                break
        self._neg[i] = result
        return result

    def evidence(self, first: int, last: int, value: float | int | None = None) -> Evidence:
        start, end = self.tokens[first].start, self.tokens[last].end
        return Evidence(self.name, start, end, self.text[start:end], value, self.negated(first))


class Occ(NamedTuple):
    field: _Field
    first: int  # full token index of the first word
    last: int


class _Skip(Exception):
    """A rule's regex timed out on this item: skip the rule for this item."""


class Matcher:
    """Every enabled rule compiled into one automaton."""

    def __init__(self, rules: Sequence[Rule], *, regex_timeout: float = 0.2, max_text: int = 200_000) -> None:
        self.rules = [r for r in rules if r.enabled]
        self.regex_timeout = regex_timeout
        self.max_text = max_text
        self._term_ids: dict[str, int] = {}
        self._term_words: list[int] = []
        term_rules: list[set[int]] = []
        self._always: list[int] = []
        for ri, rule in enumerate(self.rules):
            cond: Condition = rule.when
            if not needs_terms(cond):
                self._always.append(ri)
            for phrase in cond.phrases():
                tid = self._term_ids.get(phrase.key)
                if tid is None:
                    tid = self._term_ids[phrase.key] = len(self._term_words)
                    self._term_words.append(phrase.nwords)
                    term_rules.append(set())
                term_rules[tid].add(ri)
        self._term_rules = [tuple(sorted(s)) for s in term_rules]
        self._automaton: Any = None
        if self._term_ids:
            automaton = ahocorasick.Automaton()
            for key, tid in self._term_ids.items():
                automaton.add_word(key, (tid, len(key)))
            automaton.make_automaton()
            self._automaton = automaton
        self._timed_out: set[tuple[str, str]] = set()

    # -- scanning ----------------------------------------------------------------------------------

    def _scan(self, item: Item) -> tuple[dict[int, list[Occ]], list[_Field]]:
        occ: dict[int, list[Occ]] = {}
        fields = []
        for name in FIELDS:
            text = item.text(name)
            if not text:
                continue
            fld = _Field(name, text[: self.max_text])
            fields.append(fld)
            if self._automaton is None:
                continue
            toks = fld.tokens
            word_tokens = fld.word_tokens = [ti for ti, tok in enumerate(toks) if not tok.elided]
            words = [toks[ti].key for ti in word_tokens]
            # Start offset of each word in the key string, to map a hit back to its tokens.
            wstart = list(accumulate([len(w) + 1 for w in words], initial=1))
            term_words = self._term_words
            for end, (tid, length) in self._automaton.iter(" " + " ".join(words) + " "):
                widx = bisect_left(wstart, end - length + 2)
                occ.setdefault(tid, []).append(Occ(fld, word_tokens[widx], word_tokens[widx + term_words[tid] - 1]))
        return occ, fields

    def match(self, item: Item) -> list[Match]:
        if not self.rules:
            return []
        occ, fields = self._scan(item)
        candidates: set[int] = set(self._always)
        for tid in occ:
            candidates.update(self._term_rules[tid])
        lang = (item.language or "").lower().split("-")[0].split("_")[0]
        out: list[Match] = []
        for ri in sorted(candidates):
            rule = self.rules[ri]
            if rule.languages and lang and lang not in rule.languages:
                continue
            ev = _Eval(self, rule, item, occ, fields)
            try:
                ok, evidence = ev.eval(rule.when)
            except _Skip:
                continue
            if not ok:
                continue
            spans = {e for unit in evidence for e in unit}
            values = [e.value for e in spans if e.value is not None]
            out.append(
                Match(
                    rule_id=rule.id,
                    value=max(values) if values else None,
                    negated=bool(spans) and all(e.negated for e in spans),
                    evidence=select(evidence),
                )
            )
        return out

    def term_id(self, phrase: Phrase) -> int:
        return self._term_ids[phrase.key]


class _Eval:
    """Evaluates one rule's condition tree over one scanned item."""

    def __init__(self, m: Matcher, rule: Rule, item: Item, occ: dict[int, list[Occ]], fields: list[_Field]):
        self.m = m
        self.rule = rule
        self.item = item
        self.occ = occ
        self.fields = [f for f in fields if f.name in rule.fields]
        self.names = set(rule.fields)

    def occurrences(self, phrase: Phrase) -> list[Occ]:
        found = self.occ.get(self.m.term_id(phrase), ())
        return [o for o in found if o.field.name in self.names]

    def eval(self, c: Condition) -> tuple[bool, list[Unit]]:
        """Whether ``c`` holds, and its evidence in the order it best explains the hit (evidence.py)."""
        if isinstance(c, Phrase):
            ev = [o.field.evidence(o.first, o.last) for o in self.occurrences(c)]
            if self.rule.ignore_negated:
                ev = [e for e in ev if not e.negated]
            return bool(ev), [(e,) for e in ev]
        if isinstance(c, AnyOf):
            held = []
            for x in c.items:
                x_ok, x_ev = self.eval(x)
                if x_ok:
                    held.append(x_ev)
            return bool(held), interleave(held)
        if isinstance(c, AllOf):
            held = []
            for x in c.items:
                x_ok, x_ev = self.eval(x)
                if not x_ok:
                    return False, []
                held.append(x_ev)
            return True, interleave(held)
        if isinstance(c, Not):
            x_ok, _ = self.eval(c.item)
            return not x_ok, []
        if isinstance(c, Count):
            return self.count(c)
        if isinstance(c, Near):
            return self.near(c)
        if isinstance(c, Regex):
            return self.regex(c)
        raise TypeError(f"unknown condition {c!r}")

    def near(self, c: Near) -> tuple[bool, list[Unit]]:
        firsts = [o for p in c.first.phrases() for o in self.occurrences(p)]
        seconds = [o for p in c.second.phrases() for o in self.occurrences(p)]
        out: list[Unit] = []
        for a in firsts:
            for b in seconds:
                if a.field is not b.field:
                    continue
                kp = a.field.kpos
                if a.last < b.first:
                    between = kp[b.first] - kp[a.last] - 1
                elif b.last < a.first:
                    between = kp[a.first] - kp[b.last] - 1
                else:
                    between = 0
                if between > c.within:
                    continue
                ea, eb = a.field.evidence(a.first, a.last), b.field.evidence(b.first, b.last)
                if self.rule.ignore_negated and (ea.negated or eb.negated):
                    continue
                out.append((ea, eb))
        return bool(out), out

    def regex(self, c: Regex) -> tuple[bool, list[Unit]]:
        out: list[Evidence] = []
        for fld in self.fields:
            try:
                found = c.compiled.search(fld.text, timeout=self.m.regex_timeout)
            except TimeoutError:
                key = (self.rule.id, self.item.id)
                if key not in self.m._timed_out:
                    if len(self.m._timed_out) > 10_000:
                        self.m._timed_out.clear()
                    self.m._timed_out.add(key)
                    log.warning(
                        "regex timed out, rule skipped for this item rule=%s item=%s field=%s timeout=%ss",
                        self.rule.id,
                        self.item.label[:60],
                        fld.name,
                        self.m.regex_timeout,
                    )
                raise _Skip() from None
            if found is not None and found.end() > found.start():
                s, e = found.span()
                out.append(Evidence(fld.name, s, e, fld.text[s:e], None, _negated_at(fld, s)))
        if self.rule.ignore_negated:
            out = [e for e in out if not e.negated]
        return bool(out), [(e,) for e in out]

    def count(self, c: Count) -> tuple[bool, list[Unit]]:
        out: list[Evidence] = []
        for phrase in c.terms:
            for o in self.occurrences(phrase):
                for q in quantities_for(o.field, o.first):
                    if not q.satisfies(c.bounds):
                        continue
                    ev = o.field.evidence(q.start, o.last, q.value)
                    if self.rule.ignore_negated and ev.negated:
                        continue
                    out.append(ev)
        return bool(out), by_value((e,) for e in out)


def _negated_at(fld: _Field, offset: int) -> bool:
    for i, tok in enumerate(fld.tokens):
        if tok.end > offset:
            return fld.negated(i)
    return False


def _modifier(tok: Token) -> bool:
    n = tok.norm
    return n.isalpha() and n not in STOP and n not in NUMBER_WORDS and n not in NEGATIONS and n not in CURRENCIES


def quantities_for(fld: _Field, first: int) -> list[Quantity]:
    """The quantities that count the term starting at token ``first``: "188 [de combat] drones"."""
    toks = fld.tokens
    by_end = fld.quantities_before(first)
    if not by_end:
        return []
    p = first
    gap = 0
    while p > 0 and not is_clause_break(toks[p].sep):
        found = by_end.get(p)
        if not found:
            # "l'un des missiles", "two of the drones": X, a link, then the term.
            for k in (1, 2, 3):
                if p - k > 0 and link_after(toks, p - k) == k and by_end.get(p - k):
                    found = by_end[p - k]
                    break
        if found:
            out = list(found)
            for q in found:
                out.extend(link_before(toks, q, by_end))
            return out
        if gap >= MAX_GAP or not _modifier(toks[p - 1]):
            return []
        p -= 1
        gap += 1
    return []
