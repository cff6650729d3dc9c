"""End to end: the seed dispatch dropped in a folder, `watcher poll`, and what a real SMTP server and a real
webhook receive (apprise, no mocks)."""

from __future__ import annotations

import json

from helpers import Project
from servers_notify import SmtpServer, WebhookServer


def test_seed_poll_delivers_to_smtp_and_webhook(project: Project) -> None:
    smtp = SmtpServer().start()
    webhook = WebhookServer().start()
    try:
        project.use_starter_rules()
        # flood = 1 on the mail target: the seed's alerts arrive as one digest email
        # (apprise spaces emails 5.5 s apart; one message keeps this test fast).
        project.write_config(
            f'\n[[notify]]\nname = "mail"\nurl = "{smtp.url}"\nflood = 1\n',
            notify=f'url = "{webhook.url}"',
        )
        project.drop_seed()
        first = project.invoke("poll")
        assert first.exit_code == 0, first.output
        hits = json.loads(project.invoke("hits", "--format", "json").stdout)
        drone = next(h for h in hits if h["rule"] == "drone-swarm")
        assert drone["value"] == 188

        alerts = [r.json() for r in webhook.requests]
        assert len(alerts) == len(hits) > 1
        [drone_alert] = [a for a in alerts if drone["id"] in a["message"]]
        assert drone_alert["title"].startswith("[HIGH] Massive drone attack (188): ")
        assert "**188 drones**" in drone_alert["message"] and "Source: drop" in drone_alert["message"]

        assert len(smtp.mails) == 1
        digest = smtp.mails[0]
        assert digest.subject.startswith(f"[watcher] {len(hits)} alerts")
        for h in hits:
            assert h["id"] in digest.part("html") and h["id"] in digest.part("plain")
        assert "<mark><b>188 drones</b></mark>" in digest.part("html")

        second = project.invoke("poll")
        assert second.exit_code == 0
        assert len(webhook.requests) == len(hits) and len(smtp.mails) == 1  # nothing sent twice
    finally:
        smtp.stop()
        webhook.stop()
