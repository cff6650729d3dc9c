"""Terminal output: colour only on a terminal, the same records as table, JSON and CSV."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from ecosystem_fixtures import store_seed, write_config

from watcher.cli import cli, ui
from watcher.store import Store

ROWS = [
    {"rule": "drone-swarm", "severity": "high", "value": 188.0, "tags": ["ukraine", "air"], "negated": False},
    {"rule": "nuclear", "severity": "critical", "value": None, "tags": [], "negated": True},
]


@click.command()
@click.option("--format", "fmt", default="table")
def show(fmt: str) -> None:
    ui.emit(ROWS, fmt, ["rule", "severity", "value", "tags", "negated"])


def test_table_json_csv_from_the_same_records() -> None:
    runner = CliRunner()
    table = runner.invoke(show, []).stdout
    assert "drone-swarm" in table and "188" in table and "188.0" not in table and "ukraine, air" in table
    assert "\x1b[" not in table
    assert json.loads(runner.invoke(show, ["--format", "json"]).stdout) == ROWS
    csv_lines = runner.invoke(show, ["--format", "csv"]).stdout.splitlines()
    assert csv_lines == [
        "rule,severity,value,tags,negated",
        'drone-swarm,high,188.0,"[""ukraine"", ""air""]",False',
        "nuclear,critical,,[],True",
    ]


def test_empty_table_says_so() -> None:
    @click.command()
    def empty() -> None:
        ui.emit([], "table", ["rule"])

    assert "(nothing)" in CliRunner().invoke(empty).stdout


def test_colour_only_on_a_terminal(tmp_path: Path) -> None:
    """The same search through a pseudo-terminal has colour (highlighted words), through a pipe none."""
    config = write_config(tmp_path)
    store_seed(tmp_path / "var" / "watcher.db").close()
    args = [sys.executable, "-m", "watcher", "--config", str(config), "search", "nucleaire"]
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")} | {"TERM": "xterm-256color"}
    piped = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert piped.returncode == 0 and "nucléaire" in piped.stdout and "\x1b[" not in piped.stdout

    out = _through_a_terminal(args, env)
    assert "\x1b[" in out and "nucléaire" in out


def _through_a_terminal(args: list[str], env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_since_accepts_durations_and_dates() -> None:
    now = datetime.now(UTC)
    week = ui.SINCE.convert("7d", None, None)
    assert abs((now - week) - timedelta(days=7)) < timedelta(seconds=5)
    assert ui.SINCE.convert("2024-11-26", None, None) == datetime(2024, 11, 26, tzinfo=UTC)
    with pytest.raises(click.BadParameter, match="expected a duration"):
        ui.SINCE.convert("last tuesday", None, None)


@pytest.mark.parametrize("value", ["99999999d", "9999999999999999d", "999999999999w"])
def test_since_too_far_back_is_a_clear_error(value: str) -> None:
    with pytest.raises(click.BadParameter, match="before year 1"):
        ui.SINCE.convert(value, None, None)


@pytest.mark.parametrize(
    "command",
    [["hits"], ["search", "otan"], ["report", "-o", "r.html"], ["rules", "backfill"]],
)
def test_huge_since_is_one_line_for_every_command(tmp_path: Path, command: list[str]) -> None:
    config = write_config(tmp_path)
    store_seed(tmp_path / "var" / "watcher.db").close()
    result = CliRunner().invoke(cli, ["--config", str(config), *command, "--since", "99999999d"])
    assert result.exit_code == 2, result.output
    assert "before year 1" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, OverflowError)


def test_hits_with_an_unknown_rule_says_so_on_stderr(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    store_seed(tmp_path / "var" / "watcher.db").close()
    runner = CliRunner()
    typo = runner.invoke(cli, ["--config", str(config), "hits", "--rule", "drone-swarn", "--format", "json"])
    assert typo.exit_code == 0
    assert json.loads(typo.stdout) == []
    assert typo.stderr.strip() == (
        "hint: no rule with id 'drone-swarn' (known: ballistic-missile, drone-swarm); did you mean 'drone-swarm'?"
    )
    # a loaded rule that has not fired yet is no mistake: nothing on stderr
    known = runner.invoke(cli, ["--config", str(config), "hits", "--rule", "drone-swarm"])
    assert known.exit_code == 0 and known.stderr == ""
    # a rule removed from the files whose hits are stored: listed, no hint
    with Store.open(tmp_path / "var" / "watcher.db") as store:
        row = store.conn.execute("SELECT id, story_id FROM items").fetchone()
        store.conn.execute(
            "INSERT INTO hits (id, rule, title, severity, item_id, story_id, source, item_title, evidence,"
            " fired_at) VALUES ('h1', 'retired', 'Old', 'low', ?, ?, 'seed', 't', '[]', '2024-11-26T00:00:00Z')",
            (row["id"], row["story_id"]),
        )
    old = runner.invoke(cli, ["--config", str(config), "hits", "--rule", "retired", "--since", "1d"])
    assert old.exit_code == 0 and old.stderr == ""
    # rules that do not load: no hint rather than a wrong one
    (tmp_path / "rules" / "test.yaml").write_text("- id: [broken\n", encoding="utf-8")
    broken = runner.invoke(cli, ["--config", str(config), "hits", "--rule", "nope"])
    assert broken.exit_code == 0 and broken.stderr == ""


def test_progress_is_silent_and_complete_off_a_terminal() -> None:
    @click.command()
    def work() -> None:
        total = sum(ui.progress(range(1000), total=1000, description="counting"))
        with ui.progress_task(3, "steps") as advance:
            for _ in range(3):
                advance(1)
        click.echo(f"sum={total}")

    result = CliRunner().invoke(work)
    assert result.stdout == "sum=499500\n" and result.stderr == ""
