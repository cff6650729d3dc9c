"""Delivery through apprise to real servers on 127.0.0.1: content, retries, failures, digests.

Time is driven by an injected clock: "a minute later" is ``clock.advance(minutes=1)``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from notify_fixtures import Clock, fire, hit, item, make_config, notifier, rule
from servers_notify import SmtpServer, WebhookServer, free_port

from watcher.models import DeliveryStatus


def test_email_and_webhook_carry_the_whole_alert(tmp_path: Path, smtp: SmtpServer, webhook: WebhookServer) -> None:
    cfg = make_config(
        tmp_path, [{"name": "mail", "url": smtp.url}, {"name": "hook", "url": webhook.url, "format": "markdown"}]
    )
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        h = hit(r, it)
        assert fire(store, n, r, [(it, h)], clock()) == [None]
        report = n.flush()
        assert (report.sent, report.failed) == (2, 0)

    assert len(smtp.mails) == 1
    mail = smtp.mails[0]
    assert mail.recipients == ["desk@example.org"]
    assert mail.subject == "[HIGH] Massive drone attack (188): La Russie lance une attaque massive de drones"
    html = mail.part("html")
    text = mail.part("plain")
    for body in (html, text):
        assert "HIGH" in body
        assert "Massive drone attack" in body
        assert "La Russie lance une attaque massive de drones" in body
        assert "188" in body
        assert "seed" in body
        assert "2024-11-26T05:42:00Z" in body  # published
        assert h.id in body
    assert "<mark><b>188 drones</b></mark>" in html  # evidence with the matched words marked
    assert "lancé" in html and "sur l'Ukraine" in html.replace("&#39;", "'")  # with context around them
    assert '<a href="https://www.afp.com/fr/news/afp-1">' in html

    assert len(webhook.requests) == 1
    doc = webhook.requests[0].json()
    assert doc["title"] == mail.subject
    message = doc["message"]
    assert "**188 drones**" in message
    assert "[La Russie lance une attaque massive de drones](https://www.afp.com/fr/news/afp-1)" in message
    assert h.id in message and "seed" in message and "2024-11-26T05:42:00Z" in message
    assert doc["type"] == "failure"  # severity high


def test_hostile_item_arrives_escaped_and_without_its_link(
    tmp_path: Path, smtp: SmtpServer, webhook: WebhookServer
) -> None:
    cfg = make_config(tmp_path, [{"name": "mail", "url": smtp.url}, {"name": "hook", "url": webhook.url}])
    clock = Clock()
    body = "Alerte: 188 drones <img src=x onerror=alert(1)> @everyone <!channel> fin\u202e\x07."
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item(body, title="<script>alert('x')</script> drones", link="javascript:alert(document.cookie)")
        fire(store, n, r, [(it, hit(r, it))], clock())
        assert n.flush().sent == 2

    html = smtp.mails[0].part("html")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    raw_mail = smtp.mails[0].message.as_string()
    message = webhook.requests[0].json()["message"]
    for out in (raw_mail, message):
        assert "javascript:" not in out
        assert "@everyone" not in out and "<!channel>" not in out
        assert "\u202e" not in out and "\x07" not in out
    assert "not shown: only http and https links are" in message


def test_smtp_down_when_the_hit_fires_then_up_a_minute_later_sends_once(tmp_path: Path) -> None:
    smtp = SmtpServer(free_port())  # not started: connection refused
    cfg = make_config(tmp_path, [{"name": "mail", "url": smtp.url}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        h = hit(r, it)
        fire(store, n, r, [(it, h)], clock())
        report = n.flush()
        assert (report.sent, report.retried) == (0, 1)
        [d] = store.deliveries()
        assert d.status is DeliveryStatus.PENDING and d.attempts == 1
        assert d.next_attempt_at == clock() + timedelta(seconds=30)
        assert "Connection error" in (d.last_error or "")

        smtp.start()
        try:
            clock.advance(seconds=10)
            assert n.flush().sent == 0  # still backing off
            clock.advance(minutes=1)
            assert n.flush().sent == 1
            clock.advance(hours=1)
            assert n.flush().sent == 0
        finally:
            smtp.stop()
        assert [m.subject for m in smtp.mails] == [smtp.mails[0].subject]
        assert h.id in smtp.mails[0].part("plain")
        assert store.deliveries()[0].status is DeliveryStatus.SENT


def test_webhook_500_three_times_then_200_gives_one_success(tmp_path: Path, webhook: WebhookServer) -> None:
    webhook.fail_next(500, times=3)
    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        fire(store, n, r, [(it, hit(r, it))], clock())
        assert n.next_due() == clock()
        delays = []
        for _ in range(10):
            before = clock()
            report = n.flush()
            if report.sent:
                break
            [d] = store.deliveries()
            assert "HTTP 500 (temporary)" in (d.last_error or "")
            assert d.next_attempt_at is not None
            delays.append(d.next_attempt_at - before)
            assert n.next_due() == d.next_attempt_at
            clock.now = d.next_attempt_at
        assert delays == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
        assert webhook.attempts == 4 and len(webhook.requests) == 1
        assert n.next_due() is None
        for _ in range(3):
            clock.advance(hours=1)
            n.flush()
        assert webhook.attempts == 4
        assert [d.status for d in store.deliveries()] == [DeliveryStatus.SENT]


def test_backoff_is_per_target_and_caps_at_retry_max(tmp_path: Path, webhook: WebhookServer) -> None:
    webhook.fail_next(503, times=100)
    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url}], retry_initial="30s", retry_max="2m")
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        pairs = [(it, hit(r, it)) for it in (item(guid=f"g{i}") for i in range(3))]
        fire(store, n, r, pairs, clock())
        n.flush()
        assert webhook.attempts == 1  # one probe per flush, not one per pending alert
        steps = []
        for _ in range(4):
            due = min(d.next_attempt_at for d in store.deliveries() if d.next_attempt_at)
            steps.append(due - clock())
            clock.now = due
            n.flush()
        assert steps == [timedelta(seconds=30), timedelta(seconds=60), timedelta(minutes=2), timedelta(minutes=2)]
        assert webhook.attempts == 5


def test_smtp_550_fails_at_once_and_is_reported_to_admin(
    tmp_path: Path, smtp: SmtpServer, webhook: WebhookServer
) -> None:
    smtp.fail_next("550 5.1.1 <desk@example.org>: mailbox unavailable", times=1)
    cfg = make_config(
        tmp_path,
        [{"name": "mail", "url": smtp.url, "tags": ["desk"]}, {"name": "ops", "url": webhook.url, "tags": ["admin"]}],
    )
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        h = hit(r, it)
        fire(store, n, r, [(it, h)], clock())
        report = n.flush()
        assert (report.sent, report.failed, report.retried) == (0, 1, 0)
        hit_delivery = next(d for d in store.deliveries() if d.kind == "hit")
        assert hit_delivery.status is DeliveryStatus.FAILED
        assert hit_delivery.target == "mail"  # admin-only target got no alert
        assert (hit_delivery.last_error or "").startswith("SMTP 550 (permanent)")
        assert "mailbox unavailable" in (hit_delivery.last_error or "")
        clock.advance(days=3)
        n.flush()
    assert smtp.mails == []
    assert len(webhook.requests) == 1
    notice = webhook.requests[0].json()
    assert notice["title"] == "watcher: 1 delivery failed"
    assert "SMTP 550 (permanent)" in notice["message"] and "'mail'" in notice["message"] and h.id in notice["message"]


def test_smtp_451_is_temporary(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.fail_next("451 4.3.0 try again later", times=1)
    cfg = make_config(tmp_path, [{"name": "mail", "url": smtp.url}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        fire(store, n, r, [(it, hit(r, it))], clock())
        assert n.flush().retried == 1
        assert (store.deliveries()[0].last_error or "").startswith("SMTP 451 (temporary)")
        clock.advance(seconds=30)
        assert n.flush().sent == 1
    assert len(smtp.mails) == 1


def test_http_404_is_permanent(tmp_path: Path, webhook: WebhookServer) -> None:
    webhook.fail_next(404)
    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        fire(store, n, r, [(it, hit(r, it))], clock())
        report = n.flush()
        assert report.failed == 1 and "HTTP 404 (permanent)" in report.errors[0]
        assert store.deliveries()[0].status is DeliveryStatus.FAILED


def test_gives_up_after_retry_for_and_tells_admin_once(tmp_path: Path, webhook: WebhookServer) -> None:
    down = f"json://127.0.0.1:{free_port()}/hook"
    cfg = make_config(
        tmp_path,
        [{"name": "down", "url": down, "tags": ["desk"]}, {"name": "ops", "url": webhook.url, "tags": ["admin"]}],
        retry_for="10m",
        retry_max="4m",
    )
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        fire(store, n, r, [(it, hit(r, it))], clock())
        for _ in range(20):
            n.flush()
            clock.advance(minutes=1)
        [d] = [d for d in store.deliveries() if d.kind == "hit"]
        assert d.status is DeliveryStatus.FAILED
        assert (d.last_error or "").startswith("still failing after 10m")
        assert 4 <= d.attempts <= 7
    assert len(webhook.requests) == 1
    assert "still failing after 10m" in webhook.requests[0].json()["message"]


def test_never_resends_to_a_target_that_succeeded(tmp_path: Path, smtp: SmtpServer, webhook: WebhookServer) -> None:
    webhook.fail_next(502, times=2)
    cfg = make_config(tmp_path, [{"name": "mail", "url": smtp.url}, {"name": "hook", "url": webhook.url}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        fire(store, n, r, [(it, hit(r, it))], clock())
        for _ in range(4):
            n.flush()
            clock.advance(minutes=5)
    assert len(smtp.mails) == 1
    assert len(webhook.requests) == 1 and webhook.attempts == 3


def test_digest_target_gets_one_message_listing_all_25_hits(tmp_path: Path, webhook: WebhookServer) -> None:
    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url, "digest": "1h"}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        pairs = [(it, hit(r, it)) for it in (item(guid=f"story-{i}") for i in range(25))]
        assert fire(store, n, r, pairs, clock()) == [None] * 25
        assert n.next_due() == clock() + timedelta(hours=1)
        n.flush()
        clock.advance(minutes=30)
        n.flush()
        assert webhook.requests == []  # the window is still open
        clock.advance(minutes=30)
        report = n.flush()
        assert (report.digests, report.sent) == (1, 1)
        clock.advance(hours=2)
        n.flush()
        statuses = {d.kind: d.status for d in store.deliveries()}
        assert statuses == {"hit": DeliveryStatus.SENT, "digest": DeliveryStatus.SENT}
    assert len(webhook.requests) == 1
    doc = webhook.requests[0].json()
    assert doc["title"].startswith("[watcher] 25 alerts")
    for _, h in pairs:
        assert h.id in doc["message"]


def test_flood_guard_turns_a_burst_into_one_digest(tmp_path: Path, webhook: WebhookServer) -> None:
    other = WebhookServer().start()
    cfg = make_config(
        tmp_path, [{"name": "hook", "url": webhook.url}, {"name": "patient", "url": other.url, "flood": 30}]
    )
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        pairs = [(it, hit(r, it)) for it in (item(guid=f"story-{i}") for i in range(25))]
        fire(store, n, r, pairs, clock())
        report = n.flush()
        assert report.digests == 1  # hook: 25 > flood 20 (global); patient: 25 <= 30
    assert len(webhook.requests) == 1
    message = webhook.requests[0].json()["message"]
    assert all(h.id in message for _, h in pairs)
    other.stop()
    assert len(other.requests) == 25


def test_cooldown_keeps_a_rule_quiet(tmp_path: Path, webhook: WebhookServer) -> None:
    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule(cooldown=timedelta(hours=6))
        reasons = []
        for i, minutes in enumerate((0, 60, 7 * 60)):
            clock.advance(minutes=minutes)
            it = item(guid=f"story-{i}")
            reasons += fire(store, n, r, [(it, hit(r, it, at=clock()))], clock())
            n.flush()
        assert reasons == [None, "cooldown", None]
    assert len(webhook.requests) == 2


def test_three_revisions_of_a_story_give_two_alerts(tmp_path: Path, webhook: WebhookServer) -> None:
    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url}])
    clock = Clock()
    revisions = [
        ("L'armée russe a lancé au moins 100 drones sur l'Ukraine.", "au moins 100 drones", 100),
        ("L'armée russe a lancé 188 drones sur l'Ukraine.", "188 drones", 188),
        ("L'armée russe a lancé 188 drones sur l'Ukraine, a confirmé Kiev.", "188 drones", 188),
    ]
    with notifier(cfg, clock) as (store, n):
        r = rule()
        reasons = []
        for body, phrase, value in revisions:
            clock.advance(minutes=10)
            it = item(body, guid="afp-urgent-1")
            reasons += fire(store, n, r, [(it, hit(r, it, phrase, value, at=clock()))], clock())
            n.flush()
        assert reasons == [None, None, "story"]
        assert store.count("hits") == 3
    assert len(webhook.requests) == 2
    assert "(100)" in webhook.requests[0].json()["title"]
    assert "(188)" in webhook.requests[1].json()["title"]


def test_logs_show_targets_only_in_privacy_form(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], webhook: WebhookServer
) -> None:
    from watcher.logs import configure

    token = "s3cr3t-t0ken-value"
    down = f"json://user:{token}@127.0.0.1:{free_port()}/hook/{token}"
    up = f"json://user:{token}@127.0.0.1:{webhook.port}/hook/{token}?token={token}"
    cfg = make_config(tmp_path, [{"name": "down", "url": down}, {"name": "up", "url": up}])
    configure(verbosity=2)  # -vv: debug for everything watcher lets through
    try:
        clock = Clock()
        with caplog.at_level(logging.DEBUG), notifier(cfg, clock) as (store, n):
            r = rule()
            it = item()
            fire(store, n, r, [(it, hit(r, it))], clock())
            n.flush()
            results = n.test()
            stored = " ".join(str(d.last_error) for d in store.deliveries())
    finally:
        logging.getLogger().handlers.clear()
    out, err = capfd.readouterr()
    assert len(webhook.requests) == 2  # the alert and the test message did go through
    assert "will retry id=1 target=down url=json://****@127.0.0.1:" in err
    assert "delivery sent id=2 target=up" in err
    assert results[1].url == f"json://user:****@127.0.0.1:{webhook.port}/…"
    for text in (out, err, caplog.text, stored, repr(results)):
        assert token not in text


def test_admin_notice_with_a_key_goes_out_once(tmp_path: Path, webhook: WebhookServer) -> None:
    cfg = make_config(
        tmp_path,
        [
            {"name": "ops", "url": webhook.url, "tags": ["admin"]},
            {"name": "desk", "url": "console://", "tags": ["desk"]},
        ],
    )
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        for _ in range(3):
            n.admin("watcher: source afp is failing", "5 failures in a row\n@everyone look", key="failing:afp:1")
            clock.advance(minutes=5)
            n.flush()
        n.admin("watcher: source afp recovered", "polling again", key="recovered:afp:1")
        assert [(d.kind, d.target, d.status.value) for d in store.deliveries()] == [
            ("admin", "ops", "sent"),
            ("admin", "ops", "sent"),
        ]
    assert [r.json()["title"] for r in webhook.requests] == [
        "watcher: source afp is failing",
        "watcher: source afp recovered",
    ]
    assert "@everyone" not in webhook.requests[0].json()["message"]
    assert webhook.requests[0].json()["type"] == "warning"


def test_admin_notice_without_admin_target_is_only_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = make_config(tmp_path, [{"name": "desk", "url": "console://", "tags": ["desk"]}])
    with caplog.at_level(logging.WARNING, logger="watcher"), notifier(cfg, Clock()) as (store, n):
        n.admin("watcher: rules reload failed", "rules/x.yaml:3:1: unknown key")
        assert store.deliveries() == []
    assert "admin notice title='watcher: rules reload failed' targets=none" in caplog.text


def test_a_rule_routed_nowhere_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = make_config(tmp_path, [{"name": "desk", "url": "console://", "tags": ["desk"]}])
    with caplog.at_level(logging.WARNING, logger="watcher"), notifier(cfg, Clock()) as (_, n):
        assert n.route(rule(notify=("sport",))) == []
        assert n.route(rule(notify=("sport",))) == []
        assert n.route(rule("other")) == ["desk"]
    assert caplog.text.count("rule alerts reach no target rule=drones notify=sport") == 1


def test_locked_database_during_flush_is_survived(tmp_path: Path, webhook: WebhookServer) -> None:
    import sqlite3

    from watcher.notify import Notifier
    from watcher.store import Store

    cfg = make_config(tmp_path, [{"name": "hook", "url": webhook.url}])
    clock = Clock()
    with Store.open(cfg.database, busy_timeout=0.1) as store:
        n = Notifier(cfg, store, clock=clock)
        r = rule()
        it = item()
        h = hit(r, it)
        fire(store, n, r, [(it, h)], clock())
        other = sqlite3.connect(cfg.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database
        report = n.flush()  # sends, then cannot mark: must not raise
        assert report.sent == 0 and report.errors and report.errors[0].startswith("outbox unavailable")
        other.execute("ROLLBACK")
        other.close()
        assert n.flush().sent == 1
        assert n.flush().sent == 0
    # at-least-once: the message that could not be marked went out again, with the same hit id
    assert len(webhook.requests) == 2
    assert all(h.id in r.json()["message"] for r in webhook.requests)
