"""Real delivery endpoints on 127.0.0.1 for the notify tests: an SMTP server (aiosmtpd) and a JSON webhook.

Both can fail on demand: be down (not listening on their port), answer a given
status for the next N messages, then accept. Nothing here mocks apprise or
smtplib: the notifier talks to them over real sockets.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        """The decoded text/<subtype> part ("plain" or "html"); empty when absent."""
        for part in self.message.walk():
            if part.get_content_type() == f"text/{subtype}":
                return str(part.get_content())  # type: ignore[attr-defined]
        return ""


class _SmtpHandler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.server.lock:
            if self.server.failures:
                return self.server.failures.popleft()
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on a fixed port, startable later (to be "down" when a hit fires)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mails: list[Mail] = []
        self.failures: deque[str] = deque()
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=watcher@example.org&to=desk@example.org"

    def fail_next(self, reply: str, times: int = 1) -> None:
        """Answer the next ``times`` messages with ``reply`` (e.g. "451 4.3.0 try later", "550 5.1.1 no such user")."""
        with self.lock:
            self.failures.extend([reply] * times)

    def start(self) -> SmtpServer:
        self._controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port, ready_timeout=5)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() on arrival: how long after an event did the alert come?
    status: int = 200  # what the server answered

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """Title and message of an apprise ``json://`` post (the raw body if it is not JSON)."""
        try:
            doc = json.loads(self.body or b"{}")
        except ValueError:
            return self.body.decode("utf-8", "replace")
        if not isinstance(doc, dict):
            return str(doc)
        return f"{doc.get('title', '')}\n{doc.get('message', '')}"


@dataclass
class WebhookServer:
    """An HTTP server recording POSTs; ``fail_next(500, 3)`` answers 500 three times first.

    ``status`` is the answer when no failure is queued: set it to 503 for an
    outage that lasts until the test sets it back.
    """

    requests: list[Request] = field(default_factory=list)  # accepted (2xx) requests only
    attempts: int = 0
    statuses: deque[int] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    received: list[Request] = field(default_factory=list)  # every request, whatever the answer, in order
    status: int = 200

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def url_for(self, path: str) -> str:
        """A ``json://`` URL posting to ``/path``: one server can stand in for several targets."""
        return f"json://127.0.0.1:{self.port}/{path}"

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.statuses.extend([status] * times)

    def messages(
        self, path: str | None = None, containing: str | None = None, *, accepted: bool | None = True
    ) -> list[Request]:
        """Requests to ``/path`` whose text holds ``containing``; by default only those answered 2xx."""
        with self.lock:
            found = list(self.received)
        return [
            r
            for r in found
            if (path is None or r.path.strip("/") == path)
            and (containing is None or containing in r.text)
            and (accepted is None or (200 <= r.status < 300) == accepted)
        ]

    def wait_for(
        self, containing: str, *, path: str | None = None, timeout: float = 10.0, accepted: bool | None = True
    ) -> Request | None:
        """The first matching request, polling until ``timeout``; None if none came."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(path, containing, accepted=accepted)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def start(self) -> WebhookServer:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with hook.lock:
                    hook.attempts += 1
                    status = hook.statuses.popleft() if hook.statuses else hook.status
                    request = Request(self.path, dict(self.headers), body, arrived, status)
                    hook.received.append(request)
                    if status < 300:
                        hook.requests.append(request)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
