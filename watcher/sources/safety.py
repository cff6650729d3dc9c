"""Defences applied to every document before and after parsing.

XML entity declarations are checked *before* any parser sees the bytes:
feedparser's strict pass uses expat, which expands internal entities, and its
lenient fallback expands them again without any limit, so a 1 KB "billion
laughs" document or one 100 KB entity referenced 10,000 times (the quadratic
blowup) would eat gigabytes. We compute what the declared entities would
expand to, given how often they are used, and refuse the document past a small
budget; external and parameter entities (XXE, remote DTD tricks) are always
refused. Harmless declarations such as ``<!ENTITY nbsp "&#160;">`` still pass.

After parsing, text fields lose control and bidirectional-override characters
(which can hide or reorder text in a notification) and are length-capped, so a
hostile feed cannot make the matcher scan megabytes of one field.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import FormatError

MAX_ENTITY_EXPANSION = 1 << 20  # bytes all entity references of one document may expand to
MAX_ENTITIES = 200
MAX_FIELD = {"title": 2_000, "summary": 20_000, "body": 200_000, "other": 2_000}

_DOCTYPE = re.compile(rb"<!DOCTYPE\s[^\[>]*(\[(?P<subset>.*?)\]\s*)?>", re.DOTALL | re.IGNORECASE)
_ENTITY = re.compile(
    rb"<!ENTITY\s+(?P<pct>%\s+)?(?P<name>[^\s\"'>]+)\s+(?P<rest>(?:\"[^\"]*\"|'[^']*'|[^>\"'])*)>",
    re.DOTALL | re.IGNORECASE,
)
_ANY_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_LITERAL = re.compile(rb"^\s*(\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)')\s*$", re.DOTALL)
_REF = re.compile(rb"&([A-Za-z_:][\w.:-]*);")
_PE_REF = re.compile(rb"%[A-Za-z_:][\w.:-]*;")

# C0/C1 controls except tab and newlines, plus the bidi embedding/override/isolate marks.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff\ufff9-\ufffb]"
)


def check_xml_entities(data: bytes, *, origin: str, budget: int = MAX_ENTITY_EXPANSION) -> None:
    """Raise FormatError if the document's entity declarations could amplify or reach outside."""
    if not _ANY_ENTITY.search(data):
        return
    match = _DOCTYPE.search(data, 0, 1 << 20)
    subset = match.group("subset") if match and match.group("subset") is not None else None
    if subset is None:
        # An ENTITY outside a well-formed internal subset: nothing legitimate looks like this.
        raise FormatError(f"refused XML: entity declaration outside a DOCTYPE subset: {origin}")
    if _PE_REF.search(subset):
        raise FormatError(f"refused XML: parameter entity references in the DTD: {origin}")
    literals: dict[bytes, bytes] = {}
    for count, m in enumerate(_ENTITY.finditer(subset), 1):
        if count > MAX_ENTITIES:
            raise FormatError(f"refused XML: more than {MAX_ENTITIES} entity declarations: {origin}")
        if m.group("pct"):
            raise FormatError(f"refused XML: parameter entity {m.group('name').decode(errors='replace')}: {origin}")
        lit = _LITERAL.match(m.group("rest"))
        if lit is None:
            name = m.group("name").decode(errors="replace")
            raise FormatError(f"refused XML: external entity {name!r} (SYSTEM/PUBLIC): {origin}")
        literals[m.group("name")] = lit.group("dq") if lit.group("dq") is not None else lit.group("sq")
    sizes: dict[bytes, int] = {}

    def size(name: bytes, depth: int) -> int:
        if name in sizes:
            return sizes[name]
        if depth > 8:
            raise FormatError(f"refused XML: entities nested more than 8 deep: {origin}")
        value = literals[name]
        total = len(value)
        for ref in _REF.findall(value):
            if ref in literals:
                total += size(ref, depth + 1)
                if total > budget:
                    raise FormatError(f"refused XML: entity expansion over {budget} bytes (billion laughs): {origin}")
        sizes[name] = total
        return total

    for name in literals:
        size(name, 0)
    body = data[match.end() :] if match else data
    expanded = 0
    for ref in _REF.findall(body):
        if ref in sizes:
            expanded += sizes[ref]
            if expanded > budget:
                raise FormatError(
                    f"refused XML: entity references would expand to over {budget} bytes (quadratic blowup): {origin}"
                )


def clean_text(text: str, limit: int) -> str:
    """Strip control and bidi characters, normalize to NFC, cap the length (on a word boundary if near)."""
    if not text:
        return ""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text))
    if len(text) > limit:
        cut = text.rfind(" ", limit - 200, limit)
        text = text[: cut if cut > 0 else limit].rstrip() + "…"
    return text


def clean_field(name: str, text: str | None) -> str:
    return clean_text(text or "", MAX_FIELD.get(name, MAX_FIELD["other"]))


def clean_line(text: str | None, limit: int = 2_000) -> str:
    """One-line fields (title, slugline): whitespace runs collapse to one space."""
    return clean_text(" ".join((text or "").split()), limit)
