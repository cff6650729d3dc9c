"""NewsML-G2: a ``newsItem``, or a ``newsMessage`` whose ``itemSet`` carries several.

Only text-bearing items become ``Item``s: ``packageItem`` and ``conceptItem``
are structure, not stories, and a newsItem with neither headline nor text is
skipped with a log line. The guid and ``version`` attributes give the story
identity and revision (agencies re-send a story with a higher version on each
correction). The body comes from ``contentSet``: inline NITF, inline XHTML, or
plain ``inlineData``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from xml.etree.ElementTree import Element

from ..errors import FormatError
from ..models import Item
from .items import Context, build_item
from .nitf import parse_norm_date, read_nitf
from .xmlsafe import XML_LANG, block_text, child, children, descendants, local, parse_xml, text_of

log = logging.getLogger(__name__)

NEWSML_ROOTS = {"newsItem", "newsMessage", "contentSet", "itemSet"}


def _iso(value: str) -> datetime | None:
    return parse_norm_date(value) if value else None


def _pick_lang(elements: list[Element], lang: str | None) -> Element | None:
    """Of several ``headline`` (one per language), the one in the item's language, else the first."""
    if not elements:
        return None
    for el in elements:
        if lang and (el.get(XML_LANG) or "").lower().startswith(lang.lower()[:2]):
            return el
    return elements[0]


def _content(content_set: Element | None) -> tuple[str, str, str | None, str]:
    """(body, abstract, language, NITF headline) from a contentSet."""
    if content_set is None:
        return "", "", None, ""
    for inline in children(content_set, "inlineXML"):
        nitf = next(iter(descendants(inline, "nitf")), None)
        if nitf is not None:
            doc = read_nitf(nitf)
            return doc.body, doc.summary, doc.language, doc.title
        html_body = next(iter(descendants(inline, "body")), None)
        if html_body is not None:
            return block_text(html_body), "", html_body.get(XML_LANG), ""
        if len(inline):
            return block_text(inline), "", inline.get(XML_LANG), ""
    for data in children(content_set, "inlineData"):
        text = (data.text or "").strip()
        if text:
            return text, "", data.get(XML_LANG), ""
    return "", "", None, ""


def news_item(el: Element, ctx: Context, message_lang: str | None = None) -> Item | None:
    lang = el.get(XML_LANG) or message_lang
    meta = child(el, "itemMeta")
    cmeta = child(el, "contentMeta")
    language_el = child(cmeta, "language")
    if language_el is not None and language_el.get("tag"):
        lang = language_el.get("tag")
    headline = text_of(_pick_lang(children(cmeta, "headline") if cmeta is not None else [], lang))
    slugline = text_of(child(cmeta, "slugline"))
    descriptions = children(cmeta, "description") if cmeta is not None else []
    description = text_of(_pick_lang(descriptions, lang))
    body, abstract, body_lang, nitf_title = _content(child(el, "contentSet"))
    title = headline or nitf_title or slugline
    if not (title or body or description):
        log.info("newsml item without text skipped origin=%s guid=%s", ctx.origin, el.get("guid"))
        return None
    published = None
    for holder, tag in ((meta, "versionCreated"), (meta, "firstCreated"), (cmeta, "contentCreated")):
        published = published or _iso(text_of(child(holder, tag)))
    subjects = []
    for subject in children(cmeta, "subject") if cmeta is not None else []:
        name = text_of(_pick_lang(children(subject, "name"), lang))
        subjects.append(name or subject.get("qcode") or subject.get("uri") or "")
    dateline = text_of(child(cmeta, "dateline")) or text_of(child(cmeta, "located", "name"))
    pub_status = child(meta, "pubStatus")
    extra = {
        "slugline": slugline,
        "subjects": [s for s in subjects if s][:50],
        "dateline": dateline,
        "pub_status": pub_status.get("qcode") if pub_status is not None else "",
    }
    return build_item(
        ctx,
        guid=el.get("guid"),
        title=title,
        summary=description or abstract,
        body=body,
        published=published,
        language=lang or body_lang,
        version=el.get("version"),
        meta={k: v for k, v in extra.items() if v},
    )


def parse_newsml(data: bytes, ctx: Context) -> list[Item]:
    root = parse_xml(data, origin=ctx.origin)
    name = local(root.tag)
    message_lang = root.get(XML_LANG)
    if name == "newsItem":
        candidates = [root]
    elif name == "newsMessage":
        candidates = [i for s in children(root, "itemSet") for i in children(s, "newsItem")]
    elif name == "itemSet":
        candidates = children(root, "newsItem")
    else:
        candidates = descendants(root, "newsItem")
    items = [it for it in (news_item(c, ctx, message_lang) for c in candidates) if it is not None]
    if not items and name == "contentSet":
        from .nitf import parse_nitf

        return parse_nitf(data, ctx)
    if not items:
        raise FormatError(f"NewsML-G2 document without any news item carrying text: {ctx.origin}")
    return items
