"""sd_notify(3) without libsystemd: READY, WATCHDOG, STATUS and STOPPING messages.

The protocol is one datagram per message on the AF_UNIX socket named by
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). It is
small enough to speak directly, which spares a C extension (systemd-python)
or an unmaintained wrapper as a dependency. Outside systemd every call is a
cheap no-op, so the daemon calls it unconditionally.

Reference: https://www.freedesktop.org/software/systemd/man/sd_notify.html
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends state changes to the service manager, if there is one listening."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval = _watchdog_interval(env)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._failed = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` lines as one datagram; False when not under systemd or it failed."""
        if self.address is None:
            return False
        message = "\n".join(f.replace("\n", " ") for f in fields)
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.sendto(message.encode("utf-8"), self.address)
            except OSError as exc:
                if not self._failed:  # a gone manager is logged once, not at every ping
                    log.warning("sd_notify failed socket=%s error=%s", os.environ.get("NOTIFY_SOCKET"), exc)
                    self._failed = True
                return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd tell this reload from an earlier one (required by Type=notify-reload).
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={now_usec}", "STATUS=reloading configuration and rules")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _socket_address(value: str) -> str | None:
    if not value:
        return None
    if value.startswith("@"):  # abstract namespace: a leading NUL byte instead of '@'
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    log.warning("unsupported NOTIFY_SOCKET=%s (only AF_UNIX paths and @abstract names)", value)
    return None


def _watchdog_interval(env: os._Environ[str] | dict[str, str]) -> float | None:
    """Seconds between pings: half of ``$WATCHDOG_USEC``, if the watchdog is meant for this process."""
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 / 2 if value > 0 else None
