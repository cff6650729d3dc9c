"""The root ``watcher`` group, global options and the one place errors become exit codes."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..config import Config, find_config, load_config
from ..errors import WatcherError

log = logging.getLogger("watcher")


@dataclass
class Context:
    config_path: str | None
    verbosity: int
    log_format: str
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path if self.config_path else find_config(None))
        return self._config


class WatcherGroup(click.Group):
    """Turns every WatcherError into one line on stderr and its exit code: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WatcherError as exc:
            click.echo(f"error: {exc}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            ctx.exit(130)


def setup_logging(verbosity: int, fmt: str) -> None:
    from ..logs import configure

    configure(verbosity=verbosity, fmt=fmt)


@click.group(cls=WatcherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Config file (default: ./config.toml, then $WATCHER_CONFIG).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Less log output (warnings and errors only).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log line format on stderr (json for log shippers).",
)
@click.version_option(__version__, prog_name="watcher")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: int, log_format: str) -> None:
    """Watch news wires and feeds, match alert rules, store hits, notify.

    \b
    Example:
      watcher --config config.toml poll
      watcher hits --since 24h --format json
    """
    verbosity = verbose - quiet
    setup_logging(verbosity, log_format)
    # A one-shot command stopped with SIGTERM (a timeout, systemd, a shell's kill)
    # unwinds like Ctrl-C, so open databases close and parser workers are reaped;
    # `watcher run` installs its own handlers on top of this one.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    ctx.obj = Context(config_path=config_path, verbosity=verbosity, log_format=log_format)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    cli(prog_name="watcher")


def out(text: str = "") -> None:
    click.echo(text)


def die(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def paths(values: tuple[str, ...]) -> list[Path]:
    return [Path(v) for v in values]
