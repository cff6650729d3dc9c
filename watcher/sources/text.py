"""Plain-text and Markdown dispatches, and HTML fragments reduced to text.

A wire dispatch saved as text has no markup: by newsroom convention its first
paragraph is the headline (the AFP seed has no separate title line, so its lead
paragraph is the title). The body is the rest, kept as written, because rule
evidence quotes offsets into it. Markdown headings and emphasis markers are
dropped from the title only.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ..errors import FormatError
from ..models import Item
from .items import Context, build_item

_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "blockquote",
    "pre", "section", "article", "header", "footer", "hr", "dd", "dt", "figcaption",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "noscript", "template"}
_MD_TITLE = re.compile(r"^\s{0,3}(#{1,6}\s+|[-*]\s+)?|(\*\*|__|[*_`])", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)


def decode_text(data: bytes, charset: str | None = None) -> str:
    """UTF-8 (with or without BOM) first; then the declared charset; then cp1252, which never fails."""
    for encoding in ("utf-8-sig", charset, "cp1252"):
        if not encoding:
            continue
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def parse_text(data: bytes, ctx: Context, charset: str | None = None) -> list[Item]:
    text = decode_text(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text[:8192]:
        raise FormatError(f"binary data, not a text dispatch: {ctx.origin}")
    text = _FRONT_MATTER.sub("", text, count=1)
    if not text.strip():
        raise FormatError(f"empty document: {ctx.origin}")
    text = text.strip()
    # Blank lines separate paragraphs when the writer used them; otherwise each line is one.
    separator = r"\n[ \t]*\n" if re.search(r"\n[ \t]*\n", text) else r"\n"
    parts = re.split(separator, text, maxsplit=1)
    first = parts[0]
    if first.lstrip().startswith("#"):
        first = first.split("\n")[0]
    # The body is what follows the title, so each sentence is matched (and quoted as
    # evidence) once, in the field it belongs to. A one-paragraph text has no headline:
    # it is all body (its label in messages is then the start of that body).
    body = text[len(first) :].strip()
    title = _MD_TITLE.sub("", first)
    if not body:
        title, body = "", text
    return [build_item(ctx, guid=None, title=title, body=body)]


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment, paragraphs on their own lines; plain text passes through."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)
