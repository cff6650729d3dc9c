"""The one exception tree.

Every error a user can cause or meet is a ``WatcherError``: its ``str()`` is the
single line the CLI prints (``what went wrong: where``), and ``hint`` says what to
do about it. Third-party exceptions are converted at the module boundary that
calls the library, so nothing above that boundary needs to know feedparser,
httpx, apprise or sqlite raise.
"""

from __future__ import annotations

from dataclasses import dataclass


class WatcherError(Exception):
    """Base of every error watcher raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(WatcherError):
    """config.toml is missing, unreadable or says something invalid."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in a rules file, located for an editor (1-based line and column)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class RulesError(WatcherError):
    """One or more rule files are invalid; ``problems`` lists every one of them."""

    exit_code = 2

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid rules"
        more = len(self.problems) - 1
        message = first if more <= 0 else f"{first} (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(message, hint=hint or "run `watcher rules check` to list every problem")


class RuleTimeout(WatcherError):
    """A rule's regex ran past its time limit on one item."""


class SourceError(WatcherError):
    """A source could not be fetched or parsed; the run of that source fails, nothing else."""

    def __init__(self, source: str, message: str, *, hint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{message}: source {source!r}", hint=hint)
        self.source = source
        self.reason = message
        self.retry_after = retry_after


class FormatError(WatcherError):
    """A document is not in any format watcher can read, or is malformed/hostile."""


class StoreError(WatcherError):
    """The database cannot be opened or written (locked, full, foreign file)."""


class NotifyError(WatcherError):
    """A notification target is misconfigured or refused a message."""


class AlreadyRunning(WatcherError):
    """Another daemon holds the lock on this database."""

    exit_code = 3
