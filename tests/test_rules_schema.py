"""The rules JSON Schema: shipped in the package, referenced by every rule file, usable by editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from watcher.cli import cli
from watcher.rules import schema

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "rules").glob("*.yaml"))
SCHEMA_FILE = ROOT / "watcher" / "rules" / "schema.json"


def _validator() -> jsonschema.Draft202012Validator:
    data = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


def test_starter_pack_is_there() -> None:
    assert len(SHIPPED) >= 6


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_rule_file_validates_against_the_schema(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../watcher/rules/schema.json"
    assert (path.parent / "../watcher/rules/schema.json").resolve() == SCHEMA_FILE
    errors = list(_validator().iter_errors(yaml.safe_load(text)))
    assert errors == []


def _typo(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = [dict(r) for r in rules]
    rules[0]["tittle"] = rules[0].pop("title")
    return rules


@pytest.mark.parametrize(
    "mutate",
    [
        _typo,
        lambda rules: [{**rules[0], "when": {"cuont": "drone", "at_least": 100}}],
        lambda rules: [{**rules[0], "when": {"count": "drone"}}],
        lambda rules: [{**rules[0], "severity": "urgent"}],
        lambda rules: [{**rules[0], "fields": ["bdy"]}],
        lambda rules: [{**rules[0], "cooldown": "6 hours"}],
        lambda rules: [{k: v for k, v in rules[0].items() if k != "when"}],
    ],
    ids=["typo-key", "typo-condition", "count-no-bound", "severity", "field", "duration", "no-when"],
)
def test_a_broken_rule_fails_the_schema(mutate: Any) -> None:
    rules = yaml.safe_load(SHIPPED[0].read_text(encoding="utf-8"))
    assert list(_validator().iter_errors(rules)) == []
    assert list(_validator().iter_errors(mutate(rules)))


def test_schema_command_prints_the_packaged_schema() -> None:
    result = CliRunner().invoke(cli, ["rules", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == schema()


@pytest.mark.parametrize("command", [["rules"], ["rules", "check"], ["rules", "test"], ["rules", "schema"]])
def test_every_rules_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "watcher rules" in result.output.split("Example:")[1]
