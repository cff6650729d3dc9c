"""Hits -> messages -> apprise, through a SQLite outbox.

``outbox`` decides what to send and when (retries, digests, admin notices),
``messages`` renders hits safely for each format, ``transport`` is the apprise
boundary, and ``console`` the ``console://`` target.
"""

from __future__ import annotations

from .outbox import CRASH_ENV, FlushReport, Notifier, TargetResult, utcnow

__all__ = ["CRASH_ENV", "FlushReport", "Notifier", "TargetResult", "utcnow"]
