"""Normalization shared by matching and search: folding, tokens with original offsets, plurals."""

from __future__ import annotations

import pytest

from watcher.text import fold, stem, tokenize, word_keys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NUCLÉAIRE", "nucleaire"),
        ("l’Otan", "l'otan"),
        ("« Orechnik »", '" orechnik "'),
        ("“quoted”", '"quoted"'),
        ("nord-coréens", "nord coreens"),
        ("Œuvre", "oeuvre"),
        ("Zaporijia–Kherson", "zaporijia kherson"),
        ("Andriï Sybiga", "andrii sybiga"),
    ],
)
def test_fold_for_search(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("missile balistique", "missiles balistiques"),
        ("casualty", "casualties"),
        ("drone", "drones"),
        ("cheval", "chevaux"),
        ("tuyau", "tuyaux"),
        ("bateau", "bateaux"),
        ("feu", "feux"),
        ("church", "churches"),
        ("batterie", "batteries"),
        ("battery", "batteries"),
        ("tué", "tuées"),
        ("blessé", "blessée"),
        ("blessé", "blessées"),
        ("nord-coréen", "Nord Coréens"),
        ("l'Ukraine", "Ukraine"),
        ("l’Ukraine", "UKRAINE"),
        ("d’attaque", "attaque"),
        ("Otan", "l’Otan"),
        ("jusqu'à", "jusqu’à"),
        ("Russia's drones", "Russia drones"),
        ("obus", "obus"),
    ],
)
def test_same_words_whatever_the_surface(a: str, b: str) -> None:
    assert word_keys(a) == word_keys(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("drone", "dromadaire"),
        ("balistique", "antibalistique"),
        ("missile", "missiles balistiques"),
        ("news", "new"),
    ],
)
def test_different_words_stay_different(a: str, b: str) -> None:
    assert word_keys(a) != word_keys(b)


def test_tokens_keep_offsets_into_the_original_text() -> None:
    text = "L’armée de l’air a lancé « 188 drones » sur Kiev."
    tokens = tokenize(text)
    for tok in tokens:
        assert tok.start < tok.end
        assert tok.norm.startswith(text[tok.start : tok.end].lower()[:1].replace("é", "e")) or tok.elided
    drones = next(t for t in tokens if t.key == "drone")
    assert text[drones.start : drones.end] == "drones"
    elided = [text[t.start : t.end] for t in tokens if t.elided]
    assert elided == ["L", "l"]
    assert [t.norm for t in tokens if t.elided] == ["le", "le"]


def test_elision_expands_for_number_reading() -> None:
    norms = [t.norm for t in tokenize("plus d’une douzaine, jusqu'à 50, qu’il")]
    assert norms == ["plus", "de", "une", "douzaine", "jusque", "a", "50", "que", "il"]


def test_english_contraction_reads_as_not() -> None:
    assert [t.norm for t in tokenize("Russia didn't confirm")] == ["russia", "didn", "not", "confirm"]


def test_separators_are_kept_for_the_number_reader() -> None:
    tokens = tokenize("Shahed-131/136 et 1\u202f500")
    assert [(t.norm, t.sep) for t in tokens] == [
        ("shahed", ""),
        ("131", "-"),
        ("136", "/"),
        ("et", " "),
        ("1", " "),
        ("500", "\u202f"),
    ]


def test_stem_is_idempotent_on_its_output() -> None:
    for word in ("drones", "missiles", "chevaux", "casualties", "batteries", "tuees", "bateaux"):
        assert stem(stem(word)) == stem(word)
