"""``watcher report``: one self-contained HTML page for a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from ..report import write_report
from ..store import Store
from . import ui
from .main import Context, cli


@cli.command("report")
@click.option(
    "--since",
    type=ui.SINCE,
    default="7d",
    show_default=True,
    help="Start of the period (7d, 24h, 2024-11-26).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="HTML file to write.",
)
@click.option("--latest", type=click.IntRange(min=1), default=50, show_default=True, help="Hits listed in full.")
@click.pass_obj
def report_command(obj: Context, since: datetime, output: Path, latest: int) -> None:
    """Write one HTML page: hits per rule per day, the latest hits with evidence, failing sources.

    The page has no external asset and no script: open it offline, mail it, attach it.

    \b
    Example:
      watcher report --since 7d -o report.html
      watcher report --since 2024-11-01 -o november.html
    """
    now = datetime.now(UTC)
    since = min(since, now - timedelta(seconds=1))
    with Store.open(obj.config.database, readonly=True) as store:
        report = write_report(store, output, since=since, now=now, latest=latest)
    click.echo(
        f"wrote {output}: {report.total_hits} hits from {len(report.per_day)} rules"
        f" over {len(report.days)} days, {len(report.failing)} failing sources"
    )
