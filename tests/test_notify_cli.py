"""`watcher notify test` and `watcher deliveries` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from notify_fixtures import Clock, fire, hit, item, make_config, notifier, rule
from servers_notify import WebhookServer, free_port

from watcher.cli import cli


def write_config(tmp_path: Path, targets: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[watcher]\ndatabase = "watcher.db"\nrules = []\n\n{targets}', encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_notify_test_reports_each_target_and_fails_when_one_does(tmp_path: Path, webhook: WebhookServer) -> None:
    down = free_port()
    cfg = write_config(
        tmp_path,
        f'[[notify]]\nname = "desk"\nurl = "{webhook.url}"\ntags = ["desk"]\n\n'
        f'[[notify]]\nname = "ops"\nurl = "json://user:secret-token@127.0.0.1:{down}/x"\ntags = ["admin"]\n\n'
        '[[notify]]\nname = "screen"\nurl = "console://"\n',
    )
    code, stdout, stderr = run("--config", str(cfg), "notify", "test")
    assert code == 1
    assert f"ok      desk  json://127.0.0.1:{webhook.port}/…" in stdout
    assert f"FAILED  ops  json://user:****@127.0.0.1:{down}/…: A Connection error occurred" in stdout
    assert "ok      screen  console://" in stdout
    assert "watcher test notification" in stdout  # what the console target printed
    assert "1 of 3 target(s) failed" in stderr
    assert "secret-token" not in stdout + stderr
    assert len(webhook.requests) == 1 and webhook.requests[0].json()["title"] == "watcher test notification"

    code, stdout, _ = run("--config", str(cfg), "notify", "test", "--tag", "desk")
    assert code == 0 and "desk" in stdout and "ops" not in stdout
    assert len(webhook.requests) == 2

    code, _, stderr = run("--config", str(cfg), "notify", "test", "--tag", "nobody")
    assert code == 1 and "no notify target is tagged 'nobody' (tags in use: admin, all, desk)" in stderr


def test_invalid_target_url_is_one_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[[notify]]\nname = "bad"\nurl = "nosuchservice://token@host"\n')
    code, _stdout, stderr = run("--config", str(cfg), "notify", "test")
    assert code == 2
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: notify target 'bad': not a valid apprise URL (nosuchservice://...)"]
    assert "token" not in stderr and "Traceback" not in stderr


def test_deliveries_lists_the_outbox(tmp_path: Path, webhook: WebhookServer) -> None:
    webhook.fail_next(500)
    cfg_path = write_config(tmp_path, f'[[notify]]\nname = "desk"\nurl = "{webhook.url}"\n')
    cfg = make_config(tmp_path, [{"name": "desk", "url": webhook.url}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        pairs = [(it, hit(r, it)) for it in (item(guid="a"), item(guid="b"))]
        fire(store, n, r, pairs, clock())
        n.flush()  # first fails with 500, the second waits with it

    code, stdout, _ = run("--config", str(cfg_path), "deliveries", "--status", "pending", "--format", "json")
    assert code == 0
    rows = json.loads(stdout)
    assert [(r["status"], r["target"], r["hit"], r["attempts"]) for r in rows] == [
        ("pending", "desk", pairs[0][1].id, 1),
        ("pending", "desk", pairs[1][1].id, 0),
    ]
    assert rows[0]["error"].startswith("HTTP 500 (temporary)")
    assert rows[0]["next_attempt_at"] == "2024-11-26T06:00:30Z"

    code, stdout, _ = run("--config", str(cfg_path), "deliveries")
    assert code == 0
    header, *lines = stdout.splitlines()
    assert header.split()[:4] == ["id", "status", "kind", "target"]
    assert len(lines) == 2 and "HTTP 500 (temporary)" in lines[0]

    code, stdout, _ = run("--config", str(cfg_path), "deliveries", "--status", "failed")
    assert code == 0 and stdout.strip() == "no failed deliveries"


def test_deliveries_without_a_database_is_one_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[[notify]]\nurl = "console://"\n')
    code, _, stderr = run("--config", str(cfg), "deliveries")
    assert code == 1 and stderr.startswith("error: no database at") and "Traceback" not in stderr


@pytest.mark.parametrize("command", [["notify", "test"], ["deliveries"], ["notify"]])
def test_help_has_an_example(command: list[str]) -> None:
    code, stdout, _ = run(*command, "--help")
    assert code == 0 and "Example:" in stdout
