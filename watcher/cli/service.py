"""Commands of the service: run (the daemon in the foreground) and status."""

from __future__ import annotations

import json
import sys

import click

from ..config import find_config
from .main import Context, cli, out


@cli.command()
@click.pass_obj
def run(obj: Context) -> None:
    """Run the daemon in the foreground until SIGTERM or Ctrl-C.

    Polls every source at its interval (all of them once at start), watches
    drop folders and rule files, and sends alerts. SIGHUP reloads the config
    and the rules; a saved rule file is picked up within 2 seconds. Under
    systemd it speaks sd_notify (Type=notify, WatchdogSec=). Only one daemon
    may run per database.

    \b
    Example:
      watcher --config config.toml run
      watcher --log-format json -v run
    """
    from ..daemon import run_daemon

    path = obj.config_path or find_config(None)
    sys.exit(run_daemon(path))


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.pass_obj
def status(obj: Context, fmt: str) -> None:
    """Show the daemon's state, read from its database.

    Whether it runs (and its pid), up since, last cycle, rules loaded and
    their hash, the last reload's result, sources in error, pending and
    failed deliveries. Exits 0 when the daemon runs, 3 when it does not
    (as `systemctl status` does).

    \b
    Example:
      watcher --config /etc/watcher/config.toml status
      watcher status --format json | jq .last_reload
    """
    from ..status import daemon_status, format_status

    state = daemon_status(obj.config)
    if fmt == "json":
        out(json.dumps(state, ensure_ascii=False, indent=2))
    else:
        out(format_status(state))
    sys.exit(0 if state["running"] else 3)
