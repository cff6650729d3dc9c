"""The apprise boundary: one target, one send, one classified outcome.

apprise tells a caller only whether a service accepted a message. Retrying
needs more: an SMTP 550 or an HTTP 404 will fail the same way forever, while
an SMTP 421, an HTTP 503, a timeout or a refused connection may pass in a
minute. apprise 2.x records each attempt's log lines in its result
(``NotifyResult.logs()``); its plugins write the HTTP status as ``error=NNN``
(a convention of nearly every HTTP plugin), and the SMTP reply code appears in
the smtplib exception it logs at DEBUG. We read those, and anything we cannot
classify counts as temporary: retrying a permanent failure for ``retry_for``
costs a few messages to an admin, giving up on a temporary one loses an alert.
tests/test_notify_delivery.py pins these formats against real servers, so an
apprise upgrade that changes them fails the suite instead of silently retrying.

The SMTP code is only logged at DEBUG, and apprise's DEBUG lines may hold
tokens. While a send runs we therefore raise the ``apprise`` logger to DEBUG
*with propagation off*: the records reach apprise's per-attempt capture and no
handler of ours, so ``-vv`` never prints a token. The lock makes the switch
safe when several threads deliver.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import apprise

from ..config import NotifyConfig
from ..errors import ConfigError
from ..logs import redact
from . import console

log = logging.getLogger(__name__)

_APPRISE_LOGGER = logging.getLogger("apprise")
_LOG_LOCK = threading.Lock()

_HTTP_STATUS = re.compile(r"\berror=(\d{3})\b")
# "(550, b'5.1.1 no such user')" from SMTPResponseException, "{'a@b': (550, b'...')}"
# from SMTPRecipientsRefused, "refused: 550 ..." from apprise's partial-refusal warning.
_SMTP_CODE = re.compile(r"(?:\(|refused: )([245]\d\d)\b")
_SMTP_SCHEMAS = {"mailto", "mailtos", "smtp", "smtps"}
# Client errors that are about timing, not about the request: worth retrying.
_HTTP_RETRYABLE_4XX = {408, 425, 429}

SEND_TIMEOUT = 60.0  # seconds for one whole send, whatever the plugin's own socket timeouts


@dataclass(frozen=True)
class Outcome:
    ok: bool
    permanent: bool = False
    error: str | None = None


class Target:
    """One configured ``[[notify]]`` entry bound to its apprise plugin."""

    def __init__(self, cfg: NotifyConfig, asset: apprise.AppriseAsset) -> None:
        console.register()
        self.cfg = cfg
        self.name = cfg.name
        self.schema = cfg.url.split(":", 1)[0].lower()
        plugin = apprise.Apprise.instantiate(cfg.url, asset=asset)
        if plugin is None:
            raise ConfigError(
                f"notify target {cfg.name!r}: not a valid apprise URL ({self.schema}://...)",
                hint="see https://github.com/caronc/apprise/wiki for the URL of each service",
            )
        # apprise spaces sends to one service apart (5.5 s for email) to respect public
        # services' rate limits; a terminal needs no politeness, and an operator's own
        # relay may be told otherwise with `throttle`.
        if cfg.throttle is not None:
            plugin.request_rate_per_sec = cfg.throttle.total_seconds()
        elif self.schema == console.SCHEMA:
            plugin.request_rate_per_sec = 0
        self.url = _loggable(str(plugin.url(privacy=True)))  # type: ignore[no-untyped-call]
        self._apprise = apprise.Apprise(asset=asset)
        self._apprise.add(plugin)
        self.format = cfg.format or _preferred_format(plugin)
        if self.format not in ("text", "html", "markdown"):
            self.format = "text"
        # Services without a title field get the title pasted into the body, in the body's format.
        self.title_format = "text" if int(getattr(plugin, "title_maxlen", 0) or 0) > 0 else self.format

    def send(self, title: str, body: str, *, notify_type: str = "info") -> Outcome:
        try:
            with _debug_captured():
                result = self._apprise.notify(
                    body=body,
                    title=title,
                    notify_type=notify_type,
                    body_format=self.format,
                    timeout=SEND_TIMEOUT,
                    log_level=logging.DEBUG,
                )
        except Exception as exc:  # a plugin bug must be this target's failure, never the daemon's
            return Outcome(False, error=f"{type(exc).__name__} in apprise: {redact(str(exc))[:300]}")
        with result:
            if result:
                return Outcome(True)
            lines = [(e.level, e.message) for e in result.logs()]
            timed_out = result.status == apprise.AppriseResultStatus.TIMEOUT
        return self._classify(lines, timed_out=timed_out)

    def _classify(self, lines: list[tuple[str, str]], *, timed_out: bool) -> Outcome:
        warnings = [redact(m) for level, m in lines if level in ("WARNING", "ERROR", "CRITICAL")]
        text = "\n".join(m for _, m in lines)
        summary = warnings[-1] if warnings else "the service did not accept the message"
        if timed_out:
            return Outcome(False, error=f"timed out after {SEND_TIMEOUT:.0f}s: {summary}")
        if self.schema in _SMTP_SCHEMAS:
            replies = [(int(m.group(1)), msg) for _, msg in lines for m in [_SMTP_CODE.search(msg)] if m]
            if replies:
                code, reply = replies[-1]  # the server's own words say more than apprise's summary
                reply = redact(reply.removeprefix("Socket Exception: "))[:200]
                kind = "permanent" if code >= 500 else "temporary"
                return Outcome(False, permanent=code >= 500, error=f"SMTP {code} ({kind}): {reply}")
        else:
            statuses = [int(c) for c in _HTTP_STATUS.findall(text)]
            if statuses:
                status = statuses[-1]
                permanent = 400 <= status < 500 and status not in _HTTP_RETRYABLE_4XX
                kind = "permanent" if permanent else "temporary"
                return Outcome(False, permanent=permanent, error=f"HTTP {status} ({kind}): {summary}")
        return Outcome(False, error=summary)


def _loggable(privacy_url: str) -> str:
    """apprise's privacy form without path and query: generic webhooks (json://, form://) keep path
    tokens in that form (``json://host/hook/<token>``), and the target's name identifies it anyway."""
    try:
        parts = urlsplit(privacy_url)
    except ValueError:
        return privacy_url.split(":", 1)[0] + "://…"
    tail = "/…" if parts.path.strip("/") else ""
    return f"{parts.scheme}://{parts.netloc}{tail}"


def _preferred_format(plugin: Any) -> str:
    formats = plugin.notify_format
    first = formats[0] if isinstance(formats, tuple | list) else formats
    return str(getattr(first, "value", first))


@contextmanager
def _debug_captured() -> Iterator[None]:
    with _LOG_LOCK:
        level, propagate = _APPRISE_LOGGER.level, _APPRISE_LOGGER.propagate
        _APPRISE_LOGGER.setLevel(logging.DEBUG)
        _APPRISE_LOGGER.propagate = False
        try:
            yield
        finally:
            _APPRISE_LOGGER.setLevel(level)
            _APPRISE_LOGGER.propagate = propagate
