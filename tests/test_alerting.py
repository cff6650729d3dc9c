"""Pure alerting decisions: story once, escalation, cooldown, routing by tags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from notify_fixtures import T0, hit, item, make_config, rule

from watcher.alerting import route, suppression

AU_MOINS = "L'armée russe a lancé au moins 100 drones sur l'Ukraine."
EXACT = "L'armée russe a lancé 188 drones sur l'Ukraine, selon Kiev."
EXACT_FIXED = "L'armée russe a lancé 188 drones sur l'Ukraine, selon Kyiv."


def revision(body: str, phrase: str, value: float | None, minutes: int = 0):  # type: ignore[no-untyped-def]
    return hit(rule(), item(body, guid="afp-1"), phrase, value, at=T0 + timedelta(minutes=minutes))


def test_three_revisions_give_two_alerts() -> None:
    r = rule()
    first = revision(AU_MOINS, "au moins 100 drones", 100)
    second = revision(EXACT, "188 drones", 188, 10)
    third = revision(EXACT_FIXED, "188 drones", 188, 20)
    assert first.story_id == second.story_id == third.story_id
    assert len({first.id, second.id, third.id}) == 3

    alerted = []
    reasons = []
    for h in (first, second, third):
        reason = suppression(r, h, previous=alerted, last_alert_at=None, now=h.fired_at)
        reasons.append(reason)
        if reason is None:
            alerted.append(h)
    assert reasons == [None, None, "story"]


@pytest.mark.parametrize(
    ("previous_values", "value", "expected"),
    [
        ([], 100, None),  # first hit of the story
        ([100], 188, None),  # escalation
        ([100, 188], 188, "story"),  # same value again
        ([188], 150, "story"),  # a lower count is no news
        ([188], None, "story"),  # no count at all
        ([None], None, "story"),  # non-count rule: once per story
        ([None], 5, None),  # a count where the alerted hit had none
        ([100, 188], 189, None),  # above the max, not just the last
    ],
)
def test_story_and_escalation(previous_values: list[float | None], value: float | None, expected: str | None) -> None:
    r = rule()
    previous = [
        hit(r, item(f"Attaque: {i} drones. v{i}", guid="afp-1"), f"{i} drones", v)
        for i, v in enumerate(previous_values)
    ]
    h = hit(r, item("Attaque: 999 drones. new", guid="afp-1"), "999 drones", value)
    assert suppression(r, h, previous=previous, last_alert_at=None, now=T0) == expected


def test_the_same_hit_replayed_is_not_its_own_history() -> None:
    r = rule()
    h = revision(EXACT, "188 drones", 188)
    assert suppression(r, h, previous=[h], last_alert_at=None, now=T0) is None


@pytest.mark.parametrize(
    ("cooldown", "since_last", "expected"),
    [
        (timedelta(hours=6), timedelta(hours=1), "cooldown"),
        (timedelta(hours=6), timedelta(hours=6), None),
        (timedelta(hours=6), timedelta(hours=7), None),
        (None, timedelta(seconds=1), None),
    ],
)
def test_cooldown(cooldown: timedelta | None, since_last: timedelta, expected: str | None) -> None:
    r = rule(cooldown=cooldown)
    h = hit(r, item(guid="other-story"), at=T0)
    assert suppression(r, h, previous=[], last_alert_at=T0 - since_last, now=T0) == expected


def test_escalation_inside_cooldown_is_quiet() -> None:
    r = rule(cooldown=timedelta(hours=6))
    first = revision(AU_MOINS, "au moins 100 drones", 100)
    second = revision(EXACT, "188 drones", 188, 10)
    now = second.fired_at
    assert suppression(r, second, previous=[first], last_alert_at=first.fired_at, now=now) == "cooldown"


def test_route_by_tags(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path,
        [
            {"name": "console", "url": "console://", "tags": ["all"]},
            {"name": "desk-mail", "url": "console://", "tags": ["desk"]},
            {"name": "chat", "url": "console://", "tags": ["desk", "admin"]},
            {"name": "ops", "url": "console://", "tags": ["admin"]},
            {"name": "sport", "url": "console://", "tags": ["sport"]},
        ],
    )
    targets = cfg.notify
    # no notify key: everyone but the admin-only channel
    assert route(rule(), targets) == ["console", "desk-mail", "chat", "sport"]
    # a tag: the targets carrying it, plus the catch-all
    assert route(rule(notify=("desk",)), targets) == ["console", "desk-mail", "chat"]
    assert route(rule(notify=("sport",)), targets) == ["console", "sport"]
    # naming admin reaches the operators
    assert route(rule(notify=("admin",)), targets) == ["console", "chat", "ops"]
    assert route(rule(notify=("all",)), targets) == ["console", "desk-mail", "chat", "sport"]
    assert route(rule(notify=("nobody",)), targets) == ["console"]
