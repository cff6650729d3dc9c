"""How numbers are read: every form of RULES.md's table, the guarantee semantics and the traps."""

from __future__ import annotations

from pathlib import Path

import pytest
from rules_fixtures import fire

# (text, counted term, value read or None when nothing must count)
VALUES = [
    # digits, with thousands separators
    ("Dans la nuit, 188 drones ont été lancés contre l'Ukraine.", "drone", 188),
    ("1 500 drones", "drone", 1500),
    ("1\u00a0500 drones", "drone", 1500),
    ("1\u202f500 drones", "drone", 1500),
    ("1.500 drones", "drone", 1500),
    ("1,500 drones", "drone", 1500),
    ("12 000 000 de personnes", "personne", 12_000_000),
    ("2,000 troops", "troop", 2000),
    # decimals with a scale word
    ("1,5 million de personnes déplacées", "personne", 1_500_000),
    ("2.3 billion dollars of aid", "dollar", 2_300_000_000),
    ("1,5 milliard d'euros", "euro", 1_500_000_000),
    ("3 millions de réfugiés", "réfugié", 3_000_000),
    # number words, French and English
    ("quatre missiles balistiques", "missile balistique", 4),
    ("Quatorze drones ont été abattus.", "drone", 14),
    ("cent quatre-vingt-huit drones", "drone", 188),
    ("Cent cinquante drones ont visé Kharkiv.", "drone", 150),
    ("vingt et un drones", "drone", 21),
    ("soixante-dix-sept drones", "drone", 77),
    ("eight drones", "drone", 8),
    ("twenty-one drones", "drone", 21),
    ("one hundred and fifty drones", "drone", 150),
    ("a hundred drones", "drone", 100),
    ("un missile balistique", "missile balistique", 1),
    ("une frappe de drones", "frappe", 1),
    ("a cruise missile", "cruise missile", 1),
    ("an attack drone", "attack drone", 1),
    # collective nouns
    ("une douzaine de drones", "drone", 12),
    ("une dizaine de drones", "drone", 10),
    ("une centaine de drones", "drone", 100),
    ("un millier de soldats", "soldat", 1000),
    ("a dozen drones", "drone", 12),
    ("deux douzaines de drones", "drone", 24),
    ("une dizaine de milliers de soldats", "soldat", 10_000),
    # vague plurals
    ("des dizaines de drones", "drone", 20),
    ("dozens of drones", "drone", 24),
    ("des centaines de drones", "drone", 200),
    ("hundreds of drones", "drone", 200),
    ("des milliers de soldats", "soldat", 2000),
    ("thousands of troops", "troop", 2000),
    ("des millions de personnes", "personne", 2_000_000),
    ("millions of people", "people", 2_000_000),
    ("les milliers de soldats nord-coréens", "soldat nord-coréen", 1000),
    ("des dizaines de milliers de soldats", "soldat", 20_000),
    ("tens of thousands of troops", "troop", 20_000),
    ("plusieurs centaines de drones", "drone", 200),
    # qualifiers (the value is the number written)
    ("plus de 200 drones", "drone", 200),
    ("more than 200 drones", "drone", 200),
    ("au moins 100 drones", "drone", 100),
    ("environ 100 drones", "drone", 100),
    ("an estimated 300 drones", "drone", 300),
    # where the number stands: modifiers between, "X des Y", "X out of Y"
    ("188 drones de combat", "drone de combat", 188),
    ("un nombre record de 188 drones de combat", "drone", 188),
    ("67 long-range drones", "drone", 67),
    ("28 Russia-launched drones", "drone", 28),
    ("les 14 drones Shahed-131/136", "drone", 14),
    ("les 14 drones Shahed-131/136", "Shahed", 14),
    ("trois des quatre missiles ont été abattus", "missile", 4),
    ("3 out of 4 missiles were shot down", "missile", 4),
    ("l'un des missiles", "missile", 1),
    ("deux missiles Kh-59", "missile", 2),
    ("les 2000 soldats", "soldat", 2000),
    ("mardi 26 novembre, 30 drones", "drone", 30),
    ("at 0300 GMT, 90 drones", "drone", 90),
    # never counts: dates, years, times, ages, percentages, model designators, other nouns
    ("Dans la nuit du 21 au mercredi 22 novembre avec des drones", "drone", None),
    ("Dans la nuit du 21 au mercredi 22 novembre drones", "drone", None),
    ("mardi 26 novembre drones", "drone", None),
    ("November 26 drones", "drone", None),
    ("en février 2022 drones", "drone", None),
    ("In 2023 drones were launched", "drone", None),
    ("2023 drones", "drone", None),
    ("At 3 a.m. drones hit Kyiv", "drone", None),
    ("3 p.m. drones", "drone", None),
    ("à 0000 GMT drones", "drone", None),
    ("15:30 drones", "drone", None),
    ("a 71-year-old man was killed", "man", None),
    ("Kh-59 missiles", "missile", None),
    ("the X-59 drones", "drone", None),
    ("Shahed-136 drones", "drone", None),
    ("F-16 fighter jets", "jet", None),
    ("S-400 systems", "system", None),
    ("missiles Iskander-M", "Iskander", None),
    ("20 % des drones", "drone", None),
    ("20 pour cent des drones", "drone", None),
    ("188 attaques de drones", "drone", None),
    ("Quatre ont été abattus par des drones", "drone", None),
    ("Moscou a lancé des drones", "drone", None),
    ("188. Drones", "drone", None),
    # model designators written with a space or glued to a model name (QA audit, issue 3)
    ("Russia launched Shahed 136 drones at Ukraine overnight.", "drone", None),
    ("Russia launched Shahed-136 drones at Ukraine overnight.", "drone", None),
    ("des Geran-2 drones", "drone", None),
    ("des Geran 2 drones", "drone", None),
    ("Kh-101 missiles", "missile", None),
    ("Kh 101 missiles", "missile", None),
    ("S-300 missiles", "missile", None),
    ("S 300 missiles", "missile", None),
    ("Tu-95 bombers", "bomber", None),
    ("Tu 95 bombers", "bomber", None),
    ("MiG-31 jets", "jet", None),
    ("MiG 31 jets", "jet", None),
    ("Patriot 3 missiles", "missile", None),
    ("Storm Shadow 2 missiles", "missile", None),
    ("14 drones Shahed-131/136", "drone", 14),
    ("14 drones Shahed 136", "drone", 14),
    ("Bayraktar TB 2 drones", "drone", None),
    ("deux drones Bayraktar TB2", "drone", 2),
    ("Iskander 9 missiles", "missile", None),
    ("Kalibr 3 missiles", "missile", None),
    ("Ukraine 200 drones", "drone", 200),
    ("Russia's 300 drones", "drone", 300),
    ("tu as vu 12 drones", "drone", 12),
    # money is never a count of anything but the currency itself
    ("Kyiv signed a $500 million drone contract", "drone", None),
    ("Kyiv signed a $ 500 million drone contract", "drone", None),
    ("a 500 million dollar drone contract", "drone", None),
    ("un contrat de 500 millions d'euros de drones", "drone", None),
    ("un contrat de 500 € pour des drones", "drone", None),
    ("USD 500 drones", "drone", None),
    ("a €2 billion drone deal", "drone", None),
    ("£40 million missiles package", "missile", None),
    ("1 000 hryvnias drones", "drone", None),
    ("500 roubles drones", "drone", None),
    # halves, small vague plurals, a couple
    ("Half a dozen drones", "drone", 6),
    ("half a million people", "people", 500_000),
    ("Une demi-douzaine de drones", "drone", 6),
    ("Un demi-million de soldats", "soldat", 500_000),
    ("A couple of drones", "drone", 2),
    ("Plusieurs drones", "drone", 2),
    ("Quelques drones", "drone", 2),
    ("A few drones", "drone", 2),
    ("several drones", "drone", 2),
    ("Several hundred drones", "drone", 200),
    ("a few hundred drones", "drone", 200),
    ("several thousand troops", "troop", 2000),
    # ranges (the value is the low end)
    ("Deux à trois cents drones", "drone", 200),
    ("Two to three hundred drones", "drone", 200),
    ("De 100 à 150 drones", "drone", 100),
    ("entre 100 et 150 drones", "drone", 100),
    ("between 100 and 150 drones", "drone", 100),
    ("deux à trois millions de personnes", "personne", 2_000_000),
    ("un ou deux drones", "drone", 1),
    ("Il y a quelques drones", "drone", 2),
    ("few drones", "drone", None),
    ("Cinq à six cents morts", "mort", 500),
    ("vingt à trente mille soldats", "soldat", 20_000),
]


