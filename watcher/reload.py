"""Notice when rule files change, and say so only once the edit has settled.

inotify (through watchdog) wakes us within milliseconds of a save; a slow
periodic fingerprint check backs it up, because inotify misses edits on network
file systems and can run out of watches. Either way nothing happens until the
files have stopped changing for ``debounce`` seconds: an editor that writes a
file in several steps, or a `git checkout` of many files, gives one reload of
the finished state, not one per step. Validation of that state, and keeping
the old rules when it is invalid, is the daemon's job.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import RulesError
from .rules import RuleSet, load_rules

log = logging.getLogger(__name__)

RULE_SUFFIXES = (".yml", ".yaml")

Fingerprint = tuple[tuple[str, int, int, int], ...]


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    """(path, inode, size, mtime) of every rule file under ``paths``: changes whenever any of them does."""
    entries: list[tuple[str, int, int, int]] = []
    for root in paths:
        files = [p for p in root.rglob("*") if _is_rule_file(p, root)] if root.is_dir() else [root]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                entries.append((str(f), -1, -1, -1))
                continue
            entries.append((str(f), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(sorted(entries))


def _is_rule_file(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    if any(part.startswith(".") for part in rel.parts):  # editor swap files, .git
        return False
    return path.suffix.lower() in RULE_SUFFIXES and path.is_file()


class RuleWatcher:
    """Calls ``on_change()`` from its own thread after the rule files changed and settled."""

    def __init__(
        self,
        paths: Iterable[Path],
        on_change: Callable[[], object],
        *,
        baseline: Fingerprint | None = None,
        debounce: float = 0.3,
        poll_interval: float = 1.0,
        use_inotify: bool = True,
    ) -> None:
        self.paths = tuple(paths)
        self.on_change = on_change
        self.debounce = debounce
        self.poll_interval = poll_interval
        self._last = fingerprint(self.paths) if baseline is None else baseline
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watcher-rules", daemon=True)
        self._observer: object | None = None
        self._use_inotify = use_inotify

    def start(self) -> None:
        if self._use_inotify and not os.environ.get("WATCHER_RULES_POLL"):
            self._start_observer()
        self._thread.start()
        log.debug("watching rules paths=%s inotify=%s", ",".join(map(str, self.paths)), self._observer is not None)

    def _start_observer(self) -> None:
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency; polling still works
            return
        wake = self._wake

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in ("opened", "closed_no_write"):
                    wake.set()

        observer = Observer()
        try:
            for root in self.paths:
                if root.is_dir():
                    observer.schedule(_Handler(), str(root), recursive=True)
                elif root.parent.is_dir():
                    observer.schedule(_Handler(), str(root.parent), recursive=False)
            observer.start()
        except OSError as exc:  # e.g. inotify watch limit reached: the periodic check still works
            log.warning("rules watch falls back to polling error=%s", exc)
            return
        self._observer = observer

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        observer = self._observer
        if observer is not None:
            observer.stop()  # type: ignore[attr-defined]
            observer.join(timeout=2)  # type: ignore[attr-defined]
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_interval)
            if self._stop.is_set():
                return
            self._wake.clear()
            current = fingerprint(self.paths)
            if current == self._last:
                continue
            # Settle: the same fingerprint twice, `debounce` apart, with no event in between.
            while True:
                if self._stop.wait(self.debounce):
                    return
                again = fingerprint(self.paths)
                if again == current and not self._wake.is_set():
                    break
                self._wake.clear()
                current = again
            self._last = current
            try:
                self.on_change()
            except Exception:  # the watcher must outlive any bug in one reload
                log.exception("rules reload crashed")


def load_ruleset(config: Config) -> RuleSet:
    """The whole rule set named by ``config``, validated: raises ``RulesError`` listing every problem."""
    return load_rules(list(config.rules), regex_timeout=config.regex_timeout.total_seconds(), max_text=config.max_text)


@dataclass(frozen=True)
class RulesFailure:
    """What to log and what to tell the admins when edited rules do not load."""

    problems: tuple[str, ...]
    title: str
    body: str
    key: str  # the same mistake saved twice has the same key: the admins hear of it once

    @classmethod
    def of(cls, exc: RulesError) -> RulesFailure:
        problems = tuple(str(p) for p in exc.problems) or (str(exc.hint or exc),)
        text = "\n".join(problems)
        body = (
            "The rule files were changed but are invalid, so watcher keeps running with the previous rules.\n\n"
            f"{text}\n\nFix the file(s): the fix is picked up automatically when saved."
        )
        key = "rules-invalid:" + hashlib.sha256(text.encode()).hexdigest()[:16]
        return cls(problems, "watcher: invalid rules, previous rules kept", body, key)
