"""Normalization shared by rule matching and search.

Wire text is typed in a hurry, in two languages: the same word arrives with or
without accents, capitals, a plural ending, an elided article glued to it
(``l’Otan``) or a hyphen instead of a space. Matching and search both compare
*folded* words, so they must fold the same way: everything lives here.

Tokens keep offsets into the ORIGINAL text, because evidence shown to a user
must point at what the wire said, not at our folded copy.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = [
    "Token",
    "fold",
    "fold_word",
    "is_clause_break",
    "stem",
    "tokenize",
    "word_keys",
]

APOSTROPHES = "'’‘ʼ`´′"
QUOTES = '«»“”„‟"‹›'
HYPHENS = "-‐‑‒–—―"

# French elided words: the form kept for number/negation reading ("plus d'une" reads as "plus de une").
ELISIONS = {
    "l": "le",
    "d": "de",
    "qu": "que",
    "n": "ne",
    "s": "se",
    "j": "je",
    "c": "ce",
    "m": "me",
    "t": "te",
    "jusqu": "jusque",
    "lorsqu": "lorsque",
    "puisqu": "puisque",
    "quoiqu": "quoique",
    "presqu": "presque",
}

_PAIRS = re.compile(r"([\W_]*)([^\W_]+)")  # (separator, word): offsets follow from the lengths
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o"})
_TYPO = str.maketrans({**dict.fromkeys(APOSTROPHES, "'"), **dict.fromkeys(QUOTES, '"')})
# Separators that end a clause for negation scope and stop a number from reaching a term.
_BREAK = re.compile(r"[.;:!?,()\[\]{}«»“”\"/|…]")
_INVARIANT = frozenset({"news", "series", "species", "pays", "fois", "corps", "temps", "mois", "bras", "dos"})


class Token(NamedTuple):
    """One word of the original text.

    ``norm`` is the folded word (an elided article expanded: ``d'`` -> ``de``);
    ``key`` is what phrases are compared on (``norm`` with singular/plural folded);
    ``sep`` is the raw text between the previous token and this one, which the
    number reader needs (``1 500``, ``Shahed-131``, ``3 a.m.``).
    ``elided`` tokens (``l'``, ``d'``, English possessive ``'s``) are not words for
    phrase matching: ``l'Ukraine`` matches ``Ukraine``.
    """

    norm: str
    key: str
    start: int
    end: int
    sep: str
    elided: bool = False


_FOLD_CACHE: dict[str, str] = {}


def fold_word(word: str) -> str:
    """Lower case, accents removed, ligatures expanded."""
    cached = _FOLD_CACHE.get(word)
    if cached is not None:
        return cached
    if word.isascii():
        out = word.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", word.translate(_LIGATURES))
        out = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    if len(_FOLD_CACHE) < 200_000:
        _FOLD_CACHE[word] = out
    return out


def fold(text: str) -> str:
    """Fold a whole string for full-text search: case, accents, typographic quotes and hyphens."""
    text = text.translate(_TYPO)
    text = "".join(" " if c in HYPHENS else c for c in text)
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_STEM_CACHE: dict[str, str] = {}
_WORD_CACHE: dict[str, tuple[str, str]] = {}  # raw word -> (folded, stemmed): most words repeat


def stem(word: str) -> str:
    """Fold singular and plural together, for French and English at once.

    Both sides of a comparison go through this, so it only has to map a
    singular and its plural to the SAME string, not to a real word:
    ``chevaux``/``cheval`` -> ``cheval``, ``casualties``/``casualty`` -> ``casualty``,
    ``batteries``/``batterie``/``battery`` -> ``battery``, ``churches``/``church`` -> ``church``.
    """
    cached = _STEM_CACHE.get(word)
    if cached is not None:
        return cached
    w = word
    if len(w) > 3 and not w.isdigit() and w not in _INVARIANT:
        if w.endswith("ies") and len(w) > 4:
            w = w[:-3] + "y"
        elif w.endswith("eaux"):
            w = w[:-1]
        elif w.endswith("aux"):
            w = w[:-3] + "al"
        elif w.endswith(("eux", "oux")) or (w.endswith("s") and not w.endswith(("ss", "us"))):
            w = w[:-1]
        if w.endswith("ie") and len(w) > 3:
            w = w[:-2] + "y"
        elif w.endswith("au") and not w.endswith("eau"):
            w = w[:-2] + "al"
        else:
            if w.endswith("ee") and len(w) > 3:
                w = w[:-1]  # French feminine participle: "tuée" ~ "tué", "blessée" ~ "blessé"
            if w.endswith(("che", "she", "sse", "xe", "ze")):
                w = w[:-1]
    if len(_STEM_CACHE) < 200_000:
        _STEM_CACHE[word] = w
    return w


def is_clause_break(sep: str) -> bool:
    """True when the text between two tokens ends a clause (punctuation, quotes, a new line)."""
    return bool(sep) and (_BREAK.search(sep) is not None or "\n" in sep)


def tokenize(text: str) -> list[Token]:
    """Split text into tokens with offsets into ``text``.

    Letters and digits form words; everything else separates them, so a hyphen
    is a space (``nord-coréens`` ~ ``nord coréens``) and an apostrophe splits an
    elided article from its word (``l’Ukraine``).
    """
    tokens: list[Token] = []
    append = tokens.append
    new = tuple.__new__
    cache = _WORD_CACHE
    pos = 0
    for sep, raw in _PAIRS.findall(text):
        start = pos + len(sep)
        pos = end = start + len(raw)
        folded = cache.get(raw)
        if folded is None:
            norm = fold_word(raw)
            folded = (norm, stem(norm))
            if len(cache) < 200_000:
                cache[raw] = folded
        norm, key = folded
        if sep and sep in APOSTROPHES and tokens:
            prev = tokens[-1]
            if (
                prev.norm in ELISIONS
                and not prev.elided
                and raw[0].isalpha()
                and not (prev.norm == "n" and norm == "t")
            ):
                full = ELISIONS[prev.norm]  # French elision: "l'", "d'", "jusqu'"
                tokens[-1] = new(Token, (full, full, prev.start, prev.end, prev.sep, True))
            elif norm == "s":  # English possessive: "Russia's"
                append(new(Token, (norm, norm, start, end, sep, True)))
                continue
            elif norm == "t" and prev.norm.endswith("n"):  # "didn't", "don't"
                norm = key = "not"
        append(new(Token, (norm, key, start, end, sep, False)))
    return tokens


def word_keys(text: str) -> list[str]:
    """The keys a phrase is compared on: folded, singular/plural folded, elided articles dropped."""
    return [t.key for t in tokenize(text) if not t.elided]
