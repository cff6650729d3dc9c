"""Detect a document's format from its bytes, then hand it to the right parser.

The content decides, not the file name or the Content-Type: servers label RSS
as ``text/html`` and agencies drop NewsML files named ``.txt``. An HTML page
where a feed was expected (a login wall, a captive portal, an error page) is an
error, never "0 items", so a broken source is noticed.
"""

from __future__ import annotations

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

_PROLOG = re.compile(
    rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE\s[^\[>]*(?:\[.*?\]\s*)?>|\s+)*", re.DOTALL | re.I
)
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_HTML_DOCTYPE = re.compile(rb"<!DOCTYPE\s+html", re.IGNORECASE)
FEED_ROOTS = {"rss", "rdf", "feed", "channel", "redirect"}
HTML_ROOTS = {"html", "head", "body", "div", "p", "table", "form", "script", "span", "a", "meta", "title"}


def sniff(data: bytes) -> str:
    """One of: empty, json, html, feed, newsml, nitf, xml (unknown root), text."""
    sample = data[:65536]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            sample = sample.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return "text"
    sample = sample.removeprefix(b"\xef\xbb\xbf")
    stripped = sample.lstrip()
    if not stripped:
        return "empty"
    if stripped[:1] in (b"{", b"["):
        return "json"
    if not stripped.startswith(b"<"):
        return "text"
    if _HTML_DOCTYPE.search(sample[:2048]):
        return "html"
    prolog = _PROLOG.match(sample)
    root = _ROOT.match(sample, prolog.end() if prolog else 0)
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


def _charset(headers: Mapping[str, str]) -> str | None:
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    m = re.search(r"charset=[\"']?([\w.:-]+)", ctype, re.IGNORECASE)
    return m.group(1) if m else None


def dispatch(data: bytes, ctx: Context, headers: Mapping[str, str]) -> list[Item]:
    kind = sniff(data)
    if kind == "empty":
        raise FormatError(f"empty document: {ctx.origin}")
    if kind == "html":
        raise FormatError(
            f"got an HTML page, not a feed or a wire document (a login or error page?): {ctx.origin}"
        )
    if kind == "json":
        return parse_json_feed(data, ctx)
    if kind == "text":
        return parse_text(data, ctx, _charset(headers))
    check_xml_entities(data, origin=ctx.origin)
    if kind == "newsml":
        return parse_newsml(data, ctx)
    if kind == "nitf":
        return parse_nitf(data, ctx)
    return parse_feed(data, ctx, headers)
