"""One self-contained HTML page: hits per rule per day, the latest hits and their evidence, failing sources.

The page must open anywhere, offline, forwarded by mail or attached to a ticket:
no external asset, no script. The chart is an SVG drawn here (a stacked bar per
day) and every piece of item text goes through Jinja2's autoescape; a
Content-Security-Policy forbids scripts and remote loads as a second fence,
because item text is written by strangers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jinja2

from . import __version__
from .models import Evidence, Hit, SourceState, iso
from .store import Store

# Colour-blind-safe categorical palette (Okabe & Ito), then a few extra distinct hues.
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
    "#8C564B", "#7F7F7F", "#17BECF", "#BCBD22",
)  # fmt: skip
OTHER = "other rules"
MAX_SERIES = len(PALETTE) - 1  # beyond this, the smallest rules share one "other rules" colour

# Chart geometry (SVG user units).
WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 48


@dataclass(frozen=True)
class Bar:
    """One rectangle of the chart: one rule on one day."""

    x: float
    y: float
    width: float
    height: float
    color: str
    rule: str
    day: str
    count: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    x_labels: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, int], ...]
    legend: tuple[tuple[str, str, int], ...]  # (rule, colour, total)
    plot: tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    days: tuple[date, ...]
    per_day: dict[str, Counter[date]]  # rule -> day -> hits
    titles: dict[str, str]  # rule -> title
    latest: tuple[Hit, ...]
    suppressed: dict[str, str | None]  # hit id -> why it was not notified
    failing: tuple[SourceState, ...]
    total_hits: int
    total_items: int
    chart: Chart = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chart", draw_chart(self.days, self.per_day))


def build_report(store: Store, *, since: datetime, now: datetime | None = None, latest: int = 50) -> Report:
    """Gather what the page shows, from the database only."""
    now = now or datetime.now(UTC)
    first, last = since.astimezone(UTC).date(), now.astimezone(UTC).date()
    days = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    per_day: dict[str, Counter[date]] = {}
    titles: dict[str, str] = {}
    total = 0
    rows = store.conn.execute(
        "SELECT rule, title, substr(fired_at, 1, 10) AS day, count(*) AS n FROM hits"
        " WHERE fired_at >= ? AND fired_at <= ? GROUP BY rule, day",
        (iso(since), iso(now)),
    )
    for row in rows:
        per_day.setdefault(row["rule"], Counter())[date.fromisoformat(row["day"])] += row["n"]
        titles[row["rule"]] = row["title"]
        total += row["n"]
    latest_rows = store.conn.execute(
        "SELECT id, suppressed FROM hits WHERE fired_at >= ? AND fired_at <= ?"
        " ORDER BY fired_at DESC, rowid DESC LIMIT ?",
        (iso(since), iso(now), latest),
    ).fetchall()
    hits = tuple(h for h in (store.hit(r["id"]) for r in latest_rows) if h is not None)
    failing = tuple(
        s
        for s in store.source_states()
        if s.consecutive_failures > 0
        or (s.last_error_at is not None and (s.last_success is None or s.last_error_at > s.last_success))
    )
    items = store.conn.execute("SELECT count(*) FROM items WHERE fetched_at >= ?", (iso(since),)).fetchone()[0]
    return Report(
        since=since,
        until=now,
        days=days,
        per_day=per_day,
        titles=titles,
        latest=hits,
        suppressed={r["id"]: r["suppressed"] for r in latest_rows},
        failing=failing,
        total_hits=total,
        total_items=int(items),
    )


def draw_chart(days: tuple[date, ...], per_day: dict[str, Counter[date]]) -> Chart:
    """A stacked bar per day, one colour per rule (the busiest rules first)."""
    totals = Counter({rule: sum(c.values()) for rule, c in per_day.items()})
    ranked = [rule for rule, _n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
    series: dict[str, Counter[date]] = {rule: per_day[rule] for rule in ranked[:MAX_SERIES]}
    if len(ranked) > MAX_SERIES:
        other: Counter[date] = Counter()
        for rule in ranked[MAX_SERIES:]:
            other.update(per_day[rule])
        series[OTHER] = other
    colors = {rule: PALETTE[i % len(PALETTE)] for i, rule in enumerate(series)}

    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    day_max = max((sum(c[d] for c in series.values()) for d in days), default=0)
    y_max = _nice_ceiling(max(day_max, 1))
    slot = (right - left) / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    scale = (bottom - top) / y_max

    bars: list[Bar] = []
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        y = float(bottom)
        for rule, counts in series.items():
            n = counts.get(day, 0)
            if not n:
                continue
            h = n * scale
            y -= h
            bars.append(Bar(round(x, 2), round(y, 2), round(bar_w, 2), round(h, 2), colors[rule], rule, str(day), n))
    every = max(1, len(days) // 14)  # at most ~14 date labels, whatever the period
    x_labels = tuple(
        (round(left + i * slot + slot / 2, 2), day.strftime("%d %b")) for i, day in enumerate(days) if i % every == 0
    )
    step = y_max // 4 if y_max >= 4 else 1
    y_ticks = tuple((round(bottom - v * scale, 2), v) for v in range(0, y_max + 1, step))
    legend = tuple((rule, colors[rule], sum(series[rule].values())) for rule in series)
    return Chart(WIDTH, HEIGHT, tuple(bars), x_labels, y_ticks, legend, (left, top, right, bottom))


def _nice_ceiling(n: int) -> int:
    """The smallest of 1, 2, 4, 5, 8 or 10 times a power of ten that is >= n, so axis ticks read well."""
    power = 1
    while True:
        for m in (1, 2, 4, 5, 8):
            if m * power >= n:
                return m * power
        power *= 10


@dataclass(frozen=True)
class EvidenceLine:
    """Spans of a hit that say the same thing, shown once: "missile ×5 (title, body)"."""

    text: str
    fields: tuple[str, ...]
    value: float | int | None
    negated: bool
    count: int


MAX_EVIDENCE_LINES = 8


def evidence_lines(hit: Hit, limit: int = MAX_EVIDENCE_LINES) -> tuple[list[EvidenceLine], int]:
    """The hit's evidence grouped by what it says (first seen first), and how many groups were left out.

    A broad rule can hold twenty spans of "missile"; a report reader needs each distinct one once.
    """
    groups: dict[tuple[str, float | int | None, bool], list[Evidence]] = {}
    for e in hit.evidence:
        groups.setdefault((" ".join(e.text.casefold().split()), e.value, e.negated), []).append(e)
    lines = [
        EvidenceLine(
            text=spans[0].text,
            fields=tuple(dict.fromkeys(e.field for e in spans)),
            value=spans[0].value,
            negated=spans[0].negated,
            count=len(spans),
        )
        for spans in groups.values()
    ]
    return lines[:limit], max(0, len(lines) - limit)


def _safe_link(url: str | None) -> str | None:
    """Only http(s) links become clickable: a ``javascript:`` link in a feed stays text."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def render_report(report: Report) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("watcher", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = iso
    env.filters["safe_link"] = _safe_link
    env.globals["evidence_lines"] = evidence_lines
    return env.get_template("report.html.j2").render(r=report, version=__version__)


def write_report(
    store: Store, path: str | Path, *, since: datetime, now: datetime | None = None, latest: int = 50
) -> Report:
    """Build the report and write it to ``path`` (atomically: a reader never sees half a page)."""
    report = build_report(store, since=since, now=now, latest=latest)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_report(report), encoding="utf-8")
    tmp.replace(target)
    return report
