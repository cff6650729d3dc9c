"""Shared helpers for the ecosystem tests (search, backfill, report, datasette, docs, packaging)."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner, Result

from watcher.cli import cli
from watcher.sources import parse_document
from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "2024-11-26-afp-otan-ukraine.txt"

DRONE_RULES = """\
- id: drone-swarm
  title: Massive drone attack
  severity: high
  tags: [ukraine]
  when:
    count: [drone, Shahed, UAV]
    at_least: 100
- id: ballistic-missile
  title: Ballistic missile
  severity: high
  when: ["missile balistique", "ballistic missile"]
"""


def write_config(tmp: Path, *, rules: str = DRONE_RULES, notify: str = "", extra: str = "") -> Path:
    """A config.toml in ``tmp`` with its own rules folder and database; returns its path."""
    (tmp / "rules").mkdir(exist_ok=True)
    (tmp / "rules" / "test.yaml").write_text(rules, encoding="utf-8")
    config = tmp / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""\
            [watcher]
            database = "var/watcher.db"
            rules = ["rules/"]
            {extra}
            """
        )
        + notify,
        encoding="utf-8",
    )
    return config


def store_seed(db: Path, *, now: datetime | None = None, source: str = "seed") -> Store:
    """A real database holding the seed dispatch, stored as a poll would store it (no hits)."""
    store = Store.open(db)
    items = parse_document(SEED.read_bytes(), origin=str(SEED), source=source)
    store.record_cycle(items, [], [], now=now)
    return store


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
