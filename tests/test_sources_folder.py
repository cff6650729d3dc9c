"""Drop folders through the public Fetcher and watch_folder, on real files and a real SQLite store."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from sources_fixtures import NOW, RSS, SEED, make_config, open_store

from watcher.sources import Fetcher, FetchResult, watch_folder


def age(path: Path, seconds: float = 5.0) -> None:
    """Make a file look written a while ago, as a dropped file is by the time a poll comes."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def run(tmp_path: Path, drop: Path, **watcher: object) -> FetchResult:
    cfg = make_config(tmp_path, [{"name": "drop", "path": str(drop)}], **watcher)
    with open_store(tmp_path) as store, Fetcher(cfg) as fetcher:
        result = fetcher.fetch(cfg.sources[0], store.source_state("drop"), store=store, now=NOW)
        fetcher.commit(result, store)
    return result


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def test_files_are_read_once_even_after_restart(tmp_path: Path, drop: Path) -> None:
    shutil.copy(SEED, drop / "seed.txt")
    (drop / "wire").mkdir()
    (drop / "wire" / "feed.xml").write_bytes(RSS)
    for f in (drop / "seed.txt", drop / "wire" / "feed.xml"):
        age(f)
    first = run(tmp_path, drop)
    assert first.error is None
    assert sorted(i.guid for i in first.items) == ["seed.txt", "urn:wire:1", "urn:wire:2"]
    assert {r.path for r in first.files} == {"seed.txt", "wire/feed.xml"}
    # A new Fetcher on the same store is a restarted daemon: nothing is returned again.
    second = run(tmp_path, drop)
    assert second.items == [] and second.error is None
    with open_store(tmp_path) as store:
        state = store.source_state("drop")
        assert state.items_seen == 3 and state.last_success == NOW


def test_uncommitted_files_are_read_again(tmp_path: Path, drop: Path) -> None:
    """A crash between fetch and commit must not lose the file: it is only marked seen by commit."""
    shutil.copy(SEED, drop / "seed.txt")
    age(drop / "seed.txt")
    cfg = make_config(tmp_path, [{"name": "drop", "path": str(drop)}])
    with open_store(tmp_path) as store, Fetcher(cfg) as fetcher:
        r1 = fetcher.fetch(cfg.sources[0], store.source_state("drop"), store=store, now=NOW)
        r2 = fetcher.fetch(cfg.sources[0], store.source_state("drop"), store=store, now=NOW)
    assert len(r1.items) == len(r2.items) == 1


def test_changed_file_is_read_again_touched_file_is_not(tmp_path: Path, drop: Path) -> None:
    path = drop / "d.txt"
    path.write_text("First version: 100 drones over the city.")
    age(path, 10)
    assert len(run(tmp_path, drop).items) == 1
    os.utime(path)  # touched, same content
    age(path, 3)
    assert run(tmp_path, drop).items == []
    path.write_text("Second version: 188 drones over the city.")
    age(path, 2)
    (item,) = run(tmp_path, drop).items
    assert item.guid == "d.txt" and "188" in item.body


