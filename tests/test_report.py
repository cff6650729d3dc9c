"""The HTML report: built from a real database, rendered by a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ecosystem_fixtures import run, write_config
from PIL import Image

from watcher.models import Evidence, Hit, Item, SourceState
from watcher.report import PALETTE, build_report, render_report, write_report
from watcher.store import Store

CHROMIUM = Path("/usr/bin/chromium")
NOW = datetime(2024, 11, 26, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed on first use when we may (root with apt-get); else a clear skip."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip("chromium is not installed and we are not root with apt-get to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, timeout=1200)
    return CHROMIUM


def chrome(binary: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(binary), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}", *args,
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def _hit(n: int, rule: str, item: Item, fired_at: datetime) -> Hit:
    return Hit(**_hit_fields(n, rule, item, fired_at))  # type: ignore[arg-type]


def _hit_fields(n: int, rule: str, item: Item, fired_at: datetime) -> dict[str, object]:
    return {
        "id": f"hit-{n}", "rule": rule, "title": f"{rule} title", "severity": "high", "item_id": item.id,
        "story_id": item.story_id, "source": item.source, "item_title": item.label, "link": item.link,
        "published": None, "value": 188, "negated": False,
        "evidence": (Evidence("body", 0, 10, "188 drones", 188),), "fired_at": fired_at,
    }  # fmt: skip


@pytest.fixture
def store(tmp_path: Path):
    """Three rules over a week, one hostile item, one failing source."""
    s = Store.open(tmp_path / "var" / "watcher.db")
    items, hits = [], []
    plan = {"drone-swarm": [3, 0, 5, 1], "ballistic-missile": [0, 2, 0, 4], "nuclear": [1, 0, 0, 0]}
    n = 0
    for rule, per_day in plan.items():
        for day, count in enumerate(per_day):
            for _ in range(count):
                n += 1
                item = Item(source="wire", guid=f"g{n}", title=f"Dépêche {n}", link=f"https://example.org/{n}")
                items.append(item)
                hits.append((_hit(n, rule, item, NOW - timedelta(days=3 - day, hours=1)), None))
    evil = Item(source="wire", guid="evil", title=HOSTILE, body="x", link="javascript:alert(1)")
    items.append(evil)
    hits.append(
        (
            Hit(**{  # type: ignore[arg-type]
                **_hit_fields(999, "nuclear", evil, NOW - timedelta(minutes=5)),
                "evidence": (Evidence("body", 0, 5, HOSTILE, None, True),),
                "negated": True,
            }),
            "backfill",
        )
    )  # fmt: skip
    s.record_cycle(items, hits, [], now=NOW - timedelta(days=4))
    failing = SourceState(name="lemonde", last_error="HTTP 503 <b>down</b>", last_error_at=NOW, consecutive_failures=4)
    s.save_source_state(failing, kind="http", location="https://example.org/rss")
    s.save_source_state(SourceState(name="seed", last_success=NOW), kind="path", location="seeds/")
    yield s
    s.close()


def test_report_data(store: Store) -> None:
    report = build_report(store, since=NOW - timedelta(days=7), now=NOW)
    assert len(report.days) == 8
    assert report.total_hits == 17
    assert sum(report.per_day["drone-swarm"].values()) == 9
    assert [s.name for s in report.failing] == ["lemonde"]
    assert report.latest[0].id == "hit-999"
    assert report.suppressed["hit-999"] == "backfill"
    bars = report.chart.bars
    assert sum(b.count for b in bars) == 17
    assert {b.rule for b in bars} == {"drone-swarm", "ballistic-missile", "nuclear"}
    busiest = max(bars, key=lambda b: b.height)
    assert busiest.rule == "drone-swarm" and busiest.count == 5


def test_report_escapes_item_text_and_drops_unsafe_links(store: Store) -> None:
    html = render_report(build_report(store, since=NOW - timedelta(days=7), now=NOW))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "javascript:" not in html
    assert 'href="https://example.org/1"' in html
    assert "HTTP 503 &lt;b&gt;down&lt;/b&gt;" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no external asset
    assert not re.search(r"<(img|script|link|iframe|object|embed)\b", html, re.IGNORECASE)


def test_empty_period_still_renders(tmp_path: Path) -> None:
    with Store.open(tmp_path / "w.db") as s:
        html = render_report(build_report(s, since=NOW - timedelta(days=1), now=NOW))
    assert "no hits in this period" in html and "Every source is healthy" in html


def test_report_renders_in_headless_chromium(store: Store, tmp_path: Path, chromium: Path) -> None:
    out = tmp_path / "report.html"
    write_report(store, out, since=NOW - timedelta(days=7), now=NOW)
    url = out.as_uri()

    dom = chrome(chromium, tmp_path, "--dump-dom", url).stdout
    assert 'id="hits-chart"' in dom
    assert dom.count('class="bar"') == 7  # one per (rule, day) with hits: drones 3, missiles 2, nuclear 2
    assert 'data-rule="drone-swarm"' in dom and 'data-count="5"' in dom
    assert "<script>alert" not in dom  # the hostile title stayed text after parsing

    shot = tmp_path / "shot.png"
    chrome(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,900", url)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 900)
    colours = colour_counts(image)
    # the first three palette colours are the three rules' bars: each must cover a visible area
    for hex_colour in PALETTE[:3]:
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert colours.get(rgb, 0) > 500, f"chart colour {hex_colour} barely visible ({colours.get(rgb, 0)} px)"
    assert len(colours) > 50  # text, axes and bars: not a blank page


def colour_counts(image: Image.Image) -> dict[tuple[int, int, int], int]:
    return {rgb: n for n, rgb in image.getcolors(maxcolors=1 << 20) or []}


def test_cli_report(tmp_path: Path, store: Store) -> None:
    cfg = write_config(tmp_path)
    out = tmp_path / "week.html"
    result = run(cfg, "report", "--since", "3650d", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: 17 hits from 3 rules" in result.stdout
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_many_rules_share_an_other_colour_and_axis_reads_well() -> None:
    from collections import Counter
    from datetime import date

    from watcher.report import MAX_SERIES, OTHER, draw_chart

    days = tuple(date(2024, 11, d) for d in range(20, 27))
    per_day = {f"rule-{i:02d}": Counter({days[i % 7]: i + 1}) for i in range(MAX_SERIES + 4)}
    chart = draw_chart(days, per_day)
    rules = [rule for rule, _colour, _n in chart.legend]
    assert len(rules) == MAX_SERIES + 1 and rules[-1] == OTHER
    assert rules[0] == f"rule-{MAX_SERIES + 3:02d}"  # the busiest rule first
    assert len({colour for _r, colour, _n in chart.legend}) == len(rules)
    assert sum(b.count for b in chart.bars) == sum(sum(c.values()) for c in per_day.values())
    top = min(b.y for b in chart.bars)
    assert top >= chart.plot[1]  # the tallest stack fits under the highest tick
    assert [v for _y, v in chart.y_ticks][-1] >= max(sum(b.count for b in chart.bars if b.day == str(d)) for d in days)


def test_evidence_is_grouped_and_capped() -> None:
    from watcher.report import evidence_lines

    item = Item(source="wire", guid="g", title="t")
    spans = [Evidence("title", 0, 7, "Missile")] + [Evidence("body", i, i + 7, "missile") for i in range(5)]
    spans += [Evidence("body", 0, 10, "188 drones", 188)] + [Evidence("body", 0, 4, f"w{i}") for i in range(10)]
    hit = Hit(**{**_hit_fields(1, "r", item, NOW), "evidence": tuple(spans)})  # type: ignore[arg-type]
    lines, more = evidence_lines(hit, limit=4)
    assert [(e.text, e.count, e.fields) for e in lines[:2]] == [
        ("Missile", 6, ("title", "body")),
        ("188 drones", 1, ("body",)),
    ]
    assert lines[1].value == 188
    assert len(lines) == 4 and more == 8
