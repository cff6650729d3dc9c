"""Real parts for the daemon tests: a project folder, the daemon as a subprocess, a webhook
receiver standing in for a chat service, and a fake systemd notify socket.

Everything here is real: the daemon is ``python -m watcher ... run`` in its own process, alerts
arrive as HTTP POSTs from apprise's ``json://`` plugin, and systemd messages as datagrams on a
Unix socket, exactly as under systemd.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import Project
from servers_notify import WebhookServer as Webhook  # the daemon tests import it from here

REPO = Path(__file__).resolve().parent.parent


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; return it, or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Slow wire</title><link>http://127.0.0.1/</link><description>test</description>
<item><title>Zorglub over the slow wire</title><link>http://127.0.0.1/item/1</link><guid>slow-1</guid>
<description>A zorglub came through a slow server.</description></item>
</channel></rss>
"""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a daemon that leaves mid-answer (the test of the grace period) is expected here


class SlowFeed:
    """Serves FEED after ``delay`` seconds; records when each request arrived."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.requests: list[float] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests.append(time.monotonic())
                time.sleep(feed.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(FEED)))
                self.end_headers()
                self.wfile.write(FEED)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class NotifySocket:
    """A fake ``$NOTIFY_SOCKET``: records every sd_notify datagram with its arrival time."""

    def __init__(self, path: Path | None = None, abstract: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            self.sock.bind("\0" + abstract)
            self.address = "@" + abstract
        else:
            assert path is not None
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._recv, daemon=True)
        self._thread.start()

    def _recv(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def lines(self, prefix: str) -> list[tuple[float, str]]:
        return [(t, line) for t, m in list(self.messages) for line in m.splitlines() if line.startswith(prefix)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self.sock.close()


@dataclass
class DaemonProcess:
    """``python -m watcher --config ... run`` with its output collected line by line."""

    proc: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pumps = [
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            for stream, sink in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))
        ]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in iter(stream.readline, ""):
            sink.append(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return "".join(self.stderr)

    def wait_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str] | None:
        rx = re.compile(pattern)
        return wait_until(lambda: next((m for line in list(self.stderr) if (m := rx.search(line))), None), timeout)

    def send(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def ctrl_c(self) -> None:
        """SIGINT to the whole process group, as a terminal does: worker processes get it too."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def wait(self, timeout: float = 15.0) -> int:
        """Exit status, once the process has ended and everything it wrote has been read."""
        code = self.proc.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout=2)  # EOF comes once the worker processes are gone too
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # worker processes left behind, if any
            os.killpg(self.proc.pid, signal.SIGKILL)


class DaemonProject(Project):
    """A project (config, rules folder, drop folder, database) whose daemon runs as a real subprocess."""

    def __init__(self, root: Path, receiver: Webhook) -> None:
        super().__init__(root)
        self.receiver = receiver
        self.processes: list[DaemonProcess] = []
        self._n = 0

    def write_config(self, *, watcher: dict[str, str] | None = None, sources: str | None = None) -> None:
        """``watcher`` overrides keys of the [watcher] table (values are TOML literals)."""
        settings = {
            "database": '"var/watcher.db"',
            "rules": '["rules/"]',
            "interval": '"1m"',
            "shutdown_grace": '"5s"',
            "retry_initial": '"1s"',
            **(watcher or {}),
        }
        if sources is None:
            sources = '[[source]]\nname = "drop"\npath = "drop/"\ninterval = "1m"\n'
        text = (
            "[watcher]\n"
            + "".join(f"{key} = {value}\n" for key, value in settings.items())
            + "\n"
            + textwrap.dedent(sources)
            + textwrap.dedent(
                f"""
                [[notify]]
                name = "desk"
                url = "{self.receiver.url_for("alerts")}"
                tags = ["all"]

                [[notify]]
                name = "ops"
                url = "{self.receiver.url_for("admin")}"
                tags = ["admin"]
                """
            )
        )
        self.config.write_text(text, encoding="utf-8")

    def write_rules(self, *rules: tuple[str, str, str], name: str = "rules.yml") -> Path:
        """Each rule is (id, title, phrase)."""
        body = "".join(
            f'- id: {rid}\n  title: "{title}"\n  severity: high\n  when: "{phrase}"\n' for rid, title, phrase in rules
        )
        path = self.rules / name
        _atomic_write(path, body)
        return path

    def drop_dispatch(self, text: str, name: str | None = None) -> Path:
        """Write a dispatch into the drop folder the way wire software does: a temp name, then rename."""
        self._n += 1
        name = name or f"dispatch-{self._n}.txt"
        path = self.drop / name
        _atomic_write(path, text)
        return path

    def start(
        self, *args: str, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None
    ) -> DaemonProcess:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "WATCHER_CONFIG": ""}
        full_env.pop("NOTIFY_SOCKET", None)
        full_env.pop("WATCHDOG_USEC", None)
        full_env.update(env or {})
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(self.config), *args, "run"],
            cwd=self.root,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=preexec,
            start_new_session=True,  # its own process group, like a job in a terminal (see ctrl_c)
        )
        daemon = DaemonProcess(proc)
        self.processes.append(daemon)
        return daemon

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watcher", "--config", str(self.config), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "--format", "json")
        assert result.returncode in (0, 3), result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    def cleanup(self) -> None:
        for p in self.processes:
            p.kill()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def started(daemon: DaemonProcess, timeout: float = 15.0) -> None:
    """Wait for the daemon's start-up line; fail with its log if it never comes."""
    if not daemon.wait_log(r"daemon started", timeout):
        daemon.kill()
        pytest.fail(f"daemon did not start:\n{daemon.log()}")


@pytest.fixture
def receiver() -> Iterator[Webhook]:
    hook = Webhook().start()
    yield hook
    hook.stop()


@pytest.fixture
def dproject(tmp_path: Path, receiver: Webhook) -> Iterator[DaemonProject]:
    project = DaemonProject(tmp_path, receiver)
    yield project
    project.cleanup()


@pytest.fixture
def slow_feed() -> Iterator[SlowFeed]:
    feed = SlowFeed()
    yield feed
    feed.close()
