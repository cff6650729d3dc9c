"""SIGTERM in the middle of a poll: exit 0 within 10 s, and nothing fetched is ever lost.

A local HTTP server serves a feed slowly, so the signal arrives while the daemon is inside the
fetch. Either the run finishes within the grace period and its alert is sent before the exit, or the
grace period is shorter than the run, the process leaves without storing, and the next start fetches,
stores and alerts the item.
"""

from __future__ import annotations

import signal
import time

from daemon_fixtures import DaemonProject, SlowFeed, Webhook, started, wait_until


def _config(dproject: DaemonProject, feed: SlowFeed, grace: str) -> None:
    dproject.write_config(
        watcher={"shutdown_grace": f'"{grace}"'},
        sources=f'[[source]]\nname = "slow"\nurl = "{feed.url}"\ninterval = "1m"\nallow_private_networks = true\n',
    )
    dproject.write_rules(("alpha", "Alpha alert", "zorglub"))


def test_sigterm_during_a_poll_finishes_the_run_within_the_grace(
    dproject: DaemonProject, receiver: Webhook, slow_feed: SlowFeed
) -> None:
    _config(dproject, slow_feed, grace="6s")
    slow_feed.delay = 2.0
    daemon = dproject.start()
    started(daemon)
    assert wait_until(lambda: slow_feed.requests, 10), daemon.log()

    signalled = time.monotonic()
    daemon.send(signal.SIGTERM)
    assert daemon.wait(timeout=10) == 0
    assert time.monotonic() - signalled < 10
    # The in-flight run was allowed to finish: stored and alerted before the exit.
    assert len(receiver.messages("alerts", "Zorglub over the slow wire")) == 1, daemon.log()
    assert "Traceback" not in daemon.log()


def test_sigterm_past_the_grace_loses_nothing_a_restart_stores_and_alerts_it(
    dproject: DaemonProject, receiver: Webhook, slow_feed: SlowFeed
) -> None:
    _config(dproject, slow_feed, grace="1s")
    slow_feed.delay = 5.0
    daemon = dproject.start()
    started(daemon)
    assert wait_until(lambda: slow_feed.requests, 10), daemon.log()

    signalled = time.monotonic()
    daemon.send(signal.SIGTERM)
    assert daemon.wait(timeout=10) == 0
    assert time.monotonic() - signalled < 4
    assert "shutdown grace expired" in daemon.log()
    assert not receiver.messages("alerts", "Zorglub over the slow wire")

    slow_feed.delay = 0.0
    again = dproject.start()
    started(again)
    assert receiver.wait_for("Zorglub over the slow wire", path="alerts", timeout=10), again.log()
    assert again.stop() == 0
    assert len(receiver.messages("alerts", "Zorglub over the slow wire")) == 1
    hits = dproject.cli("hits", "--format", "json")
    assert '"alpha"' in hits.stdout
