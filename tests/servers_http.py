"""A real, hostile HTTP server on 127.0.0.1 in a thread, for the fetcher tests.

Every misbehaviour of issue 5's acceptance list has a path. Handlers stop as
soon as the client goes away, so a test that gave up does not leave a thread
writing for minutes.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sources_fixtures import RSS, rss_feed

_BOMB: bytes | None = None
_BOMB_LOCK = threading.Lock()


def gzip_bomb(decoded_mib: int = 256) -> bytes:
    """About 250 KB of gzip that decodes to ``decoded_mib`` MiB of zeros (built once per test session)."""
    global _BOMB
    with _BOMB_LOCK:
        if _BOMB is None:
            z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            block = b"\0" * (1 << 20)
            parts = [z.compress(block) for _ in range(decoded_mib)]
            parts.append(z.flush())
            _BOMB = b"".join(parts)
        return _BOMB


class HostileServer:
    def __init__(self) -> None:
        self.hits: dict[str, int] = defaultdict(int)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.bodies: dict[str, bytes] = {}
        self.documents: dict[str, tuple[bytes, dict[str, str]]] = {}  # path -> (body, headers)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(path)
                try:
                    if route is not None:
                        route(self)
                    elif path in server.bodies:
                        server.send(self, 200, server.bodies[path])
                    elif path in server.documents:
                        body, headers = server.documents[path]
                        ctype = headers.pop("Content-Type", "application/xml") if headers else "application/xml"
                        server.send(self, 200, body, ctype=ctype, headers=headers)
                    else:
                        server.send(self, 404, b"not found", ctype="text/plain")
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._install_routes()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    @staticmethod
    def send(
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        *,
        ctype: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _install_routes(self) -> None:
        send = self.send
        r = self.routes

        def trickle(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(len(RSS)))
            h.end_headers()
            for byte in RSS:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(2)

        def big(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Transfer-Encoding", "chunked")  # no Content-Length: the cap must work while streaming
            h.end_headers()
            chunk = b"<!-- " + b"x" * (1 << 20) + b" -->"
            head = b'<?xml version="1.0"?><rss version="2.0"><channel>'
            h.wfile.write(f"{len(head):x}\r\n".encode() + head + b"\r\n")
            for _ in range(100):
                h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")

        def bomb(h: BaseHTTPRequestHandler) -> None:
            send(h, 200, gzip_bomb(), headers={"Content-Encoding": "gzip"})

        def loop(h: BaseHTTPRequestHandler) -> None:
            send(h, 302, b"", headers={"Location": "/loop"})

        def to_metadata(h: BaseHTTPRequestHandler) -> None:
            send(h, 302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"})

        def to_loopback(h: BaseHTTPRequestHandler) -> None:
            send(h, 301, b"", headers={"Location": f"http://127.0.0.2:{self.port}/ok"})

        def to_file(h: BaseHTTPRequestHandler) -> None:
            send(h, 302, b"", headers={"Location": "file:///etc/passwd"})

        def redirect_ok(h: BaseHTTPRequestHandler) -> None:
            send(h, 307, b"", headers={"Location": "/ok"})

        def ratelimit(h: BaseHTTPRequestHandler) -> None:
            send(h, 429, b"slow down", ctype="text/plain", headers={"Retry-After": "120"})

        def unavailable(h: BaseHTTPRequestHandler) -> None:
            send(h, 503, b"maintenance", ctype="text/plain", headers={"Retry-After": "600"})

        def flaky(h: BaseHTTPRequestHandler) -> None:
            if self.hits["/flaky"] <= 5:
                send(h, 500, b"oops", ctype="text/plain")
            else:
                send(h, 200, RSS)

        def etag(h: BaseHTTPRequestHandler) -> None:
            if h.headers.get("If-None-Match") == '"v1"':
                send(h, 304, b"", headers={"ETag": '"v1"'})
            else:
                send(h, 200, RSS, headers={"ETag": '"v1"', "Last-Modified": "Tue, 26 Nov 2024 08:00:00 GMT"})

        def ignores_etag(h: BaseHTTPRequestHandler) -> None:
            send(h, 200, RSS, headers={"Cache-Control": "max-age=600"})

        def gzipped(h: BaseHTTPRequestHandler) -> None:
            send(h, 200, gzip.compress(RSS), headers={"Content-Encoding": "gzip"})

        r.update({
            "/trickle": trickle, "/big": big, "/bomb": bomb, "/loop": loop, "/to-metadata": to_metadata,
            "/to-loopback": to_loopback, "/to-file": to_file, "/redirect-ok": redirect_ok,
            "/ratelimit": ratelimit, "/unavailable": unavailable, "/flaky": flaky, "/etag": etag,
            "/ignores-etag": ignores_etag, "/gzip": gzipped,
            "/empty": lambda h: send(h, 200, b""),
            "/login": lambda h: send(
                h, 200, b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method=post>"
                b"<input name=user><input type=password name=pw></form></body></html>", ctype="text/html"),
            "/truncated": lambda h: send(h, 200, RSS[: len(RSS) // 2]),
            "/charset": lambda h: send(
                h, 200, RSS.replace(b"lanc\xc3\xa9", b"lanc\xe9"), ctype="application/rss+xml; charset=utf-8"),
            "/ok": lambda h: send(h, 200, RSS),
            "/many": lambda h: send(h, 200, rss_feed(50)),
        })  # fmt: skip

    def __enter__(self) -> HostileServer:
        gzip_bomb()  # built before serving, so building it never eats a test's deadline
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def closed_port() -> int:
    """A port nothing listens on: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
