"""Full-text search over stored items (SQLite FTS5, diacritics removed).

The index (``items_fts``, migration 2 in store.py) is kept in sync by triggers,
so every writer of ``items`` feeds it without knowing it exists. User text never
reaches FTS5's query syntax as is: a stray ``"`` , ``-`` or ``AND`` would be a
syntax error or silently change the meaning. The query is tokenised here and
every term is quoted; only the forms documented below keep a meaning:

- ``missile balistique``: every word, anywhere in the item;
- ``"missile balistique"``: the words next to each other, in this order;
- ``nucl*``: a prefix;
- ``-nucleaire``: items without the word (needs at least one word to look for).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import StoreError, WatcherError
from .models import iso, parse_iso
from .store import Store

SEARCH_SCHEMA_VERSION = 2  # the migration that created items_fts

# Private-use characters: cannot be confused with item text, and survive FTS5's snippet().
_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_SNIPPET_WORDS = 16
# French elided articles are separate FTS tokens ("l’Otan" is "l" + "otan"): a user typing l'Otan means otan.
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)


class SearchQueryError(WatcherError):
    """The search text holds nothing to look for."""

    exit_code = 2


@dataclass(frozen=True)
class SearchResult:
    """One item found, with the best-matching passage.

    ``snippet`` is plain text; ``highlights`` are the (start, end) offsets of the
    matched words inside it, so each output marks them its own way (bold in a
    terminal, ``<mark>`` in HTML, offsets in JSON).
    """

    item_id: str
    story_id: str
    source: str
    title: str
    link: str | None
    published: datetime | None
    fetched_at: datetime | None
    language: str | None
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    rank: float
    rules: tuple[str, ...]  # rules that fired on this item

    def marked(self, before: str = "[", after: str = "]") -> str:
        """The snippet with every highlight wrapped in ``before``/``after``."""
        out, pos = [], 0
        for start, end in self.highlights:
            out += [self.snippet[pos:start], before, self.snippet[start:end], after]
            pos = end
        out.append(self.snippet[pos:])
        return "".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "story_id": self.story_id,
            "source": self.source,
            "title": self.title,
            "link": self.link,
            "published": iso(self.published),
            "fetched_at": iso(self.fetched_at),
            "language": self.language,
            "snippet": self.snippet,
            "highlights": [list(h) for h in self.highlights],
            "rank": self.rank,
            "rules": list(self.rules),
        }


def fts_query(text: str) -> str:
    """Turn what a user typed into an FTS5 expression that cannot be a syntax error.

    Raises ``SearchQueryError`` when nothing is left to search for.
    """
    positive: list[str] = []
    negative: list[str] = []
    for m in _TOKEN.finditer(text):
        if m.group(2) is not None:  # a "quoted phrase", maybe -"negated"
            words = _words(m.group(2))
            if words:
                (negative if m.group(1) else positive).append(_quote(" ".join(words)))
            continue
        raw = m.group(3)
        negate = raw.startswith("-") and len(raw) > 1
        prefix = raw.endswith("*")
        words = _words(raw)
        if not words:
            continue
        # "Shahed-136" or "l'Otan" are several FTS tokens: keep them together as a phrase.
        term = _quote(" ".join(words)) + (" *" if prefix else "")
        (negative if negate else positive).append(term)
    if not positive:
        raise SearchQueryError(
            f"nothing to search for in {text!r}",
            hint='give at least one word, e.g. watcher search "missile balistique"',
        )
    query = " AND ".join(positive)
    for term in negative:
        query = f"{query} NOT {term}"
    return query


def _words(text: str) -> list[str]:
    # The same split as FTS5's unicode61 tokenizer: letters and digits are token characters.
    return re.findall(r"\w+", _ELISION.sub(" ", text).replace("_", " "))


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def search(store: Store, query: str, since: datetime | None = None, limit: int = 50) -> list[SearchResult]:
    """Items matching ``query``, best first; ``since`` filters on when watcher stored them."""
    if store.schema_version < SEARCH_SCHEMA_VERSION:
        raise StoreError(
            f"the database {store.path} has no search index yet",
            hint="run `watcher poll` once (or restart the daemon) with this version to upgrade it",
        )
    match = fts_query(query)
    where, args = ["items_fts MATCH ?"], [match]
    if since is not None:
        where.append("items.fetched_at >= ?")
        args.append(iso(since) or "")
    sql = f"""
        SELECT items.id, items.story_id, items.source, items.title, items.link, items.published,
               items.fetched_at, items.language, items_fts.rank AS rank,
               snippet(items_fts, -1, '{_OPEN}', '{_CLOSE}', '…', {_SNIPPET_WORDS}) AS snippet,
               (SELECT group_concat(DISTINCT hits.rule) FROM hits WHERE hits.item_id = items.id) AS rules
        FROM items_fts JOIN items ON items.rowid = items_fts.rowid
        WHERE {" AND ".join(where)}
        ORDER BY rank, items.fetched_at DESC
        LIMIT {max(1, int(limit))}
    """
    try:
        rows = store.conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:  # a locked or damaged index: say which
        raise StoreError(f"search failed on {store.path}: {exc}") from None
    return [_result(row) for row in rows]


def _result(row: sqlite3.Row) -> SearchResult:
    snippet, highlights = _unmark(row["snippet"] or "")
    return SearchResult(
        item_id=row["id"],
        story_id=row["story_id"],
        source=row["source"],
        title=row["title"],
        link=row["link"],
        published=parse_iso(row["published"]),
        fetched_at=parse_iso(row["fetched_at"]),
        language=row["language"],
        snippet=snippet,
        highlights=highlights,
        rank=float(row["rank"]),
        rules=tuple(sorted(row["rules"].split(","))) if row["rules"] else (),
    )


def _unmark(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, None
    for part in re.split(f"([{_OPEN}{_CLOSE}])", " ".join(marked.split())):
        if part == _OPEN:
            start = length
        elif part == _CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            text.append(part)
            length += len(part)
    return "".join(text), tuple(spans)


def rebuild_index(store: Store) -> None:
    """Re-index every item from scratch (after restoring a copy made with another tool, for instance)."""
    with store.transaction() as c:
        c.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
