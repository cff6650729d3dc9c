"""RSS 0.9x/1.0/2.0 and Atom through feedparser, and JSON Feed.

feedparser only ever sees bytes wrapped in a file object: handed a ``str`` or
``bytes`` it would happily treat the document as a URL or a *file name* and
open it (a feed whose body is ``/etc/passwd`` must not read that file). It
never fetches; HTTP is ours (see ``http.py``).

The bozo flag is a policy, not a shrug: encoding mismatches that feedparser
recovers from, and HTML entities such as ``&nbsp;`` that XML does not define,
are logged as warnings and the items kept; any other XML error (a truncated
document, garbage) fails the source, because half a feed silently read is
worse than a clear error.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..errors import FormatError
from ..models import Item
from .items import Context, build_item
from .text import html_to_text

log = logging.getLogger(__name__)

_SURVIVABLE = (
    feedparser.CharacterEncodingOverride,
    feedparser.CharacterEncodingUnknown,
    feedparser.NonXMLContentType,
)
JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


def _struct_to_dt(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _bozo_is_survivable(exc: BaseException) -> bool:
    if isinstance(exc, _SURVIVABLE):
        return True
    return "undefined entity" in str(exc)


def parse_feed(data: bytes, ctx: Context, headers: Mapping[str, str] | None = None) -> list[Item]:
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        parsed = feedparser.parse(
            io.BytesIO(data),
            response_headers=response_headers,
            sanitize_html=True,
            resolve_relative_uris=True,
        )
    except RecursionError:
        raise FormatError(f"feed nested too deeply to read: {ctx.origin}") from None
    except Exception as exc:  # feedparser's own bugs must not take the daemon down
        raise FormatError(f"feed parser failed ({type(exc).__name__}: {exc}): {ctx.origin}") from None
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        if problem is not None and not _bozo_is_survivable(problem):
            raise FormatError(f"malformed feed ({_describe(problem)}): {ctx.origin}")
        log.warning("feed recovered origin=%s problem=%r", ctx.origin, _describe(problem))
    if not parsed.get("version") and not parsed.entries:
        raise FormatError(f"not an RSS or Atom feed: {ctx.origin}")
    feed = parsed.get("feed", {})
    feed_language = feed.get("language")
    items: list[Item] = []
    for entry in parsed.entries:
        items.append(_entry_item(entry, ctx, feed_language))
    return items


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown problem"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:200]


def _entry_item(entry: Any, ctx: Context, feed_language: str | None) -> Item:
    title_detail = entry.get("title_detail") or {}
    title = entry.get("title", "")
    if title_detail.get("type") in ("text/html", "application/xhtml+xml"):
        title = html_to_text(title)
    contents = entry.get("content") or []
    body = "\n\n".join(html_to_text(c.get("value", "")) for c in contents if c.get("value"))
    summary = html_to_text(entry.get("summary", ""))
    if body and summary and body.startswith(summary[:200]):
        summary = ""  # RSS with content:encoded repeats the lead as description
    language = None
    for detail in (*contents, entry.get("summary_detail") or {}, title_detail):
        if detail and detail.get("language"):
            language = detail.get("language")
            break
    published = _struct_to_dt(entry.get("published_parsed")) or _struct_to_dt(entry.get("updated_parsed"))
    tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    return build_item(
        ctx,
        guid=entry.get("id") or None,
        title=title,
        summary=summary,
        body=body,
        link=entry.get("link"),
        published=published,
        language=language or feed_language,
        meta={"subjects": tags[:50]} if tags else None,
    )


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_json_feed(data: bytes, ctx: Context) -> list[Item]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"invalid JSON ({_describe(exc)}): {ctx.origin}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(JSON_FEED_PREFIX):
        raise FormatError(f"JSON document is not a JSON Feed (no jsonfeed.org version): {ctx.origin}")
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        raise FormatError(f"JSON Feed without an items list: {ctx.origin}")
    feed_language = doc.get("language") if isinstance(doc.get("language"), str) else None
    items: list[Item] = []
    for raw in raw_items:
        if not isinstance(raw, dict):
            continue
        text = raw.get("content_text")
        body = text if isinstance(text, str) else html_to_text(_str(raw.get("content_html")))
        tags = [t for t in raw.get("tags", []) if isinstance(t, str)] if isinstance(raw.get("tags"), list) else []
        items.append(
            build_item(
                ctx,
                guid=_str(raw.get("id")) or None,
                title=_str(raw.get("title")),
                summary=_str(raw.get("summary")),
                body=body,
                link=_str(raw.get("url")) or _str(raw.get("external_url")) or None,
                published=_iso(raw.get("date_published")) or _iso(raw.get("date_modified")),
                language=_str(raw.get("language")) or feed_language,
                meta={"subjects": tags[:50]} if tags else None,
            )
        )
    return items


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
