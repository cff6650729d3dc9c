"""Docs that are tested: docs/cli.md is generated from --help, every command and config key is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import click
import pytest
from ecosystem_fixtures import ROOT

from watcher import config
from watcher.cli import cli
from watcher.cli.docs import command_paths, render, walk

CLI_DOC = ROOT / "docs" / "cli.md"
CONFIG_DOC = ROOT / "docs" / "config.md"
SECTIONS = {"[watcher]": config._WATCHER_KEYS, "[[source]]": config._SOURCE_KEYS, "[[notify]]": config._NOTIFY_KEYS}


def undocumented_commands(doc: str) -> list[str]:
    return [path for path in command_paths() if f"### `{path}`" not in doc]


def config_sections(doc: str) -> dict[str, set[str]]:
    """Section title -> the keys its table documents (first column of each row)."""
    parts = re.split(r"^## `(\S+)`\s*$", doc, flags=re.MULTILINE)
    return {parts[i]: set(re.findall(r"^\| `(\w+)` \|", parts[i + 1], re.MULTILINE)) for i in range(1, len(parts), 2)}


def config_doc_problems(doc: str) -> list[str]:
    sections = config_sections(doc)
    problems = []
    for title, keys in SECTIONS.items():
        documented = sections.get(title, set())
        problems += [f"{title} {key}: not documented" for key in sorted(keys - documented)]
        problems += [f"{title} {key}: documented but not a key" for key in sorted(documented - keys)]
    return problems


def test_cli_doc_is_up_to_date() -> None:
    assert CLI_DOC.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is stale: run `python -m watcher.cli.docs > docs/cli.md`"
    )


def test_generator_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "watcher.cli.docs"], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout == render()


def test_every_command_is_in_cli_doc() -> None:
    assert not undocumented_commands(CLI_DOC.read_text(encoding="utf-8"))
    assert {"watcher", "watcher search", "watcher report"} <= set(command_paths())


def test_a_missing_command_is_caught() -> None:
    doc = CLI_DOC.read_text(encoding="utf-8").replace("### `watcher search`", "### (removed)")
    assert undocumented_commands(doc) == ["watcher search"]


@pytest.mark.parametrize("path", command_paths())
def test_every_command_has_help_with_an_example(path: str) -> None:
    ctx = dict(walk(cli, "watcher"))[path]
    text = ctx.command.get_help(ctx)
    if isinstance(ctx.command, click.Group) and path != "watcher":
        return  # a group's help lists its commands, each with its own example
    assert "Example:" in text, f"`{path} --help` shows no example"


def test_every_config_key_is_documented() -> None:
    assert config_doc_problems(CONFIG_DOC.read_text(encoding="utf-8")) == []


def test_a_missing_config_key_is_caught() -> None:
    doc = CONFIG_DOC.read_text(encoding="utf-8").replace("| `digest` |", "| digest |")
    assert config_doc_problems(doc) == ["[[notify]] digest: not documented"]


def test_shell_completion_is_documented_and_works() -> None:
    assert "_WATCHER_COMPLETE=bash_source watcher" in CLI_DOC.read_text(encoding="utf-8")
    script = subprocess.run(
        [sys.executable, "-m", "watcher"],
        env={**os.environ, "_WATCHER_COMPLETE": "bash_source"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "complete -o nosort -F" in script.stdout and "_watcher_completion" in script.stdout


def test_faq_and_changelog() -> None:
    faq = (ROOT / "docs" / "faq.md").read_text(encoding="utf-8")
    assert faq.count("\n## ") >= 6
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    for feature in ("watcher search", "watcher rules backfill", "watcher report", "Datasette"):
        assert feature in changelog, feature
