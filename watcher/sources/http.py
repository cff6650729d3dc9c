"""HTTP fetching with httpx, bounded in every dimension a hostile server controls.

- **Addresses** are checked where the socket is opened (a network backend
  plugged into httpcore): after DNS resolution, on every connection, hence on
  every redirect hop, with no window for DNS rebinding between check and
  connect. Non-global addresses (private, loopback, link-local, CGNAT...) are
  refused unless ``allow_private_networks``; cloud metadata endpoints always.
- **Time**: one deadline for the whole fetch, redirects and body included; it
  is checked after every chunk, so a server trickling a byte every 2 s fails
  at the deadline (plus at most one read) instead of never.
- **Size**: we ask only for gzip/deflate and decompress ourselves with
  ``max_length``, so the 15 MiB cap applies to *decoded* bytes and a gzip bomb
  stops after 15 MiB of output, never allocating more.
- **Redirects** are followed by hand (at most ``max_redirects``), so each hop's
  scheme is checked; only http and https are ever requested.
- No proxy from the environment (it would bypass the address check).
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
}
REDIRECTS = {301, 302, 303, 307, 308}
_dns = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dns")


class FetchError(Exception):
    """A fetch failed; ``message`` is what the user reads."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status


class BlockedAddress(Exception):
    pass


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_refusal(address: str, allow_private: bool, allow_networks: tuple[Network, ...] = ()) -> str | None:
    """Why we will not connect to ``address``, or None if we may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata endpoint"
    if allow_private or ip.is_global or any(ip in net for net in allow_networks):
        return None
    kind = (
        "loopback" if ip.is_loopback
        else "link-local" if ip.is_link_local
        else "private" if ip.is_private
        else "non-public"
    )  # fmt: skip
    return f"{ip} is a {kind} address"


class GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks every address, then connects to a checked one."""

    def __init__(self, allow_private: bool, allow_networks: tuple[Network, ...] = ()) -> None:
        self.allow_private = allow_private
        self.allow_networks = allow_networks

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        future = _dns.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=timeout)
        except FutureTimeout:
            raise httpcore.ConnectTimeout(f"DNS lookup of {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            why = address_refusal(address, self.allow_private, self.allow_networks)
            if why:
                raise BlockedAddress(f"refused to connect to {host}: {why}")
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")


def make_client(
    *, allow_private: bool, user_agent: str, max_connections: int, allow_networks: tuple[Network, ...] = ()
) -> httpx.Client:
    transport = httpx.HTTPTransport(
        trust_env=False,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpx/httpcore changed: cannot install the address guard, refusing to fetch")
    pool._network_backend = GuardedBackend(allow_private, allow_networks)
    return httpx.Client(
        transport=transport, trust_env=False, follow_redirects=False, headers={"User-Agent": user_agent}
    )


@dataclass
class Response:
    status: int
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    redirects: int = 0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def freshness(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long the server says the response stays fresh (Cache-Control max-age, else Expires)."""
    lower = {k.lower(): v for k, v in headers.items()}
    cache_control = lower.get("cache-control", "").lower()
    if "no-cache" in cache_control or "no-store" in cache_control:
        return None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("max-age", "s-maxage") and value.strip().strip('"').isdigit():
            age = float(lower.get("age", "0") or 0) if lower.get("age", "0").isdigit() else 0.0
            return timedelta(seconds=max(0.0, int(value.strip().strip('"')) - age))
    if "expires" in lower:
        try:
            expires = parsedate_to_datetime(lower["expires"])
            base = parsedate_to_datetime(lower["date"]) if "date" in lower else now
        except (TypeError, ValueError, IndexError):
            return None
        if expires.tzinfo is None or base.tzinfo is None:
            return None
        return max(timedelta(0), expires - base)
    return None


class _Decoder:
    """Content-Encoding decoding with a hard cap on output, fed chunk by chunk."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.parts: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self.zlib_wbits: int | None = None
        elif encoding in ("gzip", "x-gzip"):
            self.zlib_wbits = 16 + zlib.MAX_WBITS
        elif encoding == "deflate":
            self.zlib_wbits = zlib.MAX_WBITS
        else:
            raise FetchError(f"server sent Content-Encoding {encoding!r}, which was not asked for")
        self._z = zlib.decompressobj(wbits=self.zlib_wbits) if self.zlib_wbits is not None else None
        self._first = True

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise FetchError(f"body larger than {self.cap // 2**20} MiB once decoded (limit max_bytes)")
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._z is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._z.decompress(data, self.cap - self.size + 1)
            except zlib.error:
                if self._first and self.zlib_wbits == zlib.MAX_WBITS:
                    # "deflate" is raw deflate on some servers, zlib-wrapped on others.
                    self.zlib_wbits = -zlib.MAX_WBITS
                    self._z = zlib.decompressobj(self.zlib_wbits)
                    self._first = False
                    continue
                raise FetchError("corrupt compressed body") from None
            self._first = False
            self._keep(out)
            if self._z.unconsumed_tail:
                data = self._z.unconsumed_tail
            elif self._z.eof and self._z.unused_data:
                data = self._z.unused_data  # a second gzip member
                self._z = zlib.decompressobj(wbits=self.zlib_wbits or zlib.MAX_WBITS)
            else:
                data = b""

    def body(self) -> bytes:
        if self._z is not None:
            self._keep(self._z.flush())
        return b"".join(self.parts)


def fetch_url(
    client: httpx.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    deadline: float,
    max_bytes: int,
    max_redirects: int,
    now: datetime,
) -> Response:
    """GET ``url`` within the monotonic ``deadline``; raises FetchError for every failure."""
    current = httpx.URL(url)
    for hop in range(max_redirects + 1):
        if current.scheme not in ("http", "https"):
            raise FetchError(f"refused to fetch {current.scheme}: URL (only http and https)")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("deadline exceeded before the response arrived")
        request = client.build_request(
            "GET",
            current,
            headers={**headers, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(remaining),
        )
        try:
            response = client.send(request, stream=True)
        except BlockedAddress as exc:
            raise FetchError(f"{exc} (set allow_private_networks = true to allow)") from None
        except httpx.TimeoutException:
            raise FetchError(f"no response within the {remaining:.0f}s left before the deadline") from None
        except httpx.ConnectError as exc:
            raise FetchError(f"cannot connect: {_short(exc)}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"HTTP error: {_short(exc)}") from None
        try:
            if response.status_code in REDIRECTS and "location" in response.headers:
                if hop >= max_redirects:
                    raise FetchError(f"more than {max_redirects} redirects (a redirect loop?)")
                current = response.url.join(response.headers["location"])
                continue
            result = Response(response.status_code, str(response.url), dict(response.headers), redirects=hop)
            if response.status_code == 304:
                return result
            if response.status_code in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"), now)
                what = "rate limited" if response.status_code == 429 else "service unavailable"
                wait = f", retry after {retry_after:.0f}s" if retry_after is not None else ""
                raise FetchError(f"HTTP {response.status_code} {what}{wait}", retry_after=retry_after,
                                 status=response.status_code)  # fmt: skip
            if response.status_code >= 400 or response.status_code < 200:
                raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                                 status=response.status_code)  # fmt: skip
            result.body = _read_body(response, deadline, max_bytes)
            return result
        finally:
            response.close()
    raise FetchError(f"more than {max_redirects} redirects")


def _read_body(response: httpx.Response, deadline: float, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "")
    if declared.isdigit() and not encoding and int(declared) > max_bytes:
        raise FetchError(f"body of {int(declared)} bytes exceeds the {max_bytes // 2**20} MiB limit (max_bytes)")
    decoder = _Decoder(encoding, max_bytes)
    try:
        for chunk in response.iter_raw():  # no chunk_size: it would buffer past the deadline
            decoder.feed(chunk)
            if time.monotonic() > deadline:
                raise FetchError(f"deadline exceeded while reading the body ({decoder.size} bytes received)")
    except httpx.TimeoutException:
        raise FetchError("deadline exceeded while reading the body") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"connection broken while reading the body: {_short(exc)}") from None
    return decoder.body()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused"
    return text.splitlines()[0][:200]
