"""The daemon's building blocks in-process: the database lock, sd_notify, the rule watcher."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from daemon_fixtures import wait_until

from watcher.errors import AlreadyRunning, Problem, RulesError
from watcher.lock import DatabaseLock, holder, lock_path
from watcher.reload import RulesFailure, RuleWatcher, fingerprint
from watcher.schedule import InFlight
from watcher.systemd import SystemdNotifier


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    db = tmp_path / "var" / "watcher.db"
    assert holder(db) is None
    with DatabaseLock(db):
        assert holder(db) == os.getpid()
        with pytest.raises(AlreadyRunning) as refused:
            DatabaseLock(db).acquire()
        assert str(refused.value) == f"another watcher daemon (pid {os.getpid()}) is already running on {db}"
        assert refused.value.exit_code == 3
    assert holder(db) is None
    assert lock_path(db).exists()  # never unlinked: see lock.py


def test_lock_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "watcher.db"
    code = (
        "import sys, time; from pathlib import Path; from watcher.lock import DatabaseLock; "
        f"DatabaseLock(Path({str(db)!r})).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        assert holder(db) == child.pid
        child.kill()
        child.wait()
        assert holder(db) is None
        with DatabaseLock(db):
            assert holder(db) == os.getpid()
    finally:
        child.kill()
        child.wait()


def test_sd_notify_speaks_to_path_and_abstract_sockets(tmp_path: Path) -> None:
    for address, bind in ((str(tmp_path / "n.sock"), str(tmp_path / "n.sock")), ("@watcher-parts", "\0watcher-parts")):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        server.bind(bind)
        server.settimeout(2)
        try:
            sd = SystemdNotifier({"NOTIFY_SOCKET": address})
            assert sd.enabled
            assert sd.ready("up and\nrunning")
            message = server.recv(4096).decode()
            assert message.splitlines() == ["READY=1", "STATUS=up and running", f"MAINPID={os.getpid()}"]
            assert sd.stopping()
            assert server.recv(4096).decode().startswith("STOPPING=1")
            sd.close()
        finally:
            server.close()


def test_sd_notify_is_a_no_op_outside_systemd_and_reads_the_watchdog() -> None:
    assert not SystemdNotifier({}).enabled
    assert SystemdNotifier({}).ready("x") is False
    assert SystemdNotifier({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled is False
    assert SystemdNotifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    assert SystemdNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert SystemdNotifier({"WATCHDOG_USEC": "0"}).watchdog_interval is None
    # A manager that went away: the ping fails quietly, and the daemon goes on.
    assert SystemdNotifier({"NOTIFY_SOCKET": "/nonexistent/notify"}).watchdog() is False


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "polling"])
def test_rule_watcher_reports_one_settled_change(tmp_path: Path, use_inotify: bool) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    target = rules / "a.yml"
    target.write_text("- id: a\n")
    calls: list[float] = []
    watcher = RuleWatcher([rules], lambda: calls.append(time.monotonic()), debounce=0.3, use_inotify=use_inotify)
    watcher.start()
    try:
        time.sleep(0.3)
        (rules / ".a.yml.swp").write_text("editor noise")  # hidden: not a rule file
        (rules / "notes.txt").write_text("not yaml")
        time.sleep(1.5)
        assert calls == []

        started = time.monotonic()
        with target.open("w") as f:  # written in three steps, like a slow editor
            for part in ("- id: a\n", "  when: x\n", "- id: b\n"):
                f.write(part)
                f.flush()
                time.sleep(0.1)
        assert wait_until(lambda: calls, 3)
        assert calls[0] - started < 2.0
        time.sleep(0.8)
        assert len(calls) == 1  # the burst of writes is one change
    finally:
        watcher.stop()


def test_fingerprint_sees_new_removed_and_changed_rule_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x")
    first = fingerprint([tmp_path])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("y")
    second = fingerprint([tmp_path])
    assert second != first and len(second) == 2
    (tmp_path / "sub" / "b.yml").unlink()
    assert fingerprint([tmp_path]) == first
    missing = tmp_path / "gone.yml"
    assert fingerprint([missing]) == ((str(missing), -1, -1, -1),)


def test_rules_failure_report_names_every_problem_and_keys_on_them() -> None:
    problems = [Problem("rules/a.yml", 3, 5, "unknown key 'wen'"), Problem("rules/b.yml", 1, 1, "bad YAML")]
    failure = RulesFailure.of(RulesError(problems))
    assert failure.problems == ("rules/a.yml:3:5: unknown key 'wen'", "rules/b.yml:1:1: bad YAML")
    assert "rules/a.yml:3:5" in failure.body and "rules/b.yml:1:1" in failure.body
    assert failure.key == RulesFailure.of(RulesError(list(problems))).key
    assert failure.key != RulesFailure.of(RulesError(problems[:1])).key


def test_rule_watcher_stops_promptly(tmp_path: Path) -> None:
    watcher = RuleWatcher([tmp_path], lambda: None, poll_interval=30)
    watcher.start()
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2.5
    assert not any(t.name == "watcher-rules" and t.is_alive() for t in threading.enumerate())


def test_in_flight_jobs_gate_drain_and_close() -> None:
    inflight = InFlight()
    release = threading.Event()
    ran: list[str] = []

    def job(name: str) -> None:
        with inflight.job() as admitted:
            if admitted:
                ran.append(name)
                release.wait(5)

    first = threading.Thread(target=job, args=("first",))
    first.start()
    assert wait_until(lambda: ran == ["first"], 2)
    time.sleep(0.2)
    assert inflight.oldest() >= 0.2  # what the watchdog heartbeat looks at
    assert inflight.drain(0.1) is False

    inflight.hold()  # a reload: new jobs wait at the gate while the running one finishes
    second = threading.Thread(target=job, args=("second",))
    second.start()
    time.sleep(0.2)
    assert ran == ["first"]
    release.set()
    assert inflight.drain(2) is True
    first.join(2)
    inflight.release()
    assert wait_until(lambda: ran == ["first", "second"], 2)
    second.join(2)
    assert inflight.oldest() == 0.0

    with inflight.job(watched=False) as admitted:  # a long flush is no sign of a hung daemon
        assert admitted
        time.sleep(0.1)
        assert inflight.oldest() == 0.0

    inflight.close()  # shutdown: queued jobs are turned away
    job("third")
    assert ran == ["first", "second"]
