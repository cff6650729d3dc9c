"""`watcher run` and `watcher status` from the command line, and the Prometheus endpoint."""

from __future__ import annotations

import json
import socket
import urllib.request

from click.testing import CliRunner
from daemon_fixtures import DaemonProject, Webhook, started, wait_until

from watcher.cli import cli


def test_run_and_status_have_help_with_an_example() -> None:
    for command in ("run", "status"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output
        assert f"watcher --config config.toml {command}" in result.output or command == "status"


def test_status_of_a_running_then_stopped_daemon(dproject: DaemonProject, receiver: Webhook) -> None:
    dproject.write_config()
    dproject.write_rules(("alpha", "Alpha alert", "zorglub"), ("beta", "Beta alert", "marsupilami"))
    dproject.drop_dispatch("Zorglub for status\n\nOne zorglub.")
    daemon = dproject.start()
    started(daemon)
    assert receiver.wait_for("Zorglub for status", path="alerts", timeout=10), daemon.log()

    state = wait_until(lambda: (s := dproject.status())["last_cycle"] and s, 5)
    assert state["running"] is True and state["pid"] == daemon.pid
    assert state["rules"]["count"] == 2 and len(state["rules"]["hash"]) >= 8
    assert state["last_cycle"]["source"] == "drop" and state["last_cycle"]["new_hits"] >= 1
    assert state["last_reload"]["ok"] is True
    assert state["started_at"].endswith("Z")
    assert state["deliveries"]["failed"] == 0
    assert state["sources_in_error"] == []

    text = dproject.cli("status")
    assert text.returncode == 0
    assert f"running (pid {daemon.pid})" in text.stdout
    assert f"2 loaded, hash {state['rules']['hash']}" in text.stdout

    assert daemon.stop() == 0
    stopped = dproject.cli("status")
    assert stopped.returncode == 3
    assert "not running" in stopped.stdout
    assert json.loads(dproject.cli("status", "--format", "json").stdout)["stopped_at"]


def test_status_shows_sources_in_error_and_failed_deliveries(dproject: DaemonProject, receiver: Webhook) -> None:
    receiver.status = 404  # a permanent refusal: the delivery fails at once
    dproject.write_config(
        sources='[[source]]\nname = "drop"\npath = "drop/"\n\n[[source]]\nname = "gone"\npath = "missing/"\n'
    )
    dproject.write_rules(("alpha", "Alpha alert", "zorglub"))
    dproject.drop_dispatch("Zorglub refused\n\nA zorglub nobody accepts.")
    daemon = dproject.start()
    started(daemon)
    state = wait_until(lambda: (s := dproject.status())["sources_in_error"] and s["deliveries"]["failed"] and s, 15)
    assert state, (dproject.status(), daemon.log())
    assert [s["name"] for s in state["sources_in_error"]] == ["gone"]
    text = dproject.cli("status").stdout
    assert "1 in error" in text and "gone:" in text
    assert daemon.stop() == 0


def test_status_without_a_database_is_one_line(dproject: DaemonProject) -> None:
    dproject.write_config()
    result = dproject.cli("status")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no database at")
    assert "Traceback" not in result.stderr


def test_prometheus_metrics(dproject: DaemonProject, receiver: Webhook) -> None:
    dproject.write_config(watcher={"metrics": '"127.0.0.1:0"'})
    dproject.write_rules(("alpha", "Alpha alert", "zorglub"))
    dproject.drop_dispatch("Zorglub for metrics\n\nOne zorglub.")
    daemon = dproject.start()
    started(daemon)
    bound = daemon.wait_log(r"metrics listening address=127\.0\.0\.1:(\d+)", 5)
    assert bound, daemon.log()
    assert receiver.wait_for("Zorglub for metrics", path="alerts", timeout=10)

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{bound.group(1)}/metrics", timeout=5) as response:
            return response.read().decode()

    body = wait_until(lambda: b if 'watcher_deliveries{status="sent"} 1.0' in (b := scrape()) else None, 10)
    assert body, scrape()
    assert 'watcher_items_total{source="drop"} 1.0' in body
    assert 'watcher_hits_total{source="drop"} 1.0' in body
    assert "watcher_rules_loaded 1.0" in body
    assert "watcher_cycle_duration_seconds_count" in body
    assert 'watcher_source_runs_total{outcome="ok",source="drop"}' in body
    assert daemon.stop() == 0


def test_a_busy_metrics_port_is_one_line_and_exit_2(dproject: DaemonProject) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        dproject.write_config(watcher={"metrics": f'"127.0.0.1:{port}"'})
        dproject.write_rules(("alpha", "Alpha alert", "zorglub"))
        daemon = dproject.start()
        assert daemon.wait(timeout=15) == 2
    err = daemon.log()
    assert f"error: cannot serve metrics on 127.0.0.1:{port}" in err
    assert "Traceback" not in err
    assert not dproject.db.exists()  # refused before the database was touched


def test_daemon_logs_for_journald_json_and_quiet(dproject: DaemonProject) -> None:
    dproject.write_config()
    dproject.write_rules(("alpha", "Alpha alert", "zorglub"))

    journald = dproject.start(env={"JOURNAL_STREAM": "8:12345"})
    started(journald)
    assert journald.stop() == 0
    line = next(x for x in journald.stderr if "daemon started" in x)
    assert line.startswith("<6>info: daemon started pid=")  # priority prefix, no timestamp: the journal adds one

    as_json = dproject.start("--log-format", "json")
    started(as_json)
    assert as_json.stop() == 0
    records = [json.loads(x) for x in as_json.stderr if x.strip()]
    assert any(r["level"] == "info" and r["message"].startswith("daemon started") for r in records)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)

    quiet = dproject.start("-q")
    assert wait_until(lambda: dproject.status()["running"], 15)
    assert quiet.stop() == 0
    assert not any(" info: " in x for x in quiet.stderr), quiet.log()


def test_no_secret_reaches_the_logs_even_at_debug(dproject: DaemonProject, receiver: Webhook) -> None:
    secret = "s3cr3t-t0ken"
    dproject.write_config()
    text = dproject.config.read_text().replace(
        f"json://127.0.0.1:{receiver.port}/alerts", f"json://desk:{secret}@127.0.0.1:{receiver.port}/alerts"
    )
    dproject.config.write_text(text)
    dproject.write_rules(("alpha", "Alpha alert", "zorglub"))
    dproject.drop_dispatch("Zorglub with a secret target\n\nOne zorglub.")
    daemon = dproject.start("-vv")
    started(daemon)
    assert receiver.wait_for("Zorglub with a secret target", path="alerts", timeout=10), daemon.log()
    assert daemon.stop() == 0
    assert "debug:" in daemon.log()
    assert secret not in daemon.log() and secret not in "".join(daemon.stdout)
