"""Validated rules from located YAML data: the JSON Schema first, then what a schema cannot say.

Every problem is collected, never only the first: a user fixing a rules file
wants the whole list, each as ``file:line:column: message`` that an editor can
jump to. Messages name the key and say what is expected, with a "did you mean"
for typos.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from ..config import parse_duration
from ..errors import Problem
from ..models import FIELDS, SEVERITIES, Rule
from .lexicon import words
from .loader import Located, Path_
from .when import Conditions, did_you_mean, dotted, type_name

RULE_KEYS = (
    "id", "title", "severity", "tags", "fields", "languages", "when", "ignore_negated", "notify", "cooldown",
    "enabled", "examples",
)  # fmt: skip

# ISO 639-1 codes: `languages:` is compared with the item's language, so a typo would silently never match.
ISO_639_1 = words(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
    ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
    ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
    ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu
    """
)


@dataclass(frozen=True)
class Example:
    text: str
    should_match: bool
    value: float | None
    line: int
    column: int


@dataclass(frozen=True)
class Parsed:
    rule: Rule
    examples: tuple[Example, ...]
    line: int
    column: int


@cache
def schema() -> dict[str, Any]:
    text = resources.files("watcher.rules").joinpath("schema.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


@cache
def _quick_check() -> Callable[[Any], Any]:
    """A compiled validator of the same schema minus ``when`` (the condition parser checks that).

    jsonschema walks 10,000 rules in seconds; fastjsonschema's generated code does
    it in milliseconds but stops at the first error. So it only says "valid or
    not", and jsonschema explains every error when there is any.
    """
    shallow = copy.deepcopy(schema())
    shallow["$schema"] = "http://json-schema.org/draft-07/schema#"
    shallow["$defs"]["rule"]["properties"]["when"] = {}
    check: Callable[[Any], Any] = fastjsonschema.compile(shallow)
    return check


def _schema_problems(doc: Located) -> set[int]:
    """Schema errors outside ``when`` (the condition parser explains those better).

    Returns the indexes of the rules that have one.
    """
    try:
        _quick_check()(doc.data)
        return set()
    except fastjsonschema.JsonSchemaException:
        pass
    bad: set[int] = set()
    for err in _validator().iter_errors(doc.data):
        path: Path_ = tuple(err.absolute_path)
        if len(path) >= 2 and path[1] == "when":
            continue
        if path and isinstance(path[0], int):
            bad.add(path[0])
        if len(path) >= 3 and path[1] == "examples" and err.validator == "oneOf":
            doc.problem(path, f"{dotted(path)}: an example is a text or {{text: ..., value: ...}}")
            continue
        v = err.validator
        if v == "additionalProperties":
            allowed = tuple(err.schema.get("properties", {}))
            for key in err.instance:
                if key not in allowed:
                    doc.problem((*path, key), f"unknown key {key!r}{did_you_mean(key, allowed)}", key=True)
        elif v == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            doc.problem(path, f"rule is missing the required key {missing!r}")
        elif v == "type" and len(path) == 1:
            doc.problem(
                path,
                f"a rule is a mapping (id: ..., when: ...), got {type_name(err.instance)} {err.instance!r}",
            )
        elif v == "type":
            expected = err.validator_value
            doc.problem(path, f"{dotted(path)}: expected {expected}, got {type_name(err.instance)} {err.instance!r}")
        elif v == "enum":
            choices = [str(c) for c in err.validator_value]
            doc.problem(
                path,
                f"{dotted(path)}: {err.instance!r} is not one of {', '.join(choices)}"
                f"{did_you_mean(err.instance, choices)}",
            )
        elif v == "pattern" and path[1:2] == ("id",):
            doc.problem(path, f"id {err.instance!r} may only hold letters, digits, '-' and '_'")
        elif v == "pattern" and path[1:2] == ("cooldown",):
            doc.problem(path, f"cooldown: expected a duration like '30s', '5m', '6h' or '2d', got {err.instance!r}")
        elif v == "pattern" and path[1:2] == ("languages",):
            doc.problem(path, f"unknown language {err.instance!r}: use an ISO 639-1 code such as 'fr' or 'en'")
        else:
            doc.problem(path, f"{dotted(path)}: {err.message}")
    return bad


@dataclass(frozen=True)
class Declared:
    """A rule id as written in a file, whether or not the rule is valid."""

    id: str
    file: str
    line: int
    column: int


def declared_ids(doc: Located) -> list[Declared]:
    """Every string id in the document, broken rules included.

    Duplicates are checked on these, not on the valid rules only: otherwise a
    second rule reusing the id of a broken first one goes unreported until the
    first is fixed, and the user fixes one problem per run.
    """
    if not isinstance(doc.data, list):
        return []
    out = []
    for i, raw in enumerate(doc.data):
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            line, col = doc.where((i,))
            out.append(Declared(raw["id"], doc.file, line, col))
    return out


def duplicate_ids(ids: list[Declared], first_seen: dict[str, Declared]) -> tuple[list[Problem], set[int]]:
    """Problems for ids already declared (``first_seen`` is updated), and the lines of the duplicates."""
    problems: list[Problem] = []
    lines: set[int] = set()
    for d in ids:
        prev = first_seen.get(d.id)
        if prev is None:
            first_seen[d.id] = d
            continue
        lines.add(d.line)
        problems.append(
            Problem(d.file, d.line, d.column, f"duplicate rule id {d.id!r} (first defined at {prev.file}:{prev.line})")
        )
    return problems, lines


def parse_rules(doc: Located) -> list[Parsed]:
    """Rules of one located document; problems are appended to ``doc.problems``."""
    if doc.data is None:
        return []
    if isinstance(doc.data, dict):
        doc.problem((), "a rules file holds a list of rules: start each rule with '- id: ...'")
        return []
    if not isinstance(doc.data, list):
        doc.problem((), f"a rules file holds a list of rules, got {type_name(doc.data)}")
        return []
    bad = _schema_problems(doc)
    out: list[Parsed] = []
    for i, raw in enumerate(doc.data):
        if not isinstance(raw, dict):
            continue  # reported by the schema
        parsed = _rule(doc, i, raw, valid=i not in bad)
        if parsed is not None:
            out.append(parsed)
    return out


def _rule(doc: Located, i: int, raw: dict[str, Any], *, valid: bool = True) -> Parsed | None:
    path: Path_ = (i,)
    before = len(doc.problems)
    rule_id = raw.get("id")
    conds = Conditions(doc)
    when = conds.parse(raw["when"], (*path, "when")) if "when" in raw else None
    cooldown = None
    cd = raw.get("cooldown")
    if isinstance(cd, str):
        try:
            cooldown = parse_duration(cd, what="cooldown")
        except ValueError:
            cooldown = None  # the schema already reported it
    for j, lang in enumerate(raw.get("languages") or []):
        if isinstance(lang, str) and len(lang) == 2 and lang.islower() and lang not in ISO_639_1:
            doc.problem(
                (*path, "languages", j),
                f"unknown language {lang!r}: use an ISO 639-1 code such as 'fr' or 'en'",
            )
    examples = _examples(doc, path, raw.get("examples"))
    if not valid or len(doc.problems) > before or when is None or not isinstance(rule_id, str):
        return None
    line, col = doc.where(path)
    rule = Rule(
        id=rule_id,
        title=raw.get("title") or rule_id,
        when=when,
        severity=raw.get("severity", "medium"),
        tags=tuple(raw.get("tags") or ()),
        fields=tuple(raw.get("fields") or FIELDS),
        languages=tuple(raw.get("languages") or ()),
        ignore_negated=bool(raw.get("ignore_negated", False)),
        notify=tuple(raw.get("notify") or ()),
        cooldown=cooldown,
        enabled=bool(raw.get("enabled", True)),
        file=doc.file,
        line=line,
    )
    assert rule.severity in SEVERITIES
    return Parsed(rule, examples, line, col)


def _examples(doc: Located, path: Path_, raw: Any) -> tuple[Example, ...]:
    if not isinstance(raw, dict):
        return ()
    out = []
    for kind in ("match", "no_match"):
        items = raw.get(kind)
        if not isinstance(items, list):
            continue
        for j, ex in enumerate(items):
            line, col = doc.where((*path, "examples", kind, j))
            if isinstance(ex, str):
                out.append(Example(ex, kind == "match", None, line, col))
            elif isinstance(ex, dict) and isinstance(ex.get("text"), str):
                value = ex.get("value")
                num = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
                out.append(Example(ex["text"], kind == "match", num, line, col))
    return tuple(out)
