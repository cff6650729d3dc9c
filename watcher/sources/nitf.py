"""NITF 3.x, standalone or inline inside a NewsML-G2 ``contentSet``.

NITF keeps its metadata in ``head/docdata`` (the document id, its issue date,
``du-key`` with a version) and its text in ``body``: ``body.head`` carries the
headline (``hedline/hl1``), the byline, the dateline and an ``abstract``;
``body.content`` carries the paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from ..errors import FormatError
from ..models import Item
from .items import Context, build_item
from .xmlsafe import XML_LANG, block_text, child, descendants, local, parse_xml, text_of

_NORM_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})?)?$")


@dataclass
class NitfDoc:
    title: str = ""
    summary: str = ""
    body: str = ""
    dateline: str = ""
    doc_id: str | None = None
    version: str | None = None
    published: datetime | None = None
    language: str | None = None
    subjects: list[str] = field(default_factory=list)


def parse_norm_date(value: str | None) -> datetime | None:
    """NITF ``norm`` dates: ``20241126T101500+0100``, ``20241126T101500Z`` or ``20241126``."""
    if not value:
        return None
    m = _NORM_DATE.match(value.strip())
    if not m:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    y, mo, d, h, mi, s, tz = m.groups()
    try:
        stamp = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        if tz and tz != "Z":
            return datetime.strptime(f"{stamp:%Y%m%d%H%M%S}{tz}", "%Y%m%d%H%M%S%z")
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC)


def read_nitf(nitf: Element) -> NitfDoc:
    doc = NitfDoc()
    head = child(nitf, "head")
    body = child(nitf, "body")
    docdata = child(head, "docdata")
    if docdata is not None:
        doc_id = child(docdata, "doc-id")
        doc.doc_id = doc_id.get("id-string") if doc_id is not None else None
        du_key = child(docdata, "du-key")
        if du_key is not None:
            doc.version = du_key.get("version") or du_key.get("generation")
        for tag in ("date.issue", "date.release"):
            when = child(docdata, tag)
            if when is not None and doc.published is None:
                doc.published = parse_norm_date(when.get("norm"))
        doc.subjects = [
            s.get("tobject.subject.type") or s.get("tobject.subject.refnum") or ""
            for s in descendants(docdata, "tobject.subject")
        ]
        doc.subjects = [s for s in doc.subjects if s]
    body_head = child(body, "body.head")
    doc.title = text_of(child(body_head, "hedline", "hl1")) or text_of(child(head, "title"))
    abstract = child(body_head, "abstract")
    doc.summary = block_text(abstract) if abstract is not None else ""
    dateline = child(body_head, "dateline")
    doc.dateline = text_of(dateline)
    content = child(body, "body.content")
    doc.body = block_text(content) if content is not None else ""
    doc.language = nitf.get(XML_LANG) or (body.get(XML_LANG) if body is not None else None) or nitf.get("lang")
    return doc


def nitf_item(doc: NitfDoc, ctx: Context) -> Item:
    return build_item(
        ctx,
        guid=doc.doc_id,
        title=doc.title,
        summary=doc.summary,
        body=doc.body,
        published=doc.published,
        language=doc.language,
        version=doc.version,
        meta={k: v for k, v in (("dateline", doc.dateline), ("subjects", doc.subjects)) if v},
    )


def parse_nitf(data: bytes, ctx: Context) -> list[Item]:
    """A document whose root is ``nitf``, or any XML fragment carrying ``nitf`` elements."""
    root = parse_xml(data, origin=ctx.origin)
    nitfs = [root] if local(root.tag) == "nitf" else descendants(root, "nitf")
    items = [nitf_item(read_nitf(n), ctx) for n in nitfs]
    items = [i for i in items if i.title or i.body]
    if not items:
        raise FormatError(f"NITF document without headline or text: {ctx.origin}")
    return items
