"""``watcher rules backfill``: what the current rules would have fired on stored items."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import click

from ..backfill import backfill
from ..models import Hit, Item
from ..rules import load_rules
from ..store import Store
from . import rules as _rules  # noqa: F401  (registers the `rules` group this command joins)
from . import ui
from .main import Context, cli

rules = cli.commands["rules"]
assert isinstance(rules, click.Group)


def _row(hit: Hit) -> dict[str, Any]:
    return {
        **hit.to_dict(),
        "evidence_text": " | ".join(e.text for e in hit.evidence),
    }


@rules.command("backfill")
@click.option("--rule", "rule_id", metavar="ID", default=None, help="Only this rule (default: every rule).")
@click.option("--since", type=ui.SINCE, default="7d", show_default=True, help="Items stored since (7d, 24h, a date).")
@click.option("--apply", is_flag=True, help="Record the hits (marked 'backfill'); nothing is ever notified.")
@ui.format_option()
@click.pass_obj
def backfill_command(obj: Context, rule_id: str | None, since: datetime, apply: bool, fmt: str) -> None:
    """Show what the current rules would have fired on the items already stored.

    Lists only hits the database does not hold yet. With --apply they are
    recorded (suppressed = backfill) so reports and `watcher hits` include
    them; no notification is sent, whatever the targets. --rule also runs a
    rule drafted with `enabled: false`, so it can be tried before it goes live.

    \b
    Example:
      watcher rules backfill --rule drone-swarm --since 7d
      watcher rules backfill --since 30d --apply
      watcher rules backfill --format json
    """
    config = obj.config
    ruleset = load_rules(
        list(config.rules), regex_timeout=config.regex_timeout.total_seconds(), max_text=config.max_text
    )

    def progress(items: Iterable[tuple[Item, datetime]], total: int) -> Iterable[tuple[Item, datetime]]:
        return ui.progress(items, total=total, description="matching stored items")

    with Store.open(config.database, readonly=not apply) as store:
        result = backfill(
            store,
            ruleset,
            rule=rule_id,
            since=since,
            apply=apply,
            progress=progress,
            regex_timeout=config.regex_timeout.total_seconds(),
            max_text=config.max_text,
        )
    rows = [_row(h) for h in result.hits]
    shown = [{**r, "item": ui.shorten(r["item"], 70)} for r in rows]
    ui.emit(
        rows,
        fmt,
        [
            ("fired_at", "stored"),
            "rule",
            "severity",
            "item",
            "source",
            "value",
            "negated",
            ("evidence_text", "evidence"),
        ],
        table_rows=shown,
    )
    summary = (
        f"{result.items_scanned} items matched, {len(result.hits)} new hits ({result.already_stored} already stored)"
    )
    if apply:
        summary += f"; recorded {result.recorded} hits as 'backfill', nothing was notified"
    elif result.hits:
        summary += "; run again with --apply to record them"
    click.echo(summary, err=True)
