"""Sources: turn bytes from a wire, a feed or a drop folder into ``Item`` objects.

``parse_document`` detects the format from the content (never from the file name
alone); ``read_inputs`` serves ``watcher rules test``, which reads files without
any store or network; ``Fetcher`` polls configured sources (HTTP feeds and drop
folders) for the pipeline, and ``watch_folder`` wakes the daemon when a file is
dropped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import FormatError
from ..models import Item
from .items import Context

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ""}
INPUT_SUFFIXES = TEXT_SUFFIXES | {".xml", ".rss", ".atom", ".json", ".nitf", ".html"}


def parse_document(
    data: bytes,
    *,
    origin: str,
    source: str,
    headers: Mapping[str, str] | None = None,
    language: str | None = None,
    default_guid: str | None = None,
    detect_language: bool = True,
) -> list[Item]:
    """Parse one document of any supported format into items.

    ``language`` forces every item's language (the source's ``language`` key);
    ``default_guid`` is the identity of an item whose document names none;
    ``detect_language=False`` leaves undeclared languages as None (the parse
    pool guesses them in the parent process, see ``items.fill_language``).
    Raises FormatError for an empty, HTML, malformed or hostile document; any
    other exception from a parser is converted too, so a bad document can only
    ever fail its own source.
    """
    from .formats import dispatch

    headers = headers or {}
    content_language = next((v for k, v in headers.items() if k.lower() == "content-language"), None)
    ctx = Context(
        origin=origin,
        source=source,
        language=language,
        default_guid=default_guid,
        doc_language=content_language.split(",")[0] if content_language else None,
        detect=detect_language,
    )
    try:
        return dispatch(data, ctx, headers)
    except FormatError:
        raise
    except RecursionError:
        raise FormatError(f"document nested too deeply to read: {origin}") from None
    except MemoryError:
        raise FormatError(f"document too large to parse: {origin}") from None
    except Exception as exc:
        log.debug("parser crashed origin=%s", origin, exc_info=True)
        raise FormatError(f"could not parse document ({type(exc).__name__}: {exc}): {origin}") from None


def read_inputs(inputs: list[str], *, source: str = "input") -> Iterator[tuple[str, Item]]:
    """Yield (input label, item) for files, folders (every readable file inside) and '-' (stdin).

    The label of a file inside a folder is the folder joined with its path inside
    it, so output names the file the user can open.
    """
    for raw in inputs:
        if raw == "-":
            data = sys.stdin.buffer.read()
            for item in parse_document(data, origin="-", source=source, default_guid="-"):
                yield "-", item
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            for f in files:
                rel = f.relative_to(path).as_posix()
                label = str(Path(raw) / rel)
                for item in parse_document(f.read_bytes(), origin=label, source=source, default_guid=rel):
                    yield label, item
        elif path.is_file():
            for item in parse_document(path.read_bytes(), origin=raw, source=source, default_guid=path.name):
                yield raw, item
        else:
            raise FormatError(f"input not found: {raw}")


from .fetcher import Fetcher, FetchResult  # noqa: E402
from .folder import FileRecord, FolderWatch, watch_folder  # noqa: E402
from .health import health, health_transition, silence_transitions  # noqa: E402

__all__ = [
    "FetchResult",
    "Fetcher",
    "FileRecord",
    "FolderWatch",
    "health",
    "health_transition",
    "parse_document",
    "read_inputs",
    "silence_transitions",
    "watch_folder",
]