def test_bad_file_reported_once_and_skipped(tmp_path: Path, drop: Path) -> None:
    (drop / "bad.xml").write_bytes(b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>cut')
    (drop / "login.html").write_bytes(b"<!DOCTYPE html><html><body>Sign in</body></html>")
    shutil.copy(SEED, drop / "seed.txt")
    for f in drop.iterdir():
        age(f)
    first = run(tmp_path, drop)
    assert first.error is None  # the source works; two files in it do not
    assert len(first.items) == 1
    assert len(first.warnings) == 2
    assert any("bad.xml" in w and "malformed feed" in w for w in first.warnings)
    assert any("login.html" in w and "HTML page" in w for w in first.warnings)
    second = run(tmp_path, drop)
    assert second.warnings == [] and second.items == []


def test_file_still_being_written_is_not_read_early(tmp_path: Path, drop: Path) -> None:
    path = drop / "slow.txt"
    with path.open("w") as fh:
        fh.write("Missile balistique: first half of the dispatch")
        fh.flush()
        early = run(tmp_path, drop)
        assert early.items == [] and early.pending_files == 1
        assert early.state.next_poll is not None and (early.state.next_poll - NOW).total_seconds() < 2
        fh.write(", and the second half.\n")
    age(path, 1)
    (item,) = run(tmp_path, drop).items
    assert item.body.endswith("and the second half.")


def test_temporary_and_hidden_files_are_ignored(tmp_path: Path, drop: Path) -> None:
    for name in ("x.part", ".hidden.txt", "y.tmp", "z~"):
        (drop / name).write_text("Drones everywhere in this file today.")
        age(drop / name)
    assert run(tmp_path, drop).items == []


def test_single_file_source(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    shutil.copy(SEED, path)
    age(path)
    (item,) = run(tmp_path, path).items
    assert item.guid == "one.txt"


def test_missing_folder_is_a_source_error_with_backoff(tmp_path: Path) -> None:
    result = run(tmp_path, tmp_path / "nope")
    assert result.error is not None and "drop folder not found" in str(result.error)
    assert result.state.consecutive_failures == 1 and result.state.next_poll is not None


@pytest.mark.parametrize("polling", [False, True])
def test_watch_folder_calls_back_within_two_seconds(tmp_path: Path, drop: Path, polling: bool) -> None:
    seen: list[tuple[float, Path]] = []
    event = threading.Event()

    def callback(path: Path) -> None:
        seen.append((time.monotonic(), path))
        event.set()

    with watch_folder(drop, callback, polling=polling):
        time.sleep(0.2)
        start = time.monotonic()
        tmp = drop / "incoming.txt.part"
        tmp.write_bytes(SEED.read_bytes())
        tmp.rename(drop / "incoming.txt")
        assert event.wait(2.0), "no callback within 2 s"
        assert seen[0][0] - start < 2.0
        assert seen[0][1] == drop / "incoming.txt"
        # By the time the callback fires, a run reads the file whole.
        result = run(tmp_path, drop)
        assert len(result.items) == 1 and "188 drones" in result.items[0].body


def test_watch_folder_waits_for_a_slow_writer(tmp_path: Path, drop: Path) -> None:
    calls: list[float] = []
    done = threading.Event()

    def callback(path: Path) -> None:
        calls.append(time.monotonic())
        done.set()

    with watch_folder(drop, callback):
        time.sleep(0.2)
        with (drop / "slow.txt").open("w") as fh:
            for i in range(8):
                fh.write(f"part {i} of a dispatch about drones\n")
                fh.flush()
                time.sleep(0.15)
            finished = time.monotonic()
            assert not calls, "called back while the file was still being written"
        assert done.wait(2.0)
        assert calls[0] >= finished
    (item,) = run(tmp_path, drop).items
    assert "part 7" in item.body


def test_file_renamed_into_place_is_read_at_once(tmp_path: Path, drop: Path) -> None:
    """A fresh file renamed into place is whole: the watcher says so, and the run does not wait to settle."""
    event = threading.Event()
    with watch_folder(drop, lambda _p: event.set()):
        time.sleep(0.2)
        tmp = drop / ".wire.txt.tmp"
        tmp.write_bytes(SEED.read_bytes())
        start = time.monotonic()
        os.replace(tmp, drop / "wire.txt")
        assert event.wait(2.0)
        assert time.monotonic() - start < 0.5
        result = run(tmp_path, drop)
    assert len(result.items) == 1 and result.pending_files == 0


def test_single_file_watch_ignores_its_neighbours(tmp_path: Path) -> None:
    target = tmp_path / "wire.txt"
    target.write_text("Old dispatch about the weather.")
    calls: list[Path] = []
    event = threading.Event()

    def callback(path: Path) -> None:
        calls.append(path)
        event.set()

    with watch_folder(target, callback):
        time.sleep(0.2)
        (tmp_path / "other.txt").write_text("Not the watched file.")
        assert not event.wait(1.0), calls
        tmp = tmp_path / ".wire.txt.tmp"
        tmp.write_text("New dispatch: 188 drones.")
        os.replace(tmp, target)
        assert event.wait(2.0)
    assert calls == [target]


def test_watching_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="drop folder not found"):
        watch_folder(tmp_path / "missing", lambda _p: None)
