"""Shared helpers for the sources tests: real configs, real stores, small documents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watcher.config import Config, parse_config
from watcher.store import Store

NOW = datetime(2024, 11, 26, 10, 0, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parent / "data"  # tests/data/newsml-g2: IPTC examples, CC BY 4.0
SEED = Path(__file__).resolve().parent.parent / "seeds" / "2024-11-26-afp-otan-ukraine.txt"


def make_config(tmp_path: Path, sources: list[dict[str, Any]], **watcher: Any) -> Config:
    data: dict[str, Any] = {"watcher": {"database": str(tmp_path / "w.db"), "workers": 0, **watcher}}
    data["source"] = sources
    return parse_config(data, tmp_path / "config.toml")


def open_store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "w.db")


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://example.org/</link><language>fr</language>
<item><guid>urn:wire:1</guid><title>Attaque record de 188 drones</title>
<link>https://example.org/1</link><description>&lt;p&gt;La Russie a lanc\xc3\xa9 188 drones.&lt;/p&gt;</description>
<pubDate>Tue, 26 Nov 2024 08:00:00 +0100</pubDate></item>
<item><guid>urn:wire:2</guid><title>NATO meets Ukraine</title><link>https://example.org/2</link>
<description>Ambassadors meet in Brussels on Tuesday.</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>Atom wire</title><id>urn:feed</id>
<updated>2024-11-26T09:00:00Z</updated>
<entry><id>urn:atom:1</id><title type="html">Missile &lt;b&gt;balistique&lt;/b&gt;</title>
<link href="https://example.org/a1"/><updated>2024-11-26T09:00:00Z</updated>
<content type="html">&lt;p&gt;A ballistic missile was fired.&lt;/p&gt;&lt;p&gt;Second paragraph.&lt;/p&gt;</content>
</entry></feed>"""


def rss_feed(n: int, *, prefix: str = "item", title: str = "Feed") -> bytes:
    items = "".join(
        f"<item><guid>{prefix}-{i}</guid><title>{prefix} story {i} about drones</title>"
        f"<link>https://example.org/{prefix}/{i}</link>"
        f"<description>Story {i} of the day: the army reported 12 drones over the capital.</description>"
        f"<pubDate>Tue, 26 Nov 2024 08:00:00 +0000</pubDate></item>"
        for i in range(n)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://example.org/</link><language>en</language>{items}</channel></rss>"
    ).encode()
