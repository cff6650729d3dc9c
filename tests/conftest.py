"""Fixtures shared by every test module: a throwaway project (config, rules, drop folder) and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import Project
from servers_notify import SmtpServer, WebhookServer

from watcher.cli import cli

pytest_plugins = ["daemon_fixtures"]  # the daemon tests' real parts: webhook, notify socket, daemon process


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield Project(tmp_path)


@pytest.fixture
def invoke() -> Callable[..., Result]:
    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records every message it accepts."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    """A real HTTP webhook receiver on 127.0.0.1 (apprise's json:// posts to it)."""
    server = WebhookServer().start()
    yield server
    server.stop()
