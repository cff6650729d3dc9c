"""What every part of the Store shares: the connection, its lock and transactions."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def locked(method: F) -> F:
    """Run a Store method while holding the store's lock (see ``Store``)."""

    @functools.wraps(method)
    def wrapper(self: Connected, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Connected:
    """A connection shared between threads under one re-entrant lock.

    The daemon calls the store from scheduler threads, and one sqlite3
    connection must not be used by two threads at once: every method holds
    ``self.lock`` (``@locked``) for the whole of its work, and ``transaction()``
    holds it from BEGIN to COMMIT. New methods must do the same.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolls back on any exception. Use only raw ``execute`` inside."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
