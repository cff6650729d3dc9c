"""Full-text search over stored items (SQLite FTS5), folded the way rules fold.

Users expect ``drone`` to find "drones" and ``l'Otan`` to find "Otan", because
the rules they write match both. So search does not use FTS5's own folding
(case and accents only): the index it queries, ``items_fold`` (migration 4 in
store.py), holds each item's words as the keys of ``watcher.text`` (case,
accents, singular/plural, elision), and the query goes through the same
function before it reaches FTS5. One folding, shared with the rule engine.

That index is filled by triggers calling ``watcher_fold``, a Python function
that ``Store.open`` registers on every connection. The choice: triggers keep
every writer of ``items`` (record_cycle, prune, any future one) in sync without
knowing the index exists, at the price that a connection opened without
``Store.open`` cannot write items. Nothing but ``Store`` writes them;
Datasette and sqlite-utils read, and keep their own index, ``items_fts``.

Snippets come from the ORIGINAL text: the matching words are found again with
``watcher.text.tokenize``, whose tokens carry offsets into what the wire said.

User text never reaches FTS5's query syntax as is: a stray ``"`` , ``-`` or
``AND`` would be a syntax error or silently change the meaning. The query is
tokenised here and every term is quoted; only these forms keep a meaning:

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
from .store import FOLD_FUNCTION, Store
from .text import Token, tokenize

SEARCH_SCHEMA_VERSION = 4  # the migration that created items_fold

# Private-use characters: cannot be confused with item text, and survive whitespace clean-up.
_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_SNIPPET_WORDS = 16
_SNIPPET_LEAD = 3  # words shown before the first match of a snippet


@dataclass(frozen=True)
class _Term:
    """One quoted unit of the query: its keys in order; with ``prefix``, the last one is a prefix."""

    keys: tuple[str, ...]
    prefix: bool = False
    norm: str = ""  # the last word folded but not singularised: "drones*" must also find "dronesque"
    negated: bool = False

    def fts(self) -> str:
        phrase = _quote(" ".join(self.keys))
        if not self.prefix:
            return phrase
        phrase += " *"
        if self.norm == self.keys[-1]:
            return phrase
        return f"({phrase} OR {_quote(' '.join((*self.keys[:-1], self.norm)))} *)"

    def matches(self, words: list[Token], i: int) -> bool:
        n = len(self.keys)
        if i + n > len(words):
            return False
        if any(words[i + j].key != self.keys[j] for j in range(n - 1)):
            return False
        last = words[i + n - 1]
        if not self.prefix:
            return last.key == self.keys[-1]
        return last.key.startswith(self.keys[-1]) or last.norm.startswith(self.norm)


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
    """Turn what a user typed into an FTS5 expression over folded keys that cannot be a syntax error.

    Raises ``SearchQueryError`` when nothing is left to search for.
    """
    terms = _parse(text)
    positive = [t.fts() for t in terms if not t.negated]
    query = " AND ".join(positive)
    for term in terms:
        if term.negated:
            query = f"{query} NOT {term.fts()}"
    return query


def _parse(text: str) -> list[_Term]:
    terms: list[_Term] = []
    for m in _TOKEN.finditer(text):
        if m.group(2) is not None:  # a "quoted phrase", maybe -"negated"
            words = _words(m.group(2))
            if words:
                terms.append(_Term(tuple(w.key for w in words), negated=bool(m.group(1))))
            continue
        raw = m.group(3)
        negate = raw.startswith("-") and len(raw) > 1
        prefix = raw.endswith("*")
        words = _words(raw)
        if words:
            # "Shahed-136" or "l'Otan" are several tokens: kept together as a phrase, elided article dropped.
            terms.append(_Term(tuple(w.key for w in words), prefix=prefix, norm=words[-1].norm, negated=negate))
    if not any(not t.negated for t in terms):
        raise SearchQueryError(
            f"nothing to search for in {text!r}",
            hint='give at least one word, e.g. watcher search "missile balistique"',
        )
    return terms


def _words(text: str) -> list[Token]:
    return [t for t in tokenize(text) if not t.elided]


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def search(store: Store, query: str, since: datetime | None = None, limit: int = 50) -> list[SearchResult]:
    """Items matching ``query``, best first; ``since`` filters on when watcher stored them."""
    if store.schema_version < SEARCH_SCHEMA_VERSION:
        raise StoreError(
            f"the database {store.path} has no search index yet",
            hint="run `watcher poll` once (or restart the daemon) with this version to upgrade it",
        )
    terms = _parse(query)
    where, args = ["items_fold MATCH ?"], [fts_query(query)]
    if since is not None:
        where.append("items.fetched_at >= ?")
        args.append(iso(since) or "")
    sql = f"""
        SELECT items.id, items.story_id, items.source, items.title, items.summary, items.body, items.link,
               items.published, items.fetched_at, items.language, items_fold.rank AS rank,
               (SELECT group_concat(DISTINCT hits.rule) FROM hits WHERE hits.item_id = items.id) AS rules
        FROM items_fold JOIN items ON items.rowid = items_fold.rowid
        WHERE {" AND ".join(where)}
        ORDER BY rank, items.fetched_at DESC
        LIMIT {max(1, int(limit))}
    """
    try:
        rows = store.conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:  # a locked or damaged index: say which
        raise StoreError(f"search failed on {store.path}: {exc}") from None
    wanted = [t for t in terms if not t.negated]
    return [_result(row, wanted) for row in rows]


def _result(row: sqlite3.Row, terms: list[_Term]) -> SearchResult:
    snippet, highlights = _unmark(_snippet([row["title"], row["summary"], row["body"]], terms))
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


def _snippet(fields: list[str | None], terms: list[_Term]) -> str:
    """The best passage of ``_SNIPPET_WORDS`` words, matches wrapped in _OPEN/_CLOSE, like FTS5's snippet().

    Best: the most distinct terms, then the most matches; the first field wins a tie (title, summary, body).
    """
    best: tuple[int, int] | None = None
    chosen = ""
    for text in fields:
        if not text:
            continue
        tokens = tokenize(text)
        words = [t for t in tokens if not t.elided]
        found = [(i, i + len(term.keys) - 1, k) for i in range(len(words)) for k, term in enumerate(terms)
                 if term.matches(words, i)]  # fmt: skip
        if not found and best is not None:
            continue
        starts = sorted({max(0, i - _SNIPPET_LEAD) for i, _, _ in found}) or [0]
        for first in starts:
            last = min(first + _SNIPPET_WORDS, len(words)) - 1
            inside = [(i, j, k) for i, j, k in found if i >= first and j <= last]
            score = (len({k for _, _, k in inside}), len(inside))
            if best is None or score > best:
                best, chosen = score, _mark(text, tokens, words, first, last, inside)
    return chosen


def _mark(
    text: str, tokens: list[Token], words: list[Token], first: int, last: int, found: list[tuple[int, int, int]]
) -> str:
    start = 0 if first == 0 else _lead(tokens, words[first])  # "…l'Otan", not "…Otan"
    spans = sorted((words[i].start, words[j].end) for i, j, _ in found)
    merged: list[tuple[int, int]] = []
    for s, e in spans:  # overlapping matches ("drone" and "drone*") are marked once
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    out, pos = ["…" if first > 0 else ""], start
    for s, e in merged:
        out += [text[pos:s], _OPEN, text[s:e], _CLOSE]
        pos = e
    out.append(text[pos : words[last].end])
    if last < len(words) - 1:
        out.append("…")
    return "".join(out)


def _lead(tokens: list[Token], word: Token) -> int:
    """Where ``word`` starts with the French elided articles glued before it (``l'``, ``qu'``)."""
    start = word.start
    i = tokens.index(word) - 1
    while i >= 0 and tokens[i].elided and tokens[i].norm != "s" and tokens[i].end <= start:  # "s": "Russia's"
        start = tokens[i].start
        i -= 1
    return start


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
        c.execute("DELETE FROM items_fold")
        c.execute(
            f"INSERT INTO items_fold (rowid, title, summary, body) SELECT rowid, {FOLD_FUNCTION}(title),"
            f" {FOLD_FUNCTION}(summary), {FOLD_FUNCTION}(body) FROM items"
        )
