"""Parser worker processes, as a long-running daemon needs them.

The Fetcher parses in a process pool (so both cores serve); these helpers
make that pool behave under a daemon: deaf to the terminal's Ctrl-C, started
before the first document arrives, and never left behind by a hard exit.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)


def shield_from_ctrl_c() -> None:
    """Start multiprocessing's fork server while SIGINT is ignored.

    A terminal's Ctrl-C goes to the whole process group: every parser worker
    would die of it with a KeyboardInterrupt traceback. Python keeps an
    inherited "ignore" for SIGINT, so the fork server started now, and every
    worker it forks later, ignores it: the daemon alone stops them, by closing
    the pool during its orderly shutdown. Call it before installing handlers.
    """
    from multiprocessing import forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    except (OSError, ValueError) as exc:  # no fork server on this platform: workers start another way
        log.debug("fork server not started error=%s", exc)
    finally:
        signal.signal(signal.SIGINT, previous)


def warm_up(fetcher: Any) -> None:
    """Start the parser processes now, in the background, rather than on the first document.

    Starting them takes over a second, which would make the first dispatch
    dropped after a (re)start miss the two-second promise.
    """

    def parse_once() -> None:
        pool = getattr(fetcher, "pool", None)
        try:
            if pool is not None and getattr(pool, "workers", 0) > 0:
                pool.parse(b"warm up\n\nthe parser processes", origin="warm-up", source="warm-up")
        except Exception as exc:  # a failed warm-up only costs the first parse its speed
            log.debug("parser warm-up failed error=%s", exc)

    threading.Thread(target=parse_once, name="watcher-warm-up", daemon=True).start()


def kill_all() -> None:
    """Kill every worker process still alive: for an exit that cannot wait for the pool to close."""
    for child in multiprocessing.active_children():
        child.kill()
