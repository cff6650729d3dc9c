"""``watcher search``: full-text search over stored items."""

from __future__ import annotations

from datetime import datetime

import click

from ..search import search as run_search
from ..store import Store
from . import ui
from .main import Context, cli


@cli.command("search")
@click.argument("query")
@click.option("--since", type=ui.SINCE, default=None, help="Only items stored since (7d, 24h, 2024-11-26).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most N items.")
@ui.format_option()
@click.pass_obj
def search_command(obj: Context, query: str, since: datetime | None, limit: int, fmt: str) -> None:
    """Search the text of every stored item, folded as rules fold it.

    Case, accents, singular/plural and elided articles do not matter
    ("drone" finds "drones", "l'Otan" finds "Otan"). Words are all required,
    in any order; "quoted words" must be next to each other; a trailing *
    searches a prefix; -word excludes items with it.

    \b
    Example:
      watcher search "missile balistique" --since 7d
      watcher search nucleaire --format json
      watcher search '"conseil otan-ukraine" -russie'
    """
    with Store.open(obj.config.database, readonly=True) as store:
        results = run_search(store, query, since=since, limit=limit)
    records = [r.to_dict() for r in results]
    shown = [
        {**rec, "title": ui.shorten(r.title), "snippet": ui.highlighted(r.snippet, r.highlights)}
        for rec, r in zip(records, results, strict=True)
    ]
    ui.emit(records, fmt, [("fetched_at", "stored"), "source", "title", "snippet", "rules"], table_rows=shown)
