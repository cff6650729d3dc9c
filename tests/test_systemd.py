"""systemd integration: sd_notify on a fake NOTIFY_SOCKET, the watchdog, and the unit file's checks."""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from daemon_fixtures import REPO, DaemonProject, NotifySocket, Webhook, started, wait_until

UNIT = REPO / "systemd" / "watcher.service"
SHIPPED_EXEC = "/opt/watcher/bin/watcher"


def test_ready_status_watchdog_and_stopping(dproject: DaemonProject, tmp_path: Path) -> None:
    dproject.write_config()
    dproject.write_rules(("alpha", "Alpha", "zorglub"))
    sock = NotifySocket(tmp_path / "notify.sock")
    try:
        daemon = dproject.start(env={"NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": "1000000"})
        assert wait_until(lambda: sock.lines("READY=1"), 15), daemon.log()
        ready_at = sock.lines("READY=1")[0][0]
        assert any("1 rules" in line for _, line in sock.lines("STATUS="))
        assert sock.lines(f"MAINPID={daemon.pid}")

        # WATCHDOG_USEC=1s: a ping every 0.5 s, as long as the scheduler makes progress.
        assert wait_until(lambda: len(sock.lines("WATCHDOG=1")) >= 5, 6), sock.messages
        pings = [t for t, _ in sock.lines("WATCHDOG=1")]
        assert pings[0] >= ready_at - 0.5
        assert max(b - a for a, b in itertools.pairwise(pings)) < 1.0

        assert daemon.stop() == 0
        assert sock.lines("STOPPING=1")
    finally:
        sock.close()


def test_a_hung_loop_stops_the_watchdog_pings(dproject: DaemonProject, tmp_path: Path) -> None:
    dproject.write_config()
    dproject.write_rules(("alpha", "Alpha", "zorglub"))
    sock = NotifySocket(tmp_path / "notify.sock")
    try:
        # Test hook: the scheduler loop hangs 2 s after start.
        env = {"NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": "600000", "WATCHER_TEST_HANG": "2"}
        daemon = dproject.start(env=env)
        started(daemon)
        assert wait_until(lambda: len(sock.lines("WATCHDOG=1")) >= 3, 5), sock.messages
        time.sleep(2.5)  # past the hang
        before = len(sock.lines("WATCHDOG=1"))
        time.sleep(2.0)  # more than three watchdog periods with no progress
        assert len(sock.lines("WATCHDOG=1")) == before, "pings went on while the loop was hung"
        assert daemon.proc.poll() is None
        assert daemon.stop() == 0  # the grace period bounds even a hung loop
    finally:
        sock.close()


def test_abstract_namespace_notify_socket(dproject: DaemonProject) -> None:
    dproject.write_config()
    dproject.write_rules(("alpha", "Alpha", "zorglub"))
    sock = NotifySocket(abstract=f"watcher-test-{uuid.uuid4().hex}")
    try:
        daemon = dproject.start(env={"NOTIFY_SOCKET": sock.address})
        assert wait_until(lambda: sock.lines("READY=1"), 15), daemon.log()
        assert not sock.lines("WATCHDOG=1")  # no WATCHDOG_USEC: no pings
        assert daemon.stop() == 0
    finally:
        sock.close()


def test_the_daemon_runs_under_memory_deny_write_execute(dproject: DaemonProject, receiver: Webhook) -> None:
    """The unit sets MemoryDenyWriteExecute=yes; the kernel's PR_SET_MDWE applies the same rule to one process."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_mdwe, pr_mdwe_refuse_exec_gain = 65, 1

    def deny_write_execute() -> None:
        if libc.prctl(pr_set_mdwe, pr_mdwe_refuse_exec_gain, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")

    probe = subprocess.run(
        [sys.executable, "-c", "import mmap; mmap.mmap(-1, 4096, prot=7)"],
        preexec_fn=deny_write_execute,
        capture_output=True,
        text=True,
    )
    if "prctl(PR_SET_MDWE)" in probe.stderr:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3): cannot emulate MemoryDenyWriteExecute=")
    assert probe.returncode != 0 and "PermissionError" in probe.stderr  # W+X mappings are really refused

    dproject.write_config()
    dproject.write_rules(("alpha", "Alpha alert", "zorglub"))
    daemon = dproject.start(preexec=deny_write_execute)
    started(daemon)
    dproject.drop_dispatch("Zorglub under MDWE\n\nA zorglub, with no writable executable memory.")
    assert receiver.wait_for("Zorglub under MDWE", path="alerts", timeout=10), daemon.log()
    assert daemon.stop() == 0


def _unit_for_verify(tmp_path: Path) -> Path:
    """The shipped unit with ExecStart pointed at this virtualenv's watcher.

    `systemd-analyze verify` checks that the ExecStart binary exists, and the shipped unit names
    /opt/watcher/bin/watcher, which a test machine does not have; everything else is verified as shipped.
    """
    text = UNIT.read_text()
    assert SHIPPED_EXEC in text
    exe = Path(sys.executable).with_name("watcher")
    assert exe.exists(), f"{exe} missing: install the project (pip install -e .) first"
    unit = tmp_path / "watcher.service"
    unit.write_text(text.replace(SHIPPED_EXEC, str(exe)))
    return unit


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed here (not a systemd system): nothing to check the unit with",
)


@needs_systemd_analyze
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = _unit_for_verify(tmp_path)
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


@needs_systemd_analyze
def test_unit_is_rated_at_most_2_by_systemd_analyze_security(tmp_path: Path) -> None:
    unit = _unit_for_verify(tmp_path)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


def test_unit_has_what_the_service_needs() -> None:
    """What the checks above cannot see: the settings this daemon relies on, and no trailing comments."""
    text = UNIT.read_text()
    settings = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.lstrip().startswith("#")
    )
    assert settings["Type"] == "notify"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["Restart"] == "on-failure"
    assert settings["WatchdogSec"]
    assert settings["MemoryDenyWriteExecute"] == "yes"
    assert settings["EnvironmentFile"].startswith("-/etc/watcher/")
    assert "--config /etc/watcher/config.toml run" in settings["ExecStart"]
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            assert "#" not in line.split("=", 1)[1], f"systemd has no trailing comments: {line!r}"
    assert (REPO / "systemd" / "watcher.env.example").exists()
    assert os.stat(UNIT).st_size < 10_000
