"""Commands of the core pipeline: poll, hits, sources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..models import iso
from ..store import Store
from . import ui
from .main import Context, cli, out


@cli.command()
@click.option("--source", "source_names", multiple=True, metavar="NAME", help="Poll only this source (repeatable).")
@click.pass_obj
def poll(obj: Context, source_names: tuple[str, ...]) -> None:
    """Poll every source once now (or only --source NAME), then print a summary.

    New items are matched, stored and alerted exactly as the daemon would; a
    second poll of the same input adds nothing and sends nothing. Exits 1 when
    a source failed.

    \b
    Example:
      watcher --config config.toml poll
      watcher poll --source seed
    """
    from ..pipeline import open_pipeline

    config = obj.config
    names = list(source_names) or [s.name for s in config.sources if s.enabled]
    for name in names:
        config.source(name)  # unknown names fail before anything is opened
    failed = 0
    with open_pipeline(config) as pipeline:
        for name in names:
            run = pipeline.run_source(name)
            if run.error:
                failed += 1
                out(f"{name}: error: {run.error}")
            else:
                note = " (not modified)" if run.not_modified else ""
                out(
                    f"{name}: {run.fetched} fetched, {run.new_items} new, {run.new_hits} hits, "
                    f"{run.alerts} alerts{note}"
                )
        pending = len(pipeline.store.deliveries(status="pending"))
    out(f"{len(names)} source(s) polled, {failed} failed, {pending} deliveries pending")
    if failed:
        raise SystemExit(1)


@cli.command()
@click.option("--rule", metavar="ID", default=None, help="Only hits of this rule.")
@click.option("--since", type=ui.SINCE, default=None, help="Only hits newer than this (24h, 7d, or a date).")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many hits (the most recent).")
@ui.format_option()
@click.pass_obj
def hits(obj: Context, rule: str | None, since: datetime | None, limit: int | None, fmt: str) -> None:
    """List stored hits, oldest first.

    --format json prints one JSON array; each hit has id, rule, title,
    severity, item, source, link, value, negated, evidence and fired_at
    (ISO 8601, UTC).

    \b
    Example:
      watcher hits --since 24h
      watcher hits --rule drone-swarm --format json
    """
    with Store.open(obj.config.database, readonly=True) as store:
        found = store.hits(rule=rule, since=since)
    if limit is not None:
        found = found[-limit:] if limit > 0 else []
    rows = [h.to_dict() for h in found]
    shown = [
        {**row, "item": ui.shorten(row["item"], 60), "evidence": ui.shorten(" | ".join(_evidence(row)), 80)}
        for row in rows
    ]
    columns = ["fired_at", "severity", "rule", "value", "negated", "item", "evidence", "id"]
    ui.emit(rows, fmt, columns, table_rows=shown)


def _evidence(row: dict[str, Any]) -> list[str]:
    """Each distinct evidence text once, in order, marked when negated."""
    seen: dict[str, None] = {}
    for e in row["evidence"]:
        seen.setdefault(e["text"] + (" (negated)" if e["negated"] else ""), None)
    return list(seen)


@cli.command()
@ui.format_option()
@click.pass_obj
def sources(obj: Context, fmt: str) -> None:
    """Show every configured source and its health.

    Status is ok, failing (consecutive errors), silent (no new item for much
    longer than usual) or never polled.

    \b
    Example:
      watcher sources
      watcher sources --format json
    """
    config = obj.config
    from ..sources import health

    # Before the first poll there is no database: show the sources as never polled
    # rather than creating one as a side effect of looking.
    database = config.database if config.database.exists() else ":memory:"
    with Store.open(database, readonly=database != ":memory:") as store:
        rows = health(store, config)
    for row in rows:
        for key, value in list(row.items()):
            if isinstance(value, datetime):
                row[key] = iso(value)
    ui.emit(rows, fmt, ["name", "kind", "status", "last_success", "last_error", "consecutive_failures",
                "items_seen", "next_poll", "location"])  # fmt: skip
