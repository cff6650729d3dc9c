"""The daemon's state in the database: written by the daemon, read by `watcher status`.

The daemon records its state in the ``meta`` table as it goes, so status needs
no control socket and works for any user who can read the database; whether
the daemon is alive comes from the lock, not from a PID that may have been
reused. Writers and reader of those keys live together here so they stay in
sync.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .config import Config
from .lock import holder
from .models import UTC, iso, parse_iso
from .store import Store


def _now() -> str:
    return iso(datetime.now(UTC)) or ""


def record_start(store: Store, *, config_path: str, pid: int, rules_count: int, rules_hash: str) -> None:
    store.set_meta(
        started_at=_now(),
        stopped_at=None,
        pid=pid,
        config=config_path,
        rules_count=rules_count,
        rules_hash=rules_hash,
        last_reload={"at": _now(), "ok": True, "message": f"{rules_count} rules loaded at start"},
    )


def record_stop(store: Store) -> None:
    store.set_meta(stopped_at=_now())


def record_cycle(store: Store, run: Any) -> None:
    """One ``SourceRun`` as the last cycle."""
    store.set_meta(
        last_cycle={
            "at": _now(),
            "source": run.name,
            "new_items": run.new_items,
            "new_hits": run.new_hits,
            "error": run.error,
            "duration": round(run.duration, 3),
        }
    )


def record_reload(store: Store, *, ok: bool, message: str, rules_count: int | None, rules_hash: str | None) -> None:
    values: dict[str, Any] = {"last_reload": {"at": _now(), "ok": ok, "message": message}}
    if ok and rules_count is not None:
        values.update(rules_count=rules_count, rules_hash=rules_hash)
    store.set_meta(**values)


def delivery_counts(store: Store) -> dict[str, int]:
    counts = dict.fromkeys(("pending", "sent", "failed"), 0)
    for row in store.execute("SELECT status, count(*) FROM deliveries GROUP BY status"):
        counts[row[0]] = row[1]
    return counts


def daemon_status(config: Config) -> dict[str, Any]:
    pid = holder(config.database)
    with Store.open(config.database, readonly=True) as store:
        meta = store.meta()
        states = store.source_states()
        counts = delivery_counts(store)
    failing = [
        {
            "name": s.name,
            "error": s.last_error,
            "since": iso(s.last_error_at),
            "consecutive_failures": s.consecutive_failures,
        }
        for s in states
        if s.consecutive_failures > 0
    ]
    return {
        "running": pid is not None,
        "pid": pid if pid else meta.get("pid"),
        "database": str(config.database),
        "started_at": meta.get("started_at"),
        "stopped_at": meta.get("stopped_at"),
        "last_cycle": meta.get("last_cycle"),
        "rules": {"count": meta.get("rules_count"), "hash": meta.get("rules_hash")},
        "last_reload": meta.get("last_reload"),
        "sources_in_error": failing,
        "deliveries": counts,
    }


def _ago(stamp: str | None, now: datetime) -> str:
    when = parse_iso(stamp)
    if when is None:
        return "never"
    seconds = int((now - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{stamp} ({seconds // size}{unit} ago)"
    return f"{stamp} ({max(seconds, 0)}s ago)"


def format_status(status: dict[str, Any], *, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    lines: list[str] = []
    if status["running"]:
        lines.append(f"daemon:       running (pid {status['pid']}), up since {_ago(status['started_at'], now)}")
    elif status["started_at"]:
        lines.append(f"daemon:       not running (last stopped {_ago(status['stopped_at'], now)})")
    else:
        lines.append("daemon:       not running (never started on this database)")
    lines.append(f"database:     {status['database']}")
    cycle = status["last_cycle"]
    if cycle:
        outcome = (
            f"error: {cycle['error']}"
            if cycle.get("error")
            else f"{cycle.get('new_items', 0)} new items, {cycle.get('new_hits', 0)} hits"
        )
        lines.append(f"last cycle:   {_ago(cycle.get('at'), now)} source {cycle.get('source')}: {outcome}")
    else:
        lines.append("last cycle:   none yet")
    rules = status["rules"]
    if rules["count"] is not None:
        lines.append(f"rules:        {rules['count']} loaded, hash {rules['hash']}")
    reload = status["last_reload"]
    if reload:
        result = "ok" if reload.get("ok") else "FAILED"
        lines.append(f"last reload:  {_ago(reload.get('at'), now)} {result}: {reload.get('message')}")
    failing = status["sources_in_error"]
    if failing:
        lines.append(f"sources:      {len(failing)} in error")
        for s in failing:
            lines.append(f"  {s['name']}: {s['error']} ({s['consecutive_failures']} failures, last {s['since']})")
    else:
        lines.append("sources:      none in error")
    d = status["deliveries"]
    lines.append(f"deliveries:   {d['pending']} pending, {d['failed']} failed, {d['sent']} sent")
    return "\n".join(lines)
