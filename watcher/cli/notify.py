"""Commands of the delivery area: notify test, deliveries."""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import NotifyError
from ..models import Delivery, iso
from ..store import Store
from .main import Context, cli, out


@cli.group("notify")
def notify_group() -> None:
    """Notification targets ([[notify]] entries of the config).

    \b
    Example:
      watcher notify test
      watcher notify test --tag admin
    """


@notify_group.command("test")
@click.option("--tag", metavar="TAG", default=None, help="Only the targets carrying this tag.")
@click.pass_obj
def notify_test(obj: Context, tag: str | None) -> None:
    """Send a test message to every target and print what each one really answered.

    Targets are shown in apprise's privacy form (no tokens). Exits 1 when any
    target failed, so it can gate a deployment.

    \b
    Example:
      watcher --config /etc/watcher/config.toml notify test
      watcher notify test --tag desk
    """
    from ..notify import Notifier

    config = obj.config
    if not config.notify:
        raise NotifyError(f"no [[notify]] target in {config.path}", hint='add one, e.g. url = "console://"')
    with Store.open(config.database) as store:
        notifier = Notifier(config, store)
        try:
            results = notifier.test(tag)
        finally:
            notifier.close()
    if not results:
        known = sorted({t for n in config.notify for t in n.tags})
        raise NotifyError(f"no notify target is tagged {tag!r} (tags in use: {', '.join(known)})")
    for r in results:
        if r.ok:
            out(f"ok      {r.target}  {r.url}")
        else:
            out(f"FAILED  {r.target}  {r.url}: {r.error}")
    failed = sum(1 for r in results if not r.ok)
    if failed:
        click.echo(f"error: {failed} of {len(results)} target(s) failed", err=True)
        raise SystemExit(1)


_COLUMNS = ["id", "status", "kind", "target", "hit", "attempts", "created_at", "next_attempt_at", "sent_at", "error"]


@cli.command()
@click.option(
    "--status",
    type=click.Choice(["pending", "sent", "failed"]),
    default=None,
    help="Only deliveries in this state (default: all).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the newest N.")
@click.pass_obj
def deliveries(obj: Context, status: str | None, fmt: str, limit: int | None) -> None:
    """List the outbox: one row per message owed to one target.

    A hit waiting in a digest is pending until its digest is sent. The error
    column says why a delivery is being retried or why it failed.

    \b
    Example:
      watcher deliveries --status failed
      watcher deliveries --status pending --format json
    """
    config = obj.config
    with Store.open(config.database, readonly=True) as store:
        rows = [_row(d) for d in store.deliveries(status=status)]
    if limit:
        rows = rows[-limit:]
    if fmt == "json":
        out(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from .ui import table

    if not rows:
        out(f"no {status + ' ' if status else ''}deliveries")
        return
    table([{**r, "error": _short(r["error"])} for r in rows], _COLUMNS)


def _row(d: Delivery) -> dict[str, Any]:
    hit: str | None = d.hit_id
    if d.kind == "digest" and d.payload:
        hit = f"{len(d.payload.get('hit_ids', []))} hits"
    elif d.kind in ("admin", "test") and d.payload:
        hit = str(d.payload.get("title", ""))[:40]
    return {
        "id": d.id,
        "status": d.status.value,
        "kind": d.kind,
        "target": d.target,
        "hit": hit,
        "attempts": d.attempts,
        "created_at": iso(d.created_at),
        "next_attempt_at": iso(d.next_attempt_at),
        "sent_at": iso(d.sent_at),
        "digest": d.digest_id,
        "error": d.last_error,
    }


def _short(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
