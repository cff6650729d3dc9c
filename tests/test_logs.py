"""Log set-up: at -vv the chatty libraries stay quiet unless WATCHER_DEBUG_LIBS=1 asks for them.

Each case runs in its own interpreter (logging is process-global) with a real
APScheduler scheduler and a real watchdog observer, the two that flooded -vv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import logging, sys, threading, time
    from pathlib import Path
    from apscheduler.schedulers.background import BackgroundScheduler
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    from watcher.logs import configure

    configure(verbosity=int(sys.argv[2]))
    folder = Path(sys.argv[1])
    seen = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            seen.set()

    observer = Observer()
    observer.schedule(Handler(), str(folder))
    observer.start()
    ran = threading.Event()
    scheduler = BackgroundScheduler()
    scheduler.add_job(ran.set, "interval", seconds=0.05, id="tick")
    scheduler.start()
    (folder / "dispatch.txt").write_text("drones")
    assert seen.wait(5) and ran.wait(5)
    time.sleep(0.1)
    scheduler.shutdown()
    observer.stop()
    observer.join()
    logging.getLogger("watcher.test").debug("watcher debug line")
    logging.getLogger("asyncio").debug("asyncio debug line")
    logging.getLogger("somelib").debug("other library debug line")
    """
)


def _run(tmp_path: Path, verbosity: int, debug_libs: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHER_DEBUG_LIBS", "JOURNAL_STREAM")}
    if debug_libs is not None:
        env["WATCHER_DEBUG_LIBS"] = debug_libs
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(verbosity)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.parametrize("debug_libs", [None, "0"])
def test_vv_keeps_scheduler_watchdog_and_asyncio_quiet(tmp_path: Path, debug_libs: str | None) -> None:
    err = _run(tmp_path, 2, debug_libs)
    assert "watcher debug line" in err  # -vv is debug for watcher
    assert "other library debug line" in err  # and for libraries that do not flood
    assert "Running job" not in err
    assert "in-event" not in err and "watchdog" not in err.lower()
    assert "asyncio debug line" not in err


def test_debug_libs_env_lets_them_through(tmp_path: Path) -> None:
    err = _run(tmp_path, 2, "1")
    assert "Running job" in err
    assert "asyncio debug line" in err


def test_debug_libs_env_needs_vv(tmp_path: Path) -> None:
    err = _run(tmp_path, 1, "1")
    assert "watcher debug line" in err
    assert "Running job" not in err and "other library debug line" not in err
