"""One place where parsed fields become an ``Item``: cleaning, identity, language.

Every format module hands raw strings here, so the guarantees (no control or
bidi characters, capped field lengths, a UTC ``published``, a guid, a
language) hold whatever format an item came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..models import Item
from .language import detect_language, normalize_language
from .safety import clean_field, clean_line


@dataclass(frozen=True)
class Context:
    """What every parser needs to know about where a document came from."""

    origin: str
    source: str
    language: str | None = None  # the source's forced language (SourceConfig.language)
    default_guid: str | None = None  # identity when the document has none (drop-folder relative path)
    doc_language: str | None = None  # language declared by the transport (Content-Language)
    detect: bool = True  # guess the language of items that declare none (see fill_language)


def to_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def build_item(
    ctx: Context,
    *,
    guid: str | None,
    title: str | None = "",
    summary: str | None = "",
    body: str | None = "",
    link: str | None = None,
    published: datetime | None = None,
    language: str | None = None,
    version: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Item:
    title_c = clean_line(title)
    summary_c = clean_field("summary", summary)
    body_c = clean_field("body", body)
    link_c = clean_line(link) or None
    if link_c and not link_c.lower().startswith(("http://", "https://")):
        link_c = None  # javascript:, data: and friends never reach a notification
    identity = clean_line(guid) or link_c or ctx.default_guid
    if not identity:
        digest = hashlib.sha256("\x00".join((title_c, summary_c, body_c)).encode("utf-8", "replace"))
        identity = "sha256:" + digest.hexdigest()[:32]
    lang = normalize_language(ctx.language) or normalize_language(language) or normalize_language(ctx.doc_language)
    if lang is None and ctx.detect:
        lang = detect_language(f"{title_c}\n{summary_c}\n{body_c}")
    return Item(
        source=ctx.source,
        guid=identity,
        title=title_c,
        summary=summary_c,
        body=body_c,
        link=link_c,
        published=to_utc(published),
        language=lang,
        version=clean_line(version) or None,
        origin=ctx.origin,
        meta=meta or {},
    )


def fill_language(items: list[Item]) -> list[Item]:
    """Guess the language of items that have none.

    Parser workers skip the guess and the parent process does it here: the
    language model takes ~90 MB once loaded, so it lives in one process rather
    than in every worker.
    """
    out = []
    for item in items:
        if item.language is None:
            guess = detect_language(f"{item.title}\n{item.summary}\n{item.body}")
            item = replace(item, language=guess) if guess else item
        out.append(item)
    return out
