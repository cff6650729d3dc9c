"""Pure alerting decisions: does a hit ring, and to whom.

Desks judge an alerting tool by its silence as much as by its alerts: the same
story re-sent by a wire with a typo fixed must not ring again, but "au moins 100
drones" becoming "188 drones" must. Both decisions live here as pure functions
over hits and the clock, so they are table-tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .config import NotifyConfig
from .models import Hit, Rule

ADMIN_TAG = "admin"
ALL_TAG = "all"

# Values stored in hits.suppressed; NULL there means the hit alerted.
STORY = "story"
COOLDOWN = "cooldown"


def suppression(
    rule: Rule,
    hit: Hit,
    *,
    previous: Sequence[Hit],
    last_alert_at: datetime | None,
    now: datetime,
) -> str | None:
    """Why ``hit`` must not alert (``"story"`` or ``"cooldown"``), or None when it must.

    ``previous`` are the earlier hits of the same rule on the same story that
    *alerted* (``store.alerted_hits(rule, story_id)``). Passing every earlier hit,
    suppressed ones included, errs on the quiet side: a value first seen during a
    cooldown then counts as already told.

    A story alerts once; a later revision alerts again only when it carries a
    count above every value already alerted for that story (escalation). The
    cooldown applies to escalations too: RULES.md promises "at most one alert for
    this rule per cooldown", and a desk that asked for quiet gets quiet.
    """
    earlier = [p for p in previous if p.id != hit.id]
    if earlier and not _escalates(hit, earlier):
        return STORY
    if rule.cooldown and last_alert_at is not None and now - last_alert_at < rule.cooldown:
        return COOLDOWN
    return None


def _escalates(hit: Hit, earlier: Sequence[Hit]) -> bool:
    if hit.value is None:
        return False
    told = [p.value for p in earlier if p.value is not None]
    return not told or hit.value > max(told)


def is_admin_only(target: NotifyConfig) -> bool:
    """A target tagged exactly ``admin`` is the operators' channel: it hears admin notices, not alerts."""
    return set(target.tags) == {ADMIN_TAG}


def route(rule: Rule, targets: Sequence[NotifyConfig]) -> list[str]:
    """Names of the targets a rule's alerts go to.

    - a rule without ``notify`` goes to every target except admin-only ones, so
      chat admins are not flooded with every alert;
    - a rule with ``notify`` goes to targets sharing one of its tags, plus targets
      tagged ``all`` (the catch-all, e.g. the console); naming ``all`` in the rule
      means every target that is not admin-only; naming ``admin`` reaches the
      admin targets too.
    """
    wanted = set(rule.notify)
    names: list[str] = []
    for target in targets:
        tags = set(target.tags)
        if not wanted or ALL_TAG in wanted:
            chosen = not is_admin_only(target) or ADMIN_TAG in wanted
        else:
            chosen = bool(tags & wanted) or (ALL_TAG in tags and not is_admin_only(target))
        if chosen:
            names.append(target.name)
    return names


def admin_targets(targets: Sequence[NotifyConfig]) -> list[str]:
    return [t.name for t in targets if ADMIN_TAG in t.tags]
