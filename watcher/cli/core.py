"""Commands of the core pipeline: poll, hits, sources."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import click

from ..config import parse_duration
from ..models import iso
from ..store import Store
from .main import Context, cli, out

FORMATS = click.Choice(["table", "json", "csv"])


def since_option(f: Any) -> Any:
    return click.option(
        "--since",
        metavar="DURATION",
        default=None,
        help="Only what is newer than this (30m, 24h, 7d).",
    )(f)


def parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.now(UTC) - parse_duration(value, what="--since")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def emit(rows: list[dict[str, Any]], columns: list[str], fmt: str) -> None:
    """Print rows as one JSON array, CSV with a header, or an aligned table."""
    if fmt == "json":
        out(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        click.echo(buf.getvalue(), nl=False)
        return
    from .ui import table

    table(rows, columns)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


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
@since_option
@click.option("--limit", type=int, default=None, help="At most this many hits (the most recent).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_obj
def hits(obj: Context, rule: str | None, since: str | None, limit: int | None, fmt: str) -> None:
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
        found = store.hits(rule=rule, since=parse_since(since))
    if limit is not None:
        found = found[-limit:] if limit > 0 else []
    rows = [h.to_dict() for h in found]
    if fmt == "table":
        for row in rows:
            row["evidence"] = " | ".join(e["text"] for e in row["evidence"])
            row["value"] = "" if row["value"] is None else row["value"]
    emit(rows, ["fired_at", "severity", "rule", "value", "negated", "item", "evidence", "id"], fmt)


@cli.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
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
    emit(rows, ["name", "kind", "status", "last_success", "last_error", "consecutive_failures",
                "items_seen", "next_poll", "location"], fmt)  # fmt: skip
