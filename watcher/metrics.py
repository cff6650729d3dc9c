"""Prometheus metrics of the daemon, served only when ``[watcher] metrics = "HOST:PORT"`` is set.

A registry of our own rather than prometheus-client's global one: nothing
else in the process registers into it, and tests can build several daemons'
metrics side by side. Counters count what this process did since it started
(Prometheus handles restarts with ``rate()``); gauges that describe the
database (deliveries by status) are refreshed from it by the daemon.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .errors import ConfigError

log = logging.getLogger(__name__)

DELIVERY_STATUSES = ("pending", "sent", "failed")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.items = Counter("watcher_items", "New items stored.", ["source"], registry=r)
        self.hits = Counter("watcher_hits", "New rule hits stored.", ["source"], registry=r)
        self.source_runs = Counter("watcher_source_runs", "Source runs, by outcome.", ["source", "outcome"], registry=r)
        self.source_errors = Counter("watcher_source_errors", "Source runs that failed.", ["source"], registry=r)
        self.sources_failing = Gauge("watcher_sources_failing", "Sources whose last run failed.", registry=r)
        self.cycle_duration = Histogram(
            "watcher_cycle_duration_seconds",
            "Duration of one source run (fetch, parse, match, store, notify).",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=r,
        )
        self.last_cycle = Gauge("watcher_last_cycle_timestamp_seconds", "When the last source run ended.", registry=r)
        self.deliveries = Gauge("watcher_deliveries", "Deliveries in the outbox, by status.", ["status"], registry=r)
        self.rules_loaded = Gauge("watcher_rules_loaded", "Rules in the active rule set.", registry=r)
        self.reloads = Counter("watcher_rules_reloads", "Rule reloads, by result.", ["result"], registry=r)
        self.started = Gauge("watcher_start_time_seconds", "When the daemon started (Unix time).", registry=r)
        self._server: WSGIServer | None = None
        self._failing: dict[str, bool] = {}

    def record_run(self, run: Any) -> None:
        """Count one ``SourceRun`` (name, new_items, new_hits, error, duration)."""
        self.items.labels(run.name).inc(run.new_items)
        self.hits.labels(run.name).inc(run.new_hits)
        self.source_runs.labels(run.name, "error" if run.error else "ok").inc()
        if run.error:
            self.source_errors.labels(run.name).inc()
        self._failing[run.name] = bool(run.error)
        self.sources_failing.set(sum(self._failing.values()))
        self.cycle_duration.observe(run.duration)
        self.last_cycle.set(time.time())

    def set_deliveries(self, counts: Mapping[str, int]) -> None:
        for status in DELIVERY_STATUSES:
            self.deliveries.labels(status).set(counts.get(status, 0))

    def serve(self, address: str) -> tuple[str, int]:
        """Listen on ``HOST:PORT`` (port 0 picks a free one); returns the address actually bound."""
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        try:
            server, _thread = start_http_server(int(port), addr=host, registry=self.registry)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot serve metrics on {address}: {exc}",
                hint="pick a free port in [watcher] metrics, or remove the key",
            ) from None
        self._server = server
        bound = server.server_address
        log.info("metrics listening address=%s:%s", host, bound[1])
        return host, int(bound[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
