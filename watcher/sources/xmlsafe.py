"""The one way this package turns XML bytes into an element tree.

defusedxml wraps the stdlib parser so that it never expands an entity
declaration, never resolves an external entity or DTD, and never touches the
network; ``check_xml_entities`` has already refused the amplifying documents
with a precise message before we get here, this is the second lock.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from ..errors import FormatError

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def parse_xml(data: bytes, *, origin: str) -> Element:
    try:
        root: Element = safe_et.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
        return root
    except defusedxml.DefusedXmlException as exc:
        raise FormatError(f"refused XML ({type(exc).__name__}): {origin}") from None
    except ParseError as exc:
        raise FormatError(f"malformed XML ({exc}): {origin}") from None
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"unreadable XML ({type(exc).__name__}): {origin}") from None


def local(tag: object) -> str:
    """``{namespace}name`` -> ``name``: wires mix NewsML, NITF and XHTML namespaces freely."""
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rsplit("}", 1)[-1]


def children(el: Element, name: str) -> list[Element]:
    return [c for c in el if local(c.tag) == name]


def child(el: Element | None, *path: str) -> Element | None:
    node = el
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if local(c.tag) == name), None)
    return node


def descendants(el: Element, name: str) -> list[Element]:
    return [d for d in el.iter() if local(d.tag) == name]


def text_of(el: Element | None) -> str:
    if el is None:
        return ""
    return " ".join("".join(el.itertext()).split())


_BLOCKS = {
    "p", "hl1", "hl2", "block", "li", "tr", "dateline", "h1", "h2", "h3", "h4", "h5", "h6", "div",
    "blockquote", "pre", "media-caption", "fn", "bq", "credit", "tagline", "br",
}  # fmt: skip
_SKIP = {"script", "style", "head", "media-reference", "media-metadata", "media-object"}


def block_text(el: Element) -> str:
    """Text of a content element with one line per paragraph-like element."""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = " ".join("".join(current).split())
        if line:
            lines.append(line)
        current.clear()

    def walk(node: Element) -> None:
        name = local(node.tag)
        if name in _SKIP:
            if node.tail:
                current.append(node.tail)
            return
        block = name in _BLOCKS
        if block:
            flush()
        if node.text and name:
            current.append(node.text)
        for sub in node:
            walk(sub)
        if block:
            flush()
        if node.tail:
            current.append(node.tail)

    if el.text:
        current.append(el.text)
    for sub in el:
        walk(sub)
    flush()
    return "\n".join(lines)
