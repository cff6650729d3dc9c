"""Helpers shared by test modules (import as ``from helpers import ...``)."""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from pathlib import Path

from click.testing import CliRunner, Result

from watcher.cli import cli

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "2024-11-26-afp-otan-ukraine.txt"


class Project:
    """A config.toml, a rules folder and a drop folder in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rules = root / "rules"
        self.drop = root / "drop"
        self.config = root / "config.toml"
        self.db = root / "var" / "watcher.db"
        self.rules.mkdir()
        self.drop.mkdir()

    def write_config(self, extra: str = "", *, notify: str = 'url = "json://127.0.0.1:9/never"') -> Path:
        text = textwrap.dedent(
            """
            [watcher]
            database = "var/watcher.db"
            rules = ["rules/"]
            interval = "5m"

            [[source]]
            name = "drop"
            path = "drop/"
            """
        )
        text += f'\n[[notify]]\nname = "hook"\n{notify}\n' if notify else ""
        self.config.write_text(text + textwrap.dedent(extra), encoding="utf-8")
        return self.config

    def use_starter_rules(self) -> None:
        shutil.rmtree(self.rules)
        shutil.copytree(REPO / "rules", self.rules)

    def drop_seed(self) -> Path:
        """Copy the seed into the drop folder as a complete file (written a minute ago, so already settled)."""
        target = self.drop / SEED.name
        shutil.copyfile(SEED, target)
        past = time.time() - 60
        os.utime(target, (past, past))
        return target

    def invoke(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, ["--config", str(self.config), *args], input=input, catch_exceptions=False)
