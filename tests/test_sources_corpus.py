"""Issue 5, acceptance 2: every feed of feedparser's own test corpus goes through the source pipeline
without an uncaught exception.

The corpus ships only in feedparser's sdist; it is downloaded once with pip (PyPI is reachable in CI)
into a cache directory, so repeated runs cost nothing. Nothing is vendored.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from servers_http import HostileServer
from sources_fixtures import NOW, make_config, open_store

from watcher.errors import FormatError
from watcher.models import SourceState
from watcher.sources import Fetcher, parse_document


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "watcher-tests"


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    release = version("feedparser")
    target = cache_dir() / f"feedparser-{release}"
    tests = target / f"feedparser-{release}" / "tests"
    if not tests.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
             f"feedparser=={release}", "-d", str(target)],
            check=True, timeout=300, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        (sdist,) = target.glob("feedparser-*.tar.gz")
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if "/tests/" in m.name and (m.isfile() or m.isdir())]
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                tar.extractall(target, members=members, filter="data")
            else:  # pragma: no cover - the members are already limited to plain files under tests/
                tar.extractall(target, members=[m for m in members if ".." not in m.name])
    files = sorted(p for p in tests.rglob("*") if p.is_file() and p.suffix != ".py")
    assert len(files) > 2000, f"feedparser corpus looks incomplete: {len(files)} files in {tests}"
    return files


def test_every_corpus_document_parses_or_fails_cleanly(corpus: list[Path]) -> None:
    outcomes: Counter[tuple[str, str]] = Counter()
    for path in corpus:
        tests_root = next(p for p in path.parents if p.name == "tests")
        group = path.relative_to(tests_root).parts[0]
        try:
            items = parse_document(path.read_bytes(), origin=str(path), source="corpus")
        except FormatError as exc:
            assert str(exc).strip(), path
            outcomes[(group, "error")] += 1
            continue
        # Not an uncaught exception is the floor; the items must also be well-formed.
        for item in items:
            assert item.guid and item.source == "corpus", path
            assert item.published is None or item.published.utcoffset() is not None, path
            assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e]", item.title + item.body), path
        outcomes[(group, "ok")] += 1
    wellformed_ok = outcomes[("wellformed", "ok")]
    wellformed_err = outcomes[("wellformed", "error")]
    # The bozo policy is strict; it must still read what feedparser itself calls well-formed.
    assert wellformed_ok / (wellformed_ok + wellformed_err) > 0.99, outcomes
    assert outcomes[("illformed", "error")] > 0  # and refuse at least some of what it calls ill-formed


def corpus_headers(data: bytes) -> dict[str, str]:
    """The HTTP headers a corpus file asks to be served with (``Header: Name: value`` in its comment)."""
    headers = {}
    for m in re.finditer(rb"^Header:\s*([\w-]+):\s*(.+?)\s*$", data[:2000], re.MULTILINE):
        headers[m.group(1).decode().title()] = m.group(2).decode("latin-1")
    return headers


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


def test_corpus_sample_through_fetcher_and_local_server(
    corpus: list[Path], server: HostileServer, tmp_path: Path
) -> None:
    """Every 15th document, plus every one that needs HTTP headers, served for real and fetched."""
    sample = [p for i, p in enumerate(corpus) if i % 15 == 0 or b"Header:" in p.read_bytes()[:2000]]
    urls = {}
    for i, path in enumerate(sample):
        data = path.read_bytes()
        headers = corpus_headers(data)
        headers.pop("Content-Encoding", None)  # the file is stored decoded; never lie about encoding
        server.documents[f"/corpus/{i}"] = (data, headers)
        urls[f"c{i}"] = server.url(f"/corpus/{i}")
    sources = [{"name": n, "url": u} for n, u in urls.items()]
    cfg = make_config(tmp_path, sources, allow_private_networks=True, workers=2, concurrency=8, per_host=8)
    with open_store(tmp_path) as store, Fetcher(cfg) as fetcher:
        results = fetcher.fetch_many([(s, SourceState(s.name)) for s in cfg.sources], store=store, now=NOW)
    assert len(results) == len(sample)
    for result in results:
        if result.error is not None:
            assert "internal error" not in str(result.error), result.error
            assert "parser process died" not in str(result.error), result.error
    ok = sum(r.error is None for r in results)
    assert ok / len(results) > 0.9, [str(r.error) for r in results if r.error][:20]
