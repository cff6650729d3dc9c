"""The ``console://`` target: apprise's custom-notification hook printing to stdout.

Registered with ``@apprise.decorators.notify`` rather than special-cased in the
outbox, so a console alert goes through exactly the path an email or a chat
message does (rendering, outbox, retries, marking): what ``make run`` shows is
what real targets get.
"""

from __future__ import annotations

import sys
from typing import Any

from apprise import NotifyFormat
from apprise.decorators import notify

SCHEMA = "console"
_registered = False


def register() -> None:
    """Register the schema once per process (apprise keeps a process-wide plugin table)."""
    global _registered
    if _registered:
        return
    notify(on=SCHEMA, name="Console", body_format=NotifyFormat.TEXT)(_print)  # type: ignore[no-untyped-call]
    _registered = True


def _print(body: str, title: str, *args: Any, **kwargs: Any) -> bool:
    # sys.stdout is looked up at call time so click's CliRunner and redirections see it.
    out = sys.stdout
    rule = "=" * min(max(len(title), 20), 100)
    out.write(f"{rule}\n{title}\n{rule}\n{body.rstrip()}\n\n")
    out.flush()
    return True
