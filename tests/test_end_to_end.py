"""Issue 2 acceptance 1: the seed dispatch, polled from the CLI, reaches a real SMTP server and a real webhook."""

from __future__ import annotations

from helpers import Project
from servers_notify import SmtpServer, WebhookServer


def test_seed_alerts_arrive_by_email_and_webhook(project: Project, smtp: SmtpServer, webhook: WebhookServer) -> None:
    project.use_starter_rules()
    project.write_config(
        f"""
        [[notify]]
        name = "desk-mail"
        url = "{smtp.url}"
        tags = ["all"]
        throttle = "0s"   # our own relay: no need for apprise's 5.5 s between emails

        [[notify]]
        name = "chat-hook"
        url = "{webhook.url}"
        tags = ["all"]
        """,
        notify="",
    )
    project.drop_seed()

    result = project.invoke("poll")
    assert result.exit_code == 0, result.output
    assert "0 deliveries pending" in result.output

    drone_mails = [m for m in smtp.mails if "Massive drone attack" in m.subject]
    assert len(drone_mails) == 1
    mail = drone_mails[0]
    assert "188" in mail.subject
    text = mail.part("plain") or mail.part("html")
    assert "188 drones" in text
    assert "drone-swarm" in text  # which rule fired
    hits = {h["rule"]: h for h in __import__("json").loads(project.invoke("hits", "--format", "json").output)}
    assert hits["drone-swarm"]["id"] in text  # the hit id, so a duplicate is recognisable

    posted = [r.json() for r in webhook.requests]
    drone_posts = [p for p in posted if "Massive drone attack" in p["title"]]
    assert len(drone_posts) == 1
    assert "188" in drone_posts[0]["message"]
    assert hits["drone-swarm"]["id"] in drone_posts[0]["message"]
    nuclear = [p for p in posted if "Nuclear" in p["title"]]
    assert nuclear and "negated" in nuclear[0]["message"].lower()

    # every hit went to both targets exactly once, and a second poll sends nothing more
    assert len(smtp.mails) == len(hits) == len(webhook.requests)
    again = project.invoke("poll")
    assert again.exit_code == 0
    assert len(smtp.mails) == len(hits) == len(webhook.requests)