@pytest.mark.parametrize(("text", "term", "value"), VALUES)
def test_value_read(tmp_path: Path, text: str, term: str, value: int | None) -> None:
    m = fire(tmp_path, text, {"count": term, "at_least": 0})
    if value is None:
        assert m is None, f"{text!r} must not count {term!r}, read {m and m.value}"
    else:
        assert m is not None, f"{text!r} must count {term!r}"
        assert m.value == value
        assert value in {e.value for e in m.evidence}


# (text, bounds, fires): a bound holds only when what the text says guarantees it.
GUARANTEES = [
    ("more than 200 drones", {"at_least": 200}, True),
    ("more than 199 drones", {"at_least": 200}, True),
    ("more than 200 drones", {"more_than": 200}, True),
    ("more than 200 drones", {"at_most": 1000}, False),
    ("plus de 200 drones", {"at_least": 200}, True),
    ("over 200 drones", {"at_least": 201}, True),
    ("plus d'une douzaine de drones", {"at_least": 20}, False),
    ("plus d’une douzaine de drones", {"more_than": 12}, True),
    ("plus d'une douzaine de drones", {"at_least": 13}, True),
    ("almost 300 missiles", {"at_least": 300}, False),
    ("almost 300 missiles", {"less_than": 300}, True),
    ("almost 300 missiles", {"at_least": 250}, True),
    ("près de 300 missiles", {"at_least": 300}, False),
    ("nearly 300 missiles", {"at_most": 299}, True),
    ("au moins 100 drones", {"at_least": 100}, True),
    ("at least 100 drones", {"more_than": 100}, False),
    ("pas moins de 100 drones", {"at_least": 100}, True),
    ("no fewer than 100 drones", {"at_least": 100}, True),
    ("jusqu'à 50 drones", {"at_least": 50}, False),
    ("jusqu’à 50 drones", {"at_most": 50}, True),
    ("up to 50 drones", {"at_most": 50}, True),
    ("as many as 50 drones", {"less_than": 50}, False),
    ("environ 100 drones", {"equals": 100}, True),
    ("about 100 drones", {"at_least": 100}, True),
    ("some 100 drones", {"equals": 100}, True),
    ("moins de 10 drones", {"less_than": 10}, True),
    ("fewer than 10 drones", {"at_most": 9}, True),
    ("fewer than 10 drones", {"at_least": 1}, False),
    ("des dizaines de drones", {"at_least": 20}, True),
    ("des dizaines de drones", {"at_least": 21}, False),
    ("dozens of drones", {"at_least": 24}, True),
    ("des centaines de drones", {"at_least": 200}, True),
    ("hundreds of drones", {"at_most": 1000}, False),
    ("des milliers de soldats", {"at_least": 2000}, True),
    ("thousands of troops", {"at_least": 2001}, False),
    ("des millions de personnes", {"at_least": 2_000_000}, True),
    ("les milliers de soldats nord-coréens", {"at_least": 1000}, True),
    ("10-15 drones", {"at_least": 10}, True),
    ("10-15 drones", {"at_least": 12}, False),
    ("entre 10 et 15 drones", {"at_most": 15}, True),
    ("10 à 15 drones", {"at_least": 10, "at_most": 15}, True),
    ("10 to 15 drones", {"more_than": 10}, False),
    ("no more than 5 drones", {"at_most": 5}, True),
    ("pas plus de 5 drones", {"at_least": 1}, False),
    ("moins de 5 drones", {"less_than": 5}, True),
    ("plusieurs milliers de soldats", {"at_least": 2000}, True),
    ("quelques dizaines de drones", {"at_least": 20}, True),
    ("une quinzaine de drones", {"equals": 15}, True),
    ("une douzaine de drones", {"equals": 12}, True),
    ("188 drones", {"at_least": 100, "at_most": 200}, True),
    ("188 drones", {"equals": 188}, True),
    ("188 drones", {"more_than": 188}, False),
    ("trois des quatre missiles", {"equals": 3}, True),
    ("Quatorze drones ont été abattus.", {"at_least": 100}, False),
    ("14 drones et 188 obus", {"at_least": 100}, False),
    # ranges: a bound holds only for every value of the range
    ("Deux à trois cents drones", {"at_least": 300}, False),
    ("Deux à trois cents drones", {"at_least": 200}, True),
    ("Deux à trois cents drones", {"at_most": 300}, True),
    ("Two to three hundred drones", {"at_least": 300}, False),
    ("Two to three hundred drones", {"at_least": 200}, True),
    ("De 100 à 150 drones", {"at_least": 100, "at_most": 150}, True),
    ("De 100 à 150 drones", {"at_least": 150}, False),
    ("entre 100 et 150 drones", {"at_least": 150}, False),
    ("entre 100 et 150 drones", {"at_least": 100}, True),
    ("between 100 and 150 drones", {"more_than": 100}, False),
    # vague small plurals: at least two, never one; "a few" stays under ten
    ("Plusieurs drones", {"at_least": 2}, True),
    ("Plusieurs drones", {"at_least": 3}, False),
    ("Plusieurs drones", {"equals": 1}, False),
    ("Quelques drones", {"at_least": 2, "at_most": 9}, True),
    ("A few drones", {"at_most": 9}, True),
    ("A few drones", {"at_least": 10}, False),
    ("several drones", {"at_most": 1}, False),
    ("Several hundred drones", {"at_least": 200}, True),
    ("plusieurs centaines de drones", {"at_least": 201}, False),
    ("A couple of drones", {"equals": 2}, True),
    ("Half a dozen drones", {"at_least": 12}, False),
    ("Half a dozen drones", {"equals": 6}, True),
    ("Russia launched Shahed 136 drones at Ukraine overnight.", {"at_least": 100}, False),
    ("Kyiv signed a $500 million drone contract", {"at_least": 100}, False),
]


