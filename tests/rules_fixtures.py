"""Helpers for rule tests: write a rule as YAML, load it through the public API, match a text."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml

from watcher.models import Item, Match
from watcher.rules import RuleSet, load_rules

_counter = itertools.count()


def ruleset(folder: Path, rules: list[dict[str, Any]]) -> RuleSet:
    path = folder / f"rules-{next(_counter)}.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_rules([path])


def fire(folder: Path, text: str, when: Any, **keys: Any) -> Match | None:
    """The match of a one-rule set on a body text, or None when it does not fire."""
    rs = ruleset(folder, [{"id": "r", "when": when, **keys}])
    matches = rs.match(Item(source="test", guid="1", body=text, language=keys.pop("item_language", None)))
    assert len(matches) <= 1
    return matches[0] if matches else None
