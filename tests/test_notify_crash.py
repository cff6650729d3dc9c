"""Crash safety of the outbox: a real process killed between commit and send, or between send and mark.

The child commits a cycle exactly as the pipeline does. To die *between
commit and send* it waits after committing and the test SIGKILLs it; to die
*between send and mark* (a window no signal can hit deterministically) it sets
WATCHER_TEST_CRASH=after-send, which makes the notifier ``os._exit`` right
after the target accepted the message, before the store records it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from notify_fixtures import Clock, make_config, notifier
from servers_notify import WebhookServer

from watcher.models import DeliveryStatus
from watcher.notify import CRASH_ENV

TESTS = Path(__file__).resolve().parent

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from notify_fixtures import Clock, fire, hit, item, make_config, notifier, rule

    cfg = make_config(Path(sys.argv[1]), [{"name": "hook", "url": sys.argv[2]}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        fire(store, n, r, [(it, hit(r, it))], clock())
        print("committed", flush=True)
        if sys.argv[3] == "wait":
            sys.stdin.readline()  # the test kills us here
        n.flush()
    print("finished", flush=True)
    """
)


def child(tmp_path: Path, url: str, mode: str, crash: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), url, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def restart_and_flush(tmp_path: Path, url: str, times: int = 3) -> list[DeliveryStatus]:
    cfg = make_config(tmp_path, [{"name": "hook", "url": url}])
    with notifier(cfg, Clock()) as (store, n):
        for _ in range(times):
            n.flush()
        return [d.status for d in store.deliveries()]


def test_killed_between_commit_and_send_delivers_once_after_restart(tmp_path: Path, webhook: WebhookServer) -> None:
    proc = child(tmp_path, webhook.url, "wait")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "committed"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert webhook.attempts == 0

    assert restart_and_flush(tmp_path, webhook.url) == [DeliveryStatus.SENT]
    assert len(webhook.requests) == 1


def test_killed_after_send_before_mark_gives_at_most_one_duplicate_with_the_same_hit_id(
    tmp_path: Path, webhook: WebhookServer
) -> None:
    proc = child(tmp_path, webhook.url, "go", crash="after-send")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 86 and "finished" not in out
    assert len(webhook.requests) == 1

    assert restart_and_flush(tmp_path, webhook.url) == [DeliveryStatus.SENT]
    assert len(webhook.requests) == 2
    first, second = (r.json()["message"] for r in webhook.requests)
    assert first == second  # the duplicate is recognisable: same message, same hit id
    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url}])
    with notifier(cfg, Clock()) as (store, _):
        [h] = store.hits()
    assert h.id in first


def test_crash_before_send_hook_then_restart(tmp_path: Path, webhook: WebhookServer) -> None:
    proc = child(tmp_path, webhook.url, "go", crash="before-send")
    proc.communicate(timeout=30)
    assert proc.returncode == 86
    assert webhook.attempts == 0
    assert restart_and_flush(tmp_path, webhook.url) == [DeliveryStatus.SENT]
    assert len(webhook.requests) == 1
