"""Logging set-up, done only by the CLI.

Under journald (``JOURNAL_STREAM`` is set) lines carry no timestamp, since the
journal adds its own, and start with the ``<N>`` syslog priority prefix so
``journalctl -p warning`` works. ``--log-format json`` gives one JSON object per
line for log shippers. Library modules only call ``logging.getLogger(__name__)``.

apprise logs the URLs it is given at DEBUG level, and those URLs hold tokens;
its logger is therefore capped at WARNING whatever ``-v`` says, and a filter
redacts anything that looks like URL credentials from every record.

``-vv`` is for debugging watcher, not its libraries: watchdog logs every
inotify event, APScheduler a "Running job" line per job run (every few
seconds), httpcore every socket step. They stay at WARNING unless
``WATCHER_DEBUG_LIBS=1`` is set too (apprise and urllib3 stay capped anyway).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

_SYSLOG = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}
DEBUG_LIBS_ENV = "WATCHER_DEBUG_LIBS"
NOISY_LIBRARIES = ("watchdog", "apscheduler", "httpcore", "asyncio")
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<userinfo>[^/@\s]+)@", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace the userinfo of every URL in ``text`` (``scheme://user:token@``) with ``****``."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}****@", text)


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _TextFormatter(logging.Formatter):
    def __init__(self, journald: bool) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR:
            message += "\n" + self.formatException(record.exc_info)
        if self.journald:
            return f"<{_SYSLOG.get(record.levelno, 6)}>{record.levelname.lower()}: {message}"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{stamp} {record.levelname.lower()}: {message}"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def configure(*, verbosity: int = 0, fmt: str = "text") -> None:
    """``verbosity``: -1 warnings only, 0 info, 1 debug for watcher, 2 debug for all but the chatty libraries."""
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter(journald=bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if verbosity >= 2 else logging.WARNING)
    logging.getLogger("watcher").setLevel(level)
    # Tokens live in apprise URLs, and apprise prints them at DEBUG: never let it. urllib3 (under
    # apprise's HTTP plugins) logs each request's path at DEBUG, and webhook paths hold tokens too.
    for secretive in ("apprise", "urllib3"):
        logging.getLogger(secretive).setLevel(logging.WARNING)
    chatty = verbosity >= 2 and os.environ.get(DEBUG_LIBS_ENV, "") not in ("", "0")
    for noisy in NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.DEBUG if chatty else logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)  # one line per request
