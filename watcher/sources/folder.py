"""Drop folders: which files to read on a run, and a watcher that wakes the daemon.

A file is read once it is complete. Writers either rename a finished file into
place (atomic, recommended; the file appears whole) or write it in place. The
watcher reports a rename into place, or a close after writing (inotify), at
once; otherwise a file is read when it has not changed for ``SETTLE`` seconds. Temporary
names used by common tools (``.part``, ``.tmp``, ``~``, dot-files) are never
read. What was read is remembered in the store's ``files`` table by path, size,
mtime and sha256, so a restart does not re-alert, an unchanged file touched by
``cp -p`` is not re-read, and a bad file is reported once and skipped until it
changes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)

SETTLE = 0.5  # seconds without change before an in-place write counts as complete
# Files the watcher saw renamed into place or closed after writing, keyed by path, with the
# (size, mtime_ns) they had then: complete at once, no need to wait for SETTLE. Same process only.
_complete: dict[Path, tuple[int, int]] = {}
_complete_lock = threading.Lock()


def mark_complete(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    with _complete_lock:
        if len(_complete) > 10_000:
            _complete.clear()
        _complete[path.absolute()] = (st.st_size, st.st_mtime_ns)
    return True


def _known_complete(path: Path, size: int, mtime_ns: int) -> bool:
    with _complete_lock:
        return _complete.get(path.absolute()) == (size, mtime_ns)


_TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".swp", ".swx", "~", ".lock")


@dataclass(frozen=True)
class FileRecord:
    """One drop-folder file as read this run; written to ``files`` by ``Fetcher.commit``."""

    source: str
    path: str  # relative to the folder, POSIX separators
    size: int
    mtime_ns: int
    sha256: str
    error: str | None = None


@dataclass(frozen=True)
class Candidate:
    rel: str
    path: Path
    size: int
    mtime_ns: int
    known: tuple[int, int, str, str | None] | None  # (size, mtime_ns, sha256, error) from the store


def is_ignored(rel_parts: tuple[str, ...]) -> bool:
    name = rel_parts[-1]
    return any(p.startswith(".") for p in rel_parts) or name.startswith("~") or name.lower().endswith(_TEMP_SUFFIXES)


def known_files(store: Store, source: str) -> dict[str, tuple[int, int, str, str | None]]:
    rows = store.conn.execute("SELECT path, size, mtime_ns, sha256, error FROM files WHERE source = ?", (source,))
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def list_files(root: Path) -> Iterator[tuple[str, Path]]:
    if root.is_file():
        yield root.name, root
        return
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if is_ignored(rel_parts):
            continue
        try:
            if path.is_file():
                yield "/".join(rel_parts), path
        except OSError:
            continue


def scan(
    root: Path, known: dict[str, tuple[int, int, str, str | None]], *, settle: float = SETTLE
) -> tuple[list[Candidate], int]:
    """Files that are new or changed and complete; and how many are still being written."""
    ready: list[Candidate] = []
    pending = 0
    wall = time.time()
    for rel, path in list_files(root):
        try:
            st = path.stat()
        except OSError:
            continue
        old = known.get(rel)
        if old is not None and old[0] == st.st_size and old[1] == st.st_mtime_ns:
            continue
        if wall - st.st_mtime < settle and not _known_complete(path, st.st_size, st.st_mtime_ns):
            pending += 1
            continue
        ready.append(Candidate(rel, path, st.st_size, st.st_mtime_ns, old))
    return ready, pending


def read_complete(candidate: Candidate, max_bytes: int) -> bytes | None:
    """The file's bytes, or None if it changed while we read it (a writer is still busy)."""
    with candidate.path.open("rb") as fh:
        data = fh.read(max_bytes + 1)
    st = candidate.path.stat()
    if st.st_size != candidate.size or st.st_mtime_ns != candidate.mtime_ns:
        return None
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_files(store: Store, records: list[FileRecord], seen_at: str) -> None:
    for r in records:
        store.conn.execute(
            "INSERT INTO files (source, path, size, mtime_ns, sha256, error, seen_at) VALUES (?,?,?,?,?,?,?)"
            " ON CONFLICT(source, path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns,"
            " sha256=excluded.sha256, error=excluded.error, seen_at=excluded.seen_at",
            (r.source, r.path, r.size, r.mtime_ns, r.sha256, r.error, seen_at),
        )


class FolderWatch:
    """A running folder watcher; ``stop()`` ends it. Calls back once per settled file change."""

    def __init__(self, path: Path, callback: Callable[[Path], None], *, settle: float, polling: bool) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        self.path = path
        self.callback = callback
        self.settle = settle
        self._due: dict[Path, float] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self.single_file = None if path.is_dir() else path
        watch = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.is_directory and event.event_type != "moved":
                    return
                if event.event_type in ("deleted", "opened", "closed_no_write"):
                    return
                target = getattr(event, "dest_path", "") or event.src_path
                target_path = Path(target if isinstance(target, str) else target.decode())
                if event.event_type in ("moved", "closed") and mark_complete(target_path):
                    # Renamed into place, or closed by its writer: whole now, call back at once.
                    watch._schedule(target_path, 0.0)
                    return
                # Written in place: a run reads it once unchanged for ``settle`` seconds, so call back
                # just after that; every new event for the same file pushes the call back again.
                watch._schedule(target_path, watch.settle + 0.05)

        watch_dir = path if path.is_dir() else path.parent
        observer: Any = None
        if not polling:
            try:
                observer = Observer()
                observer.schedule(Handler(), str(watch_dir), recursive=path.is_dir())
                observer.start()
            except OSError as exc:  # inotify watch limit reached, unsupported filesystem...
                log.warning("folder watch falls back to polling path=%s reason=%s", path, exc)
                observer = None
        if observer is None:
            observer = PollingObserver(timeout=0.5)
            observer.schedule(Handler(), str(watch_dir), recursive=path.is_dir())
            observer.start()
        self.observer = observer
        self.polling = isinstance(observer, PollingObserver)
        self._thread = threading.Thread(target=self._run, name=f"watch:{path.name}", daemon=True)
        self._thread.start()

    def _schedule(self, path: Path, delay: float) -> None:
        if is_ignored((path.name,)):
            return
        if self.single_file is not None and path != self.single_file:
            return  # a one-file source watches its folder: other files there are none of its business
        with self._cond:
            self._due[path] = time.monotonic() + delay
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                now = time.monotonic()
                ready = [p for p, t in self._due.items() if t <= now]
                for p in ready:
                    del self._due[p]
                if not ready:
                    wait = min(self._due.values(), default=now + 1.0) - now
                    self._cond.wait(timeout=max(0.01, wait))
                    continue
            for p in ready:
                try:
                    self.callback(p)
                except Exception:
                    log.exception("folder watch callback failed path=%s", p)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self.observer.stop()
        self.observer.join(timeout=5)
        self._thread.join(timeout=5)

    def __enter__(self) -> FolderWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def watch_folder(
    path: Path, callback: Callable[[Path], None], *, settle: float = SETTLE, polling: bool = False
) -> FolderWatch:
    """Watch a drop folder (or one file) with inotify, falling back to polling; see ``FolderWatch``.

    Raises FileNotFoundError when ``path`` does not exist: a watch on the
    parent would miss every file later dropped into the folder once created.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"drop folder not found: {path}")
    return FolderWatch(path, callback, settle=settle, polling=polling)