@pytest.mark.parametrize(("text", "bounds", "fires"), GUARANTEES)
def test_bounds_are_guarantees(tmp_path: Path, text: str, bounds: dict[str, float], fires: bool) -> None:
    term = "missile" if "missile" in text else "soldat nord-coréen" if "nord" in text else "drone"
    if "troop" in text:
        term = "troop"
    elif "soldats" in text and "nord" not in text:
        term = "soldat"
    elif "personnes" in text:
        term = "personne"
    assert (fire(tmp_path, text, {"count": term, **bounds}) is not None) is fires


def test_several_numbers_any_one_satisfying_fires(tmp_path: Path) -> None:
    text = "Quatorze drones abattus à Odessa, puis 188 drones dans la nuit."
    m = fire(tmp_path, text, {"count": "drone", "at_least": 100})
    assert m is not None and m.value == 188
    assert [e.text for e in m.evidence] == ["188 drones"]


def test_evidence_offsets_point_into_the_original_text(tmp_path: Path) -> None:
    text = "L’armée de l’air a indiqué : « plus de 1\u202f200 drones » ont été lancés."
    m = fire(tmp_path, text, {"count": "drone", "at_least": 1000})
    assert m is not None and m.value == 1200
    ev = m.evidence[0]
    assert text[ev.start : ev.end] == ev.text == "plus de 1\u202f200 drones"
