"""One daemon per database: an flock(2) on a lock file next to it.

flock rather than a PID file: the kernel drops the lock when the process dies,
however it dies (SIGKILL, OOM killer, power cut), so a stale lock can never
keep the service from restarting. The file is never deleted: unlinking a lock
file while another process waits on it lets two processes hold "the" lock.
The PID written inside is only for messages.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from .errors import AlreadyRunning


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DatabaseLock:
    """Exclusive, non-blocking lock held for the daemon's lifetime."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # `watcher status` probes with a brief shared lock; a few short retries
        # keep a daemon that starts at that exact moment from refusing.
        for attempt in range(5):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 4:
                    pid = _read_pid(fd)
                    os.close(fd)
                    who = f" (pid {pid})" if pid else ""
                    raise AlreadyRunning(
                        f"another watcher daemon{who} is already running on {self.database}",
                        hint="stop it first (systemctl stop watcher), or point this one at another database",
                    ) from None
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatabaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(database: Path) -> int | None:
    """PID of the daemon holding the lock on ``database`` (0 if unknown), or None when nobody does."""
    path = lock_path(database)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None
