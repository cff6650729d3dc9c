"""Validation that teaches: one broken file per mistake, each with its file:line:column message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli import cli
from watcher.errors import RulesError
from watcher.rules import check_rules, load_rules

ROOT = Path(__file__).resolve().parent.parent
INVALID = Path("tests/data/rules/invalid")

EXPECTED: dict[str, list[str]] = {
    "unknown-key.yaml": ["2:3: unknown key 'tittle' (did you mean 'title'?)"],
    "wrong-type.yaml": ["3:12: enabled: expected boolean, got text 'yes'"],
    "duplicate-id": [
        "b.yaml:4:3: duplicate rule id 'drone-swarm' (first defined at tests/data/rules/invalid/duplicate-id/a.yaml:1)"
    ],
    "duplicate-of-invalid-rule.yaml": [
        "2:17: invalid regex 'Kh-(\\\\d+': missing ) at position 7",
        "4:3: duplicate rule id 'drone-swarm' (first defined at "
        "tests/data/rules/invalid/duplicate-of-invalid-rule.yaml:1)",
        "9:13: severity: 'urgent' is not one of info, low, medium, high, critical",
        "11:3: duplicate rule id 'other' (first defined at tests/data/rules/invalid/duplicate-of-invalid-rule.yaml:7)",
    ],
    "invalid-regex.yaml": ["3:12: invalid regex 'Kh-(\\\\d+': missing ) at position 7"],
    "bad-duration.yaml": ["3:13: cooldown: expected a duration like '30s', '5m', '6h' or '2d', got '6 hours'"],
    "contradictory-bounds.yaml": ["3:5: contradictory bounds: no number satisfies at_least: 100, at_most: 50"],
    "unknown-field.yaml": ["2:19: fields[1]: 'bdy' is not one of title, summary, body (did you mean 'body'?)"],
    "unknown-language.yaml": ["2:19: unknown language 'xx': use an ISO 639-1 code such as 'fr' or 'en'"],
    "yaml-duplicate-key.yaml": ["4:3: duplicate key 'when' (first set on line 2)"],
    "alias.yaml": ["5:9: YAML aliases (*name) are not allowed in rule files; write the value out"],
    "unsafe-tag.yaml": [
        "2:10: YAML tag '!!python/object/apply:os.system' is not allowed in rule files (plain values only)"
    ],
    "syntax-error.yaml": ["3:11: YAML syntax error: while parsing a flow sequence did not find expected ',' or ']'"],
    "missing-when.yaml": ["1:3: rule is missing the required key 'when'"],
    "bad-severity.yaml": ["2:13: severity: 'urgent' is not one of info, low, medium, high, critical"],
    "unknown-condition-key.yaml": ["3:5: unknown condition key 'cuont' (did you mean 'count'?)"],
    "count-without-bound.yaml": [
        "3:5: count needs at least one bound: at_least, more_than, at_most, less_than, equals"
    ],
    "near-three-phrases.yaml": [
        "3:11: near: expected a list of exactly two phrases (or lists of phrases), got ['drone', 'Kyiv', 'attack']"
    ],
    "bad-id.yaml": ["1:7: id 'drone swarm!' may only hold letters, digits, '-' and '_'"],
    "empty-phrase.yaml": ["3:18: when.any[1]: phrase '--' has no words to match"],
    "not-a-list.yaml": ["1:1: a rules file holds a list of rules: start each rule with '- id: ...'"],
    "negative-bound.yaml": ["4:15: at_least: expected a number >= 0, got a number -5"],
    "two-forms-in-one-mapping.yaml": ["3:5: when: one condition per mapping, found any, regex; use all: [...]"],
    "merge-key.yaml": ["2:3: YAML merge keys (<<) are not allowed in rule files"],
    "deep-nesting.yaml": ["1:1: YAML nested 100 levels deep; rule files allow 64"],
    "failing-example.yaml": [
        "7:9: rule 'drone-swarm' reads 150 in example 'Cent cinquante drones ont visé Kharkiv.', expected 160",
        "8:9: rule 'drone-swarm' does not match example 'Quatorze drones ont été abattus.'",
        "10:9: rule 'drone-swarm' matches no_match example '188 drones' (on '188 drones')",
    ],
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _expected_lines(name: str) -> list[str]:
    prefix = f"{INVALID / name}/" if name == "duplicate-id" else f"{INVALID / name}:"
    return [prefix + line for line in EXPECTED[name]]


def test_every_invalid_file_has_an_expectation() -> None:
    on_disk = {p.name for p in (ROOT / INVALID).iterdir()}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_prints_every_problem_and_exits_2(name: str) -> None:
    result = CliRunner().invoke(cli, ["rules", "check", str(INVALID / name)])
    assert result.exit_code == 2, result.output
    assert result.stdout.splitlines() == _expected_lines(name)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n != "failing-example.yaml"))
def test_load_rules_raises_one_clear_line(name: str) -> None:
    with pytest.raises(RulesError) as info:
        load_rules([INVALID / name])
    assert [str(p) for p in info.value.problems] == _expected_lines(name)
    assert str(info.value).startswith(_expected_lines(name)[0])
    assert info.value.exit_code == 2


def test_examples_do_not_run_at_load_time() -> None:
    rs = load_rules([INVALID / "failing-example.yaml"])
    assert [r.id for r in rs.rules] == ["drone-swarm"]
    assert len(check_rules([INVALID / "failing-example.yaml"], run_examples=False)) == 0


def test_every_problem_of_a_file_is_reported_not_only_the_first(tmp_path: Path) -> None:
    bad = tmp_path / "many.yaml"
    bad.write_text(
        "- id: a\n  tittle: x\n  when: drone\n"
        "- id: b\n  severity: urgent\n  when: {cuont: drone}\n"
        "- id: c\n  when: {regex: '('}\n  cooldown: soon\n",
        encoding="utf-8",
    )
    problems = [(p.line, p.column) for p in check_rules([bad])]
    assert problems == [(2, 3), (5, 13), (6, 10), (8, 17), (9, 13)]


def test_test_command_refuses_invalid_rules_with_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["rules", "test", "--rules", str(INVALID / "unknown-key.yaml"), "seeds/"])
    assert result.exit_code == 2
    assert _expected_lines("unknown-key.yaml")[0] in result.output


def test_missing_rules_path_is_a_problem_not_a_crash() -> None:
    problems = check_rules([Path("no/such/rules.yaml")])
    assert [str(p) for p in problems] == ["no/such/rules.yaml:1:1: rules file or folder not found"]


def test_relative_file_names_as_given(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text("- id: x\n  when: drone\n  severity: nope\n", encoding="utf-8")
    assert str(check_rules([Path("r.yaml")])[0]).startswith("r.yaml:3:13: ")
