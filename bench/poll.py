"""Polling throughput: 1,000 feeds of 50 items from a local server, end to end, against a naive loop.

Run: ``python bench/poll.py`` (``--feeds N``, ``--items N``, ``--quick`` for 100 feeds).

A separate process serves the feeds (HTTP/1.1, ETag, keep-alive) on 127.0.0.1.
Each contender runs in its own process, so its peak RSS is its own:

- **watcher**: ``Fetcher`` (httpx, bounded pool, parse in worker processes) ->
  dedupe against the store -> the rules/ starter pack -> ``Store.record_cycle``
  -> ``Fetcher.commit``, results handled as they arrive; then a second cycle in
  which every feed answers 304.
- **naive**: a sequential ``feedparser.parse(url)`` loop (feedparser fetching
  with urllib), then the same match and store, then a second loop passing the
  ETag back.

Also measured: a dispatch dropped into a watched folder, from the rename to its
hits being computed. Peak RSS is VmHWM of the contender's process plus its
parser workers (read from /proc before they exit). Targets (issue 5): first
cycle under 60 s, 304 cycle under 10 s, peak RSS under 400 MB, drop under 2 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Wire copy is mostly neutral; about one sentence in ten is what a defence desk's rules look for.
NEUTRAL = [
    "The central bank kept rates unchanged as inflation eased to {m} percent in October.",
    "Les pourparlers reprendront la semaine prochaine à Genève, a indiqué un diplomate.",
    "The company reported quarterly revenue of {n} million euros, above analysts' forecasts.",
    "Le gouvernement a présenté mardi son projet de loi de finances pour l'année prochaine.",
    "Heavy rain is expected across the north of the country from Thursday, forecasters said.",
    "La grève des contrôleurs aériens a entraîné l'annulation de {n} vols à Roissy.",
    "The minister told reporters the talks had been constructive but no deal was reached.",
    "Le tribunal rendra sa décision le {m} décembre, selon une source judiciaire.",
    "Shares in European markets closed slightly higher, led by technology stocks.",
    "Les députés ont adopté le texte en première lecture par {n} voix contre {m}.",
]
TRIGGERS = [
    "Russia launched {n} drones and {m} missiles at Ukraine overnight, the air force said.",
    "L'armée ukrainienne affirme avoir abattu {n} drones Shahed au-dessus de la région de Kharkiv.",
    "NATO ambassadors meet in Brussels on Tuesday to discuss air defence for Kyiv.",
    "Le ministre a évoqué un tir de missile balistique sans charge nucléaire, selon l'état-major.",
    "Des milliers de soldats nord-coréens seraient déployés dans la région de Koursk, selon Séoul.",
]


def sentence(rng: random.Random) -> str:
    pool = TRIGGERS if rng.random() < 0.1 else NEUTRAL
    return rng.choice(pool).format(n=rng.randint(2, 250), m=rng.randint(1, 28))


def feed_body(feed: int, items: int) -> bytes:
    rng = random.Random(feed)
    parts = []
    for j in range(items):
        text = " ".join(sentence(rng) for _ in range(4))
        parts.append(
            f"<item><guid>urn:bench:{feed}:{j}</guid><title>{sentence(rng)}</title>"
            f"<link>https://wire.example/{feed}/{j}</link><description>{text}</description>"
            f"<pubDate>Tue, 26 Nov 2024 08:{j % 60:02d}:00 +0000</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {feed}</title><link>https://wire.example/{feed}</link><language>en</language>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def serve(feeds: int, items: int, port_queue: Any) -> None:
    bodies = [feed_body(i, items) for i in range(feeds)]
    etags = [f'"{i}-v1"' for i in range(feeds)]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            try:
                index = int(self.path.rsplit("/", 1)[-1])
                body, etag = bodies[index], etags[index]
            except (ValueError, IndexError):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.request_queue_size = 256
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


def vm_hwm(pid: int | str = "self") -> int:
    """Peak resident set size of a process in bytes (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def load_matcher() -> tuple[Any, str]:
    try:
        from watcher.rules import load_rules
    except ImportError:
        print("note: watcher.rules.load_rules is not importable; the match stage is skipped", file=sys.stderr)
        return None, "skipped"
    ruleset = load_rules([ROOT / "rules"])
    return ruleset, f"{len(ruleset)} rules from rules/"


def ingest(store: Any, ruleset: Any, items: list[Any], now: datetime) -> tuple[int, int]:
    """Dedupe, match and store one source's items, as the pipeline does; returns (new items, hits)."""
    from watcher.models import Hit

    known = store.known_item_ids(i.id for i in items)
    fresh = [i for i in items if i.id not in known]
    hits = []
    if ruleset is not None:
        for item in fresh:
            for match in ruleset.match(item):
                hits.append((Hit.from_match(ruleset.get(match.rule_id), item, match, now), "bench"))
    result = store.record_cycle(fresh, hits, [], now=now)
    return result.new_items, result.new_hits


def run_watcher(port: int, feeds: int, workdir: Path) -> dict[str, Any]:
    from watcher.config import parse_config
    from watcher.sources import Fetcher
    from watcher.store import Store

    sources = [{"name": f"feed-{i}", "url": f"http://127.0.0.1:{port}/feed/{i}"} for i in range(feeds)]
    config = parse_config(
        {
            # All 1,000 feeds live on one host here, so the per-host limit is the pool size.
            "watcher": {"database": str(workdir / "bench.db"), "allow_private_networks": True,
                        "concurrency": 16, "per_host": 16, "workers": 2},
            "source": sources,
        },
        workdir / "config.toml",
    )  # fmt: skip
    ruleset, rules_note = load_matcher()
    store = Store.open(config.database)
    fetcher = Fetcher(config)
    fetcher.pool.parse(b"warm up the workers", origin="warm-up", source="warm-up")
    worker_pids = [p.pid for p in (getattr(fetcher.pool._executor, "_processes", None) or {}).values()]
    lock = threading.Lock()

    def cycle() -> tuple[float, int, int, int, int, int]:
        now = datetime.now(UTC)
        start = time.perf_counter()
        fetched = new = hits = not_modified = errors = 0
        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            futures = [
                pool.submit(fetcher.fetch, s, store.source_state(s.name), store=store, now=now) for s in config.sources
            ]
            for future in as_completed(futures):
                result = future.result()
                if result.error is not None:
                    errors += 1
                not_modified += result.not_modified
                fetched += len(result.items)
                with lock:
                    n, h = ingest(store, ruleset, result.items, now)
                    fetcher.commit(result, store)
                new += n
                hits += h
        return time.perf_counter() - start, fetched, new, hits, not_modified, errors

    first, fetched, new, hits, _, errors1 = cycle()
    second, _fetched2, new2, _hits2, not_modified, errors2 = cycle()
    drop = drop_latency(ruleset, workdir)
    peak = vm_hwm() + sum(vm_hwm(pid) for pid in worker_pids)
    fetcher.close()
    store.close()
    return {
        "first_cycle_s": first, "second_cycle_s": second, "items": fetched, "new_items": new, "hits": hits,
        "items_per_s": new / first, "not_modified": not_modified, "errors": errors1 + errors2,
        "second_new_items": new2, "peak_rss_mb": peak / 2**20, "main_rss_mb": vm_hwm() / 2**20,
        "drop_latency_s": drop, "rules": rules_note,
    }  # fmt: skip


def drop_latency(ruleset: Any, workdir: Path) -> float:
    """From a dispatch renamed into a watched folder to its hits computed."""
    from watcher.config import parse_config
    from watcher.sources import Fetcher, watch_folder
    from watcher.store import Store

    folder = workdir / "drop"
    folder.mkdir()
    config = parse_config(
        {"watcher": {"database": str(workdir / "drop.db"), "workers": 2},
         "source": [{"name": "drop", "path": str(folder)}]},
        workdir / "config.toml",
    )  # fmt: skip
    done = threading.Event()
    with Store.open(config.database) as store, Fetcher(config) as fetcher:
        fetcher.pool.parse(b"warm up the workers", origin="warm-up", source="warm-up")

        def on_drop(_path: Path) -> None:
            result = fetcher.fetch(config.sources[0], store.source_state("drop"), store=store, now=datetime.now(UTC))
            if result.items:
                ingest(store, ruleset, result.items, datetime.now(UTC))
                fetcher.commit(result, store)
                done.set()

        watch = watch_folder(folder, on_drop)
        try:
            time.sleep(0.3)
            tmp = folder / ".seed.txt.tmp"
            tmp.write_bytes((ROOT / "seeds" / "2024-11-26-afp-otan-ukraine.txt").read_bytes())
            start = time.perf_counter()
            os.replace(tmp, folder / "seed.txt")
            if not done.wait(10):
                return float("inf")
            return time.perf_counter() - start
        finally:
            watch.stop()


def run_naive(port: int, feeds: int, workdir: Path) -> dict[str, Any]:
    import feedparser

    from watcher.models import Item
    from watcher.store import Store

    ruleset, rules_note = load_matcher()
    store = Store.open(workdir / "naive.db")
    etags: dict[int, str] = {}

    def cycle() -> tuple[float, int, int, int, int]:
        now = datetime.now(UTC)
        start = time.perf_counter()
        fetched = new = hits = not_modified = 0
        for i in range(feeds):
            parsed = feedparser.parse(f"http://127.0.0.1:{port}/feed/{i}", etag=etags.get(i))
            if parsed.get("status") == 304:
                not_modified += 1
                continue
            etags[i] = parsed.get("etag")
            items = [
                Item(source=f"feed-{i}", guid=e.get("id") or e.get("link"), title=e.get("title", ""),
                     summary=e.get("summary", ""), link=e.get("link"), language="en")
                for e in parsed.entries
            ]  # fmt: skip
            fetched += len(items)
            n, h = ingest(store, ruleset, items, now)
            new += n
            hits += h
        return time.perf_counter() - start, fetched, new, hits, not_modified

    first, fetched, new, hits, _ = cycle()
    second, _f2, _n2, _h2, not_modified = cycle()
    store.close()
    return {
        "first_cycle_s": first, "second_cycle_s": second, "items": fetched, "new_items": new, "hits": hits,
        "items_per_s": new / first, "not_modified": not_modified, "errors": 0, "peak_rss_mb": vm_hwm() / 2**20,
        "rules": rules_note,
    }  # fmt: skip


def contender(mode: str, port: int, feeds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{mode}-") as tmp:
        return (run_watcher if mode == "watcher" else run_naive)(port, feeds, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="100 feeds")
    parser.add_argument("--mode", choices=["watcher", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    feeds = 100 if args.quick else args.feeds
    if args.mode:
        print(json.dumps(contender(args.mode, args.port, feeds)))
        return

    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    server = ctx.Process(target=serve, args=(feeds, args.items, ports), daemon=True)
    server.start()
    port = ports.get(timeout=120)
    print(f"serving {feeds} feeds of {args.items} items on 127.0.0.1:{port}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    try:
        for mode in ("watcher", "naive"):
            out = subprocess.run(
                [sys.executable, __file__, "--mode", mode, "--port", str(port), "--feeds", str(feeds)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            for line in out.stderr.splitlines():
                if line.startswith("note:"):
                    print(line)
    finally:
        server.terminate()
    w, n = results["watcher"], results["naive"]
    print(f"matching with {w['rules']}")
    rows = [
        ("first cycle (s)", "first_cycle_s", "{:.1f}"),
        ("next cycle, all 304 (s)", "second_cycle_s", "{:.2f}"),
        ("items ingested", "new_items", "{:d}"),
        ("hits", "hits", "{:d}"),
        ("items/s end to end", "items_per_s", "{:.0f}"),
        ("304 answers in cycle 2", "not_modified", "{:d}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
    ]
    print(f"{'':28}{'watcher':>12}{'naive loop':>14}")
    for label, key, fmt in rows:
        print(f"{label:28}{fmt.format(w[key]):>12}{fmt.format(n[key]):>14}")
    print(f"{'dropped file to hits (s)':28}{w['drop_latency_s']:>12.3f}{'-':>14}")
    if w["errors"]:
        print(f"watcher: {w['errors']} source errors", file=sys.stderr)
    targets = [
        ("first cycle < 60 s", w["first_cycle_s"] < 60),
        ("304 cycle < 10 s", w["second_cycle_s"] < 10),
        ("peak RSS < 400 MB", w["peak_rss_mb"] < 400),
        ("drop < 2 s", w["drop_latency_s"] < 2),
    ]
    print("targets: " + ", ".join(f"{name} {'ok' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    main()
