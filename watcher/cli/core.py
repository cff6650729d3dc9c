"""Commands of the core pipeline: run, poll, hits, sources."""

from __future__ import annotations
