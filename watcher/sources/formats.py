"""Detect a document's format from its bytes, then hand it to the right parser.

The content decides, not the file name or the Content-Type: servers label RSS
as ``text/html`` and agencies drop NewsML files named ``.txt``. An HTML page
where a feed was expected (a login wall, a captive portal, an error page) is an
error, never "0 items", so a broken source is noticed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

from ..errors import FormatError
from ..models import Item
from .feeds import parse_feed, parse_json_feed
from .items import Context
from .newsml import NEWSML_ROOTS, parse_newsml
from .nitf import parse_nitf
from .safety import check_xml_entities
from .text import parse_text

log = logging.getLogger(__name__)

_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE\s[^\[>]*(?:\[.*?\]\s*)?>|\s+)*", re.DOTALL | re.I)
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_HTML_DOCTYPE = re.compile(rb"<!DOCTYPE\s+html", re.IGNORECASE)
FEED_ROOTS = {"rss", "rdf", "feed", "channel", "redirect"}
HTML_ROOTS = {"html", "head", "body", "div", "p", "table", "form", "script", "span", "a", "meta", "title"}


# XML 1.0 appendix F: byte order marks, then the shape "<?" takes in each wide encoding.
_WIDE = (
    (b"\x00\x00\xfe\xff", "utf-32-be", 4),
    (b"\xff\xfe\x00\x00", "utf-32-le", 4),
    (b"\xfe\xff", "utf-16-be", 2),
    (b"\xff\xfe", "utf-16-le", 2),
    (b"\x00\x00\x00<", "utf-32-be", 0),
    (b"<\x00\x00\x00", "utf-32-le", 0),
    (b"\x00<\x00?", "utf-16-be", 0),
    (b"<\x00?\x00", "utf-16-le", 0),
)
_DECL_ENCODING = re.compile(rb"""^(<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")


def to_utf8(data: bytes) -> tuple[bytes, bool]:
    """UTF-16/32 documents re-encoded as UTF-8 (declaration included), and whether that happened.

    Every check that follows works on bytes (entity declarations, the root
    element); a billion-laughs document in UTF-16 must not slip past them.
    """
    for prefix, codec, bom in _WIDE:
        if data.startswith(prefix):
            try:
                text = data[bom:].decode(codec)
            except UnicodeDecodeError:
                raise FormatError(f"invalid {codec.upper()} document") from None
            out = text.encode("utf-8")
            return _DECL_ENCODING.sub(rb"\1\2utf-8\2", out, count=1), True
    return data, False


def sniff(data: bytes) -> str:
    """One of: empty, json, html, feed, newsml, nitf, xml (unknown root), text."""
    sample = data[:65536]
    sample = sample.removeprefix(b"\xef\xbb\xbf")
    stripped = sample.lstrip()
    if not stripped:
        return "empty"
    if stripped[:1] in (b"{", b"["):
        return "json"
    if not stripped.startswith(b"<"):
        return "text"
    prolog = _PROLOG.match(sample)
    prolog_end = prolog.end() if prolog else 0
    if _HTML_DOCTYPE.search(sample, 0, prolog_end):
        return "html"
    root = _ROOT.match(sample, prolog_end)
    if root is None:
        return "xml"
    name = root.group(1).decode("ascii", "replace").rsplit(":", 1)[-1]
    if name.lower() in FEED_ROOTS:
        return "feed"
    if name in NEWSML_ROOTS or name == "packageItem":
        return "newsml"
    if name == "nitf":
        return "nitf"
    if name.lower() in HTML_ROOTS:
        return "html"
    return "xml"


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


def _charset(headers: Mapping[str, str]) -> str | None:
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    m = re.search(r"charset=[\"']?([\w.:-]+)", ctype, re.IGNORECASE)
    return m.group(1) if m else None


def dispatch(data: bytes, ctx: Context, headers: Mapping[str, str]) -> list[Item]:
    try:
        data, transcoded = to_utf8(data)
    except FormatError as exc:
        raise FormatError(f"{exc}: {ctx.origin}") from None
    if transcoded:
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["content-type"] = "application/xml; charset=utf-8"
    kind = sniff(data)
    if kind == "empty":
        raise FormatError(f"empty document: {ctx.origin}")
    if kind == "html":
        raise FormatError(f"got an HTML page, not a feed or a wire document (a login or error page?): {ctx.origin}")
    if kind == "json":
        if data.lstrip()[:1] == b"[" and not _is_json(data):
            return parse_text(data, ctx, _charset(headers))  # "[URGENT] ..." is a dispatch, not JSON
        return parse_json_feed(data, ctx)
    if kind == "text":
        return parse_text(data, ctx, _charset(headers))
    check_xml_entities(data, origin=ctx.origin)
    if kind == "newsml":
        return parse_newsml(data, ctx)
    if kind == "nitf":
        return parse_nitf(data, ctx)
    return parse_feed(data, ctx, headers)
