"""Alert rules: load and validate YAML files, compile every rule into one matcher.

The public interface the pipeline, daemon and CLI use::

    rs = load_rules([Path("rules/")])        # raises RulesError listing every problem
    for match in rs.match(item): ...          # enabled rules only
    problems = check_rules([Path("rules/")])  # validation + the rules' own examples

The language of rules is the contract in RULES.md (docs/rules.md for users).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import Problem, RulesError
from ..models import FIELDS, Item, Match, Rule
from .loader import load_yaml
from .matcher import Matcher
from .validate import Declared, Example, Parsed, declared_ids, duplicate_ids, parse_rules, schema

__all__ = ["RuleSet", "check_rules", "load_rules", "rule_files", "schema"]

log = logging.getLogger(__name__)


class RuleSet:
    """Every rule loaded from a set of files, compiled once into a single matcher."""

    def __init__(
        self,
        parsed: Sequence[Parsed],
        *,
        digest: str,
        regex_timeout: float = 0.2,
        max_text: int = 200_000,
    ) -> None:
        self._parsed = tuple(parsed)
        self.rules: tuple[Rule, ...] = tuple(p.rule for p in parsed)
        self._by_id = {r.id: r for r in self.rules}
        self.hash = digest
        self._matcher = Matcher(self.rules, regex_timeout=regex_timeout, max_text=max_text)

    def get(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def match(self, item: Item) -> list[Match]:
        """The enabled rules that fire on ``item``, with their evidence."""
        return self._matcher.match(item)

    def example_problems(self) -> list[Problem]:
        """Run every rule's ``examples``: a match text must fire (with its value), a no_match must not."""
        problems: list[Problem] = []
        for p in self._parsed:
            if not p.examples:
                continue
            rule = replace(p.rule, enabled=True)
            matcher = Matcher([rule], regex_timeout=self._matcher.regex_timeout)
            for ex in p.examples:
                message = _run_example(rule, ex, matcher)
                if message:
                    problems.append(Problem(p.rule.file, ex.line, ex.column, message))
        return problems


def _run_example(rule: Rule, ex: Example, matcher: Matcher) -> str | None:
    texts: dict[str, Any] = {f: ex.text for f in rule.fields if f in FIELDS}
    item = Item(source="example", guid=f"{rule.id}:{ex.line}", **texts)
    found = matcher.match(item)
    short = ex.text if len(ex.text) <= 60 else ex.text[:57] + "..."
    if ex.should_match and not found:
        return f"rule {rule.id!r} does not match example {short!r}"
    if ex.should_match and ex.value is not None and found[0].value != ex.value:
        got = found[0].value
        read = "no number" if got is None else got
        return f"rule {rule.id!r} reads {read} in example {short!r}, expected {_num(ex.value)}"
    if not ex.should_match and found:
        spans = ", ".join(dict.fromkeys(repr(e.text) for e in found[0].evidence[:3])) or "no evidence"
        return f"rule {rule.id!r} matches no_match example {short!r} (on {spans})"
    return None


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def rule_files(paths: Sequence[Path]) -> list[Path]:
    """The rule files named by ``paths``: files as given, folders searched for *.yaml/*.yml (sorted)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()))
        else:
            out.append(p)
    return out


_CACHE: OrderedDict[tuple[str, bytes], tuple[list[Parsed], list[Problem], list[Declared]]] = OrderedDict()
_CACHE_SIZE = 4096


def _parse_file(name: str, text: str, data: bytes) -> tuple[list[Parsed], list[Problem], list[Declared]]:
    """Parse one file, reusing the result for a file whose content has not changed.

    Parsing YAML is most of the cost of loading rules (about 1 s per 10,000
    rules); a reload after editing one file of many then only pays for that file.
    Results are immutable, so sharing them between rule sets is safe.
    """
    key = (name, hashlib.sha256(data).digest())
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    doc = load_yaml(text, name)
    rules = parse_rules(doc)
    result = (rules, sorted(doc.problems, key=lambda p: (p.line, p.column)), declared_ids(doc))
    _CACHE[key] = result
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def _load(paths: Sequence[Path]) -> tuple[list[Parsed], list[Problem], str]:
    problems: list[Problem] = []
    parsed: list[Parsed] = []
    digest = hashlib.sha256()
    first_seen: dict[str, Declared] = {}
    for f in rule_files(paths):
        name = str(f)
        try:
            data = f.read_bytes()
        except FileNotFoundError:
            problems.append(Problem(name, 1, 1, "rules file or folder not found"))
            continue
        except OSError as exc:
            problems.append(Problem(name, 1, 1, f"cannot read rules file: {exc.strerror or exc}"))
            continue
        digest.update(name.encode() + b"\0" + data + b"\0")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(Problem(name, 1, 1, f"not UTF-8 text (byte {exc.start})"))
            continue
        rules, file_problems, ids = _parse_file(name, text, data)
        duplicates, lines = duplicate_ids(ids, first_seen)
        problems.extend(sorted([*file_problems, *duplicates], key=lambda p: (p.line, p.column)))
        parsed.extend(p for p in rules if p.line not in lines)
    return parsed, problems, digest.hexdigest()[:16]


def load_rules(paths: Sequence[Path], *, regex_timeout: float = 0.2, max_text: int = 200_000) -> RuleSet:
    """Load, validate and compile rules; raises ``RulesError`` listing every problem found."""
    parsed, problems, digest = _load(paths)
    if problems:
        raise RulesError(problems)
    rs = RuleSet(parsed, digest=digest, regex_timeout=regex_timeout, max_text=max_text)
    log.debug("rules loaded count=%d hash=%s", len(rs), digest)
    return rs


def check_rules(paths: Sequence[Path], *, run_examples: bool = True) -> list[Problem]:
    """Every problem in the rule files, then (if they are valid) every failing example."""
    parsed, problems, digest = _load(paths)
    if problems or not run_examples:
        return problems
    return RuleSet(parsed, digest=digest).example_problems()
