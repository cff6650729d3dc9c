"""Conditions, phrase matching, negation and rule keys, through load_rules and RuleSet.match."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from rules_fixtures import fire, ruleset

from watcher.models import Item

# (text, condition, fires): every phrase example of RULES.md, then our own.
PHRASES: list[tuple[str, Any, bool]] = [
    ("NUCLÉAIRE", "nucleaire", True),
    ("les diplomates de l’Otan", "otan", True),
    ("des missiles balistiques", "missile balistique", True),
    ("No casualties were reported", "casualty", True),
    ("188 drones", "drone", True),
    ("l'Ukraine", "Ukraine", True),
    ("l’Ukraine", "Ukraine", True),
    ("un type d’attaque", "attaque", True),
    ("les soldats nord coréens", "nord-coréens", True),
    ("les soldats nord-coréens", "nord coréens", True),
    ("« Orechnik »", "Orechnik", True),
    ("un dromadaire", "drone", False),
    ("la défense antibalistique", "balistique", False),
    ("missile de croisière", "missile balistique", False),
    ("Les États-Unis", "etats unis", True),
    ("The Zaporizhzhia NUCLEAR plant", "zaporizhzhia nuclear plant", True),
    ("drones kamikazes", ["drone", "drone kamikaze"], True),
    ("Kiev a été frappée", {"any": ["Kyiv", "Kiev"]}, True),
    ("Kiev a été frappée", {"all": ["Kiev", "frappé"]}, True),
    ("Kiev a été frappée", {"all": ["Kiev", "drone"]}, False),
    ("Kiev a été frappée", {"not": "Moscou"}, True),
    ("Kiev a été frappée", {"not": "Kiev"}, False),
    ("Kiev a été frappée", {"all": ["Kiev", {"not": {"any": ["Moscou", "Minsk"]}}]}, True),
    ("Des drones ont visé Kiev cette nuit", {"near": ["drone", "Kiev"]}, True),
    ("Des drones ont visé Kiev cette nuit", {"near": ["drone", "Kiev"], "within": 1}, False),
    ("Des drones ont visé Kiev cette nuit", {"near": ["drone", "Kiev"], "within": 2}, True),
    ("Kiev a été visée par des drones", {"near": [["Kyiv", "Kiev"], "drone"], "within": 5}, True),
    ("Kiev a été visée par des drones", {"near": [["Kyiv", "Kiev"], "drone"], "within": 4}, False),
    ("l'attaque de l'Otan", {"near": ["attaque", "Otan"], "within": 1}, True),
    ("drones " + "mot " * 11 + "Kiev", {"near": ["drone", "Kiev"]}, False),
    ("drones " + "mot " * 10 + "Kiev", {"near": ["drone", "Kiev"]}, True),
    ("Un missile Kh-101 a été tiré", {"regex": r"\bKh-\d+"}, True),
    ("Un missile KH-101 a été tiré", {"regex": r"\bkh-\d+"}, True),
    ("Un missile Kalibr", {"regex": r"\bKh-\d+"}, False),
    (
        "Dans la nuit, 188 drones ont été lancés sur Kiev.",
        {"all": [{"count": "drone", "at_least": 50}, {"any": ["Kiev", "Kyiv"]}]},
        True,
    ),
]


@pytest.mark.parametrize(("text", "when", "fires"), PHRASES)
def test_conditions(tmp_path: Path, text: str, when: Any, fires: bool) -> None:
    assert (fire(tmp_path, text, when) is not None) is fires


NEGATION = [
    ("un missile balistique sans charge nucléaire", "nucléaire", True),
    ("il n'y a pas eu de victimes", "victime", True),
    ("il n’y a pas eu de victimes", "victime", True),
    ("No casualties were reported", "casualty", True),
    ("Aucune victime n'est à déplorer", "victime", True),
    ("ni morts ni blessés", "blessé", True),
    ("la Russie n'a jamais utilisé l'arme nucléaire", "arme nucléaire", True),
    ("without nuclear warheads", "nuclear", True),
    ("Russia has not used nuclear weapons", "nuclear", True),
    ("Russia didn't use nuclear weapons", "nuclear", True),
    ("never a nuclear strike", "nuclear", True),
    ("une menace nucléaire", "nucléaire", False),
    ("not only drones but missiles", "drone", False),
    ("non seulement des drones", "drone", False),
    ("sans doute une frappe nucléaire", "nucléaire", False),
    ("pas de commentaire, mais une frappe nucléaire a eu lieu", "nucléaire", False),
    ("de type Shahed et non identifiés", "Shahed", False),
    ("Il n'a pas confirmé hier soir la frappe des forces nucléaires", "nucléaire", False),
    # pronoun and adverb cues (QA audit, issue 3)
    ("Nobody was killed in the attack.", "killed", True),
    ("No one was killed in the attack.", "killed", True),
    ("None were injured.", "injured", True),
    ("Neither soldiers nor civilians were wounded.", "wounded", True),
    ("Personne n'a été blessé.", "blessé", True),
    ("Personne ne a été tué", "tué", True),
    ("Aucune victime n'est à déplorer", "victime", True),
    ("Aucun blessé n'est à déplorer", "blessé", True),
    ("Rien n'indique une frappe nucléaire", "nucléaire", True),
    ("La Russie n'a jamais mené de frappe nucléaire", "nucléaire", True),
    ("Une personne a été blessée.", "blessé", False),
    ("Deux personnes ont été tuées, personne ne le conteste.", "tué", False),
    ("Nobody knows why, but two people were killed.", "killed", False),
]


@pytest.mark.parametrize(("text", "phrase", "negated"), NEGATION)
def test_negation_scope(tmp_path: Path, text: str, phrase: str, negated: bool) -> None:
    m = fire(tmp_path, text, phrase)
    assert m is not None
    assert m.negated is negated
    assert all(e.negated is negated for e in m.evidence)


def test_ignore_negated_drops_negated_phrases(tmp_path: Path) -> None:
    assert fire(tmp_path, "No casualties were reported", "casualty", ignore_negated=True) is None
    assert fire(tmp_path, "Two casualties were reported", "casualty", ignore_negated=True) is not None
    m = fire(tmp_path, "pas de victimes à Kiev, mais 3 victimes à Lviv", "victime", ignore_negated=True)
    assert m is not None and not m.negated and [e.text for e in m.evidence] == ["victimes"]


def test_ignore_negated_applies_to_counts(tmp_path: Path) -> None:
    when = {"count": "drone", "at_least": 100}
    assert fire(tmp_path, "sans 200 drones", when, ignore_negated=True) is None
    m = fire(tmp_path, "sans 200 drones", when)
    assert m is not None and m.negated and m.value == 200


def test_mixed_evidence_is_not_negated(tmp_path: Path) -> None:
    m = fire(tmp_path, "Pas de frappe nucléaire, dit Moscou; une menace nucléaire demeure.", "nucléaire")
    assert m is not None and m.negated is False
    assert [e.negated for e in m.evidence] == [True, False]


def test_nested_and_overlapping_phrases_are_all_found(tmp_path: Path) -> None:
    text = "des drones kamikazes"
    for phrase in ("drone", "drone kamikaze", "kamikaze"):
        assert fire(tmp_path, text, {"all": [phrase]}) is not None, phrase
    rs = ruleset(tmp_path, [{"id": "a", "when": "drone"}, {"id": "b", "when": "drone kamikaze"}])
    assert sorted(m.rule_id for m in rs.match(Item(source="s", guid="1", body=text))) == ["a", "b"]
    # The evidence shows the longest of the nested spans once, not every piece of it.
    m = fire(tmp_path, text, ["drone", "drone kamikaze", "kamikaze"])
    assert m is not None
    assert [e.text for e in m.evidence] == ["drones kamikazes"]


RUSSIA = "La Russie et le Kremlin. " + "Un missile russe, dit Poutine. " * 20
# (text, condition, the evidence texts shown, in reading order): evidence explains the decision.
EVIDENCE: list[tuple[str, Any, list[str]]] = [
    # every all: member is shown, however often the others occur before it
    (
        RUSSIA + "Des soldats nord-coréens.",
        {"all": [["Corée du Nord", "nord-coréen"], ["Russie", "russe", "Poutine"], ["missile", "soldat"]]},
        ["Russie", "missile", "russe", "Poutine", "missile", "russe", "soldats", "nord-coréens"],
    ),
    # a branch that held once is shown next to a branch that held twenty times
    (RUSSIA + "Le missile Orechnik.", ["missile", "Orechnik"], ["missile", "missile", "Orechnik"]),
    # the count's span (with its value) is kept first, whatever the position
    (
        "Kiev. " * 12 + "Puis 188 drones.",
        {"all": ["Kiev", {"count": "drone", "at_least": 100}]},
        ["Kiev", "Kiev", "188 drones"],
    ),
    # nested spans collapse to the longest; the same start does not show twice
    (
        "un nombre record de 188 drones de combat",
        {"count": ["drone", "drone de combat"], "at_least": 1},
        ["188 drones de combat"],
    ),
    ("trois des quatre missiles", {"count": "missile", "at_least": 1}, ["quatre missiles"]),
    # a plain mention is shown even after negated ones of the same word: the hit is not negated
    (
        "Sans charge nucléaire. Pas de nucléaire. Non au nucléaire. Une menace nucléaire.",
        "nucléaire",
        ["nucléaire", "nucléaire", "nucléaire"],
    ),
    # both sides of a near: are shown
    ("Des drones ont visé Kiev cette nuit", {"near": ["drone", "Kiev"]}, ["drones", "Kiev"]),
    # the cap applies after the selection
    (" ".join(f"mot{i}" for i in range(30)), [f"mot{i}" for i in range(30)], [f"mot{i}" for i in range(8)]),
]


@pytest.mark.parametrize(("text", "when", "shown"), EVIDENCE)
def test_evidence_explains_the_decision(tmp_path: Path, text: str, when: Any, shown: list[str]) -> None:
    m = fire(tmp_path, text, when)
    assert m is not None
    assert [e.text for e in m.evidence] == shown
    assert [e.start for e in m.evidence] == sorted(e.start for e in m.evidence)
    for e in m.evidence:
        assert text[e.start : e.end] == e.text
    assert m.negated is all(e.negated for e in m.evidence)


def test_fields_limit_where_rules_look(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, [{"id": "t", "when": "drone", "fields": ["title"]}, {"id": "a", "when": "drone"}])
    item = Item(source="s", guid="1", title="Kiev", summary="", body="188 drones")
    assert [m.rule_id for m in rs.match(item)] == ["a"]
    item = Item(source="s", guid="2", title="Drones sur Kiev", body="rien")
    matches = rs.match(item)
    assert sorted(m.rule_id for m in matches) == ["a", "t"]
    assert {e.field for m in matches for e in m.evidence} == {"title"}


def test_conditions_combine_fields_of_one_item(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, [{"id": "r", "when": {"all": ["drone", "Kiev"]}}])
    item = Item(source="s", guid="1", title="Attaque sur Kiev", summary="", body="188 drones")
    assert len(rs.match(item)) == 1


def test_languages(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, [{"id": "fr-only", "when": "drone", "languages": ["fr"]}])
    assert rs.match(Item(source="s", guid="1", body="drones", language="fr"))
    assert rs.match(Item(source="s", guid="2", body="drones", language="fr-FR"))
    assert not rs.match(Item(source="s", guid="3", body="drones", language="en"))
    assert rs.match(Item(source="s", guid="4", body="drones", language=None))  # unknown: not excluded


def test_disabled_rules_are_loaded_but_never_fire(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, [{"id": "off", "when": "drone", "enabled": False}, {"id": "on", "when": "drone"}])
    assert [r.id for r in rs.rules] == ["off", "on"]
    assert [m.rule_id for m in rs.match(Item(source="s", guid="1", body="drone"))] == ["on"]


def test_rule_keys_reach_the_rule(tmp_path: Path) -> None:
    rs = ruleset(
        tmp_path,
        [
            {
                "id": "drone-swarm",
                "title": "Massive drone attack",
                "severity": "high",
                "tags": ["ukraine", "air-defence"],
                "notify": ["desk"],
                "cooldown": "6h",
                "when": {"count": ["drone", "Shahed", "UAV"], "at_least": 100},
            },
            {"id": "plain", "when": "drone"},
        ],
    )
    r = rs.get("drone-swarm")
    assert (r.title, r.severity, r.tags, r.notify) == (
        "Massive drone attack",
        "high",
        ("ukraine", "air-defence"),
        ("desk",),
    )
    assert r.cooldown is not None and r.cooldown.total_seconds() == 6 * 3600
    assert r.has_count and not rs.get("plain").has_count
    p = rs.get("plain")
    assert (p.title, p.severity, p.cooldown, p.fields, p.enabled) == (
        "plain",
        "medium",
        None,
        ("title", "summary", "body"),
        True,
    )
    assert len(rs) == 2 and "plain" in rs and r.line == 1 and r.file.endswith(".yaml")


def test_hash_follows_content(tmp_path: Path) -> None:
    a = ruleset(tmp_path, [{"id": "r", "when": "drone"}])
    b = ruleset(tmp_path, [{"id": "r", "when": "drones"}])
    assert a.hash != b.hash and len(a.hash) >= 16


def test_regex_timeout_skips_the_rule_for_that_item_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(
        "- id: slow\n  when: {regex: '(a|aa)+$'}\n- id: fast\n  when: drone\n",
        encoding="utf-8",
    )
    from watcher.rules import load_rules

    rs = load_rules([path], regex_timeout=0.05)
    evil = Item(source="s", guid="1", body="drone " + "a" * 60 + "!")
    with caplog.at_level(logging.WARNING):
        first = rs.match(evil)
        second = rs.match(evil)
    assert [m.rule_id for m in first] == ["fast"] == [m.rule_id for m in second]
    assert sum("regex timed out" in r.getMessage() for r in caplog.records) == 1
    assert [m.rule_id for m in rs.match(Item(source="s", guid="2", body="aaaa"))] == ["slow"]


def test_text_is_length_capped(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("- id: r\n  when: drone\n", encoding="utf-8")
    from watcher.rules import load_rules

    rs = load_rules([path], max_text=1000)
    assert rs.match(Item(source="s", guid="1", body="x " * 100 + "drone"))
    assert not rs.match(Item(source="s", guid="2", body="x " * 1000 + "drone"))


def test_directory_loads_yaml_and_yml_recursively_sorted(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.yml").write_text("- id: b\n  when: b\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("- id: a\n  when: a\n", encoding="utf-8")
    (tmp_path / "sub" / "c.yaml").write_text("- id: c\n  when: c\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("- id: x\n  when: x\n", encoding="utf-8")
    from watcher.rules import load_rules

    assert [r.id for r in load_rules([tmp_path]).rules] == ["a", "b", "c"]


def test_only_rules_whose_terms_occur_are_evaluated(tmp_path: Path) -> None:
    rules = [{"id": f"r{i}", "when": f"mot{i}"} for i in range(500)]
    rules.append({"id": "neg", "when": {"not": "drone"}})
    rs = ruleset(tmp_path, rules)
    found = rs.match(Item(source="s", guid="1", body="mot7 et mot42"))
    assert sorted(m.rule_id for m in found) == ["neg", "r42", "r7"]
    neg = next(m for m in found if m.rule_id == "neg")
    assert neg.evidence == () and neg.negated is False


def test_utf8_bom_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "bom.yaml").write_bytes("\ufeff- id: bom\n  when: drone\n".encode())
    (tmp_path / "empty.yaml").write_text("# nothing yet\n[]\n", encoding="utf-8")
    from watcher.rules import load_rules

    assert [r.id for r in load_rules([tmp_path]).rules] == ["bom"]


def test_hostile_number_runs_stay_fast(tmp_path: Path) -> None:
    import time

    rs = ruleset(tmp_path, [{"id": "r", "when": {"count": "drone", "at_least": 1}}])
    text = "cent " * 20_000 + "un " * 20_000 + "drones " * 5_000
    start = time.perf_counter()
    rs.match(Item(source="s", guid="1", body=text))
    assert time.perf_counter() - start < 5
