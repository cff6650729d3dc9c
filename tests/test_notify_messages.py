"""Messages: what a reader sees in each format, and what hostile item text cannot do."""

from __future__ import annotations

from pathlib import Path

import apprise
import pytest
from notify_fixtures import Clock, fire, hit, item, make_config, notifier, rule

from watcher.errors import ConfigError
from watcher.models import Evidence, Hit, Match
from watcher.notify.messages import Renderer, clean, safe_link, snippets

HOSTILE_TITLE = (
    "[click](javascript:alert(1)) *boom* <b>x</b> @here @everyone <!channel> <@U024BE7LH> \u202egnp.exe\x1b[31m"
)


def render(tmp_path: Path, fmt: str, **target: str) -> tuple[str, str]:
    cfg = make_config(tmp_path, [{"name": "t", "url": "console://", "format": fmt, **target}])
    it = item(title=HOSTILE_TITLE, link="javascript:alert(1)")
    msg = Renderer(cfg).hit(hit(rule(), it), it, fmt=fmt, target="t")
    return msg.title, msg.body


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.afp.com/fr/news/1", True),
        ("http://example.org/a?b=c&d=e#f", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("ftp://example.org/file", False),
        ("//example.org/path", False),
        ("https:///no-host", False),
        ("https://exa mple.org/", False),
        ("https://example.org/\u202eevil", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_links_survive(url: str | None, expected: bool) -> None:
    assert (safe_link(url) is not None) is expected


def test_clean_strips_controls_and_bidi_and_breaks_mentions() -> None:
    out = clean("a\x00b\x1b[31m\u202ec\u2066d\u200be\nf\tg @everyone @Here @channel <!channel> <!here> <@U1>")
    assert "\x00" not in out and "\x1b" not in out and "\u202e" not in out and "\u2066" not in out
    assert "\u200b" not in out and "\n" not in out
    for mention in ("@everyone", "@Here", "@channel", "<!channel>", "<!here>", "<@U1>"):
        assert mention not in out
    assert "everyone" in out and "channel" in out  # still readable


@pytest.mark.parametrize("fmt", ["text", "html", "markdown"])
def test_hostile_title_in_every_format(tmp_path: Path, fmt: str) -> None:
    title, body = render(tmp_path, fmt)
    for out in (title, body):
        assert "@everyone" not in out and "@here" not in out and "<!channel>" not in out and "<@U024BE7LH>" not in out
        assert "\u202e" not in out and "\x1b" not in out
    assert "not shown: only http and https links are" in body
    assert "Link: javascript" not in body
    if fmt == "html":
        assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body
        assert "<a " not in body
    if fmt == "markdown":
        assert r"\[click\]\(javascript:alert\(1\)\)" in body
        assert r"\*boom\*" in body
        assert "](" not in body  # no link at all: the only one was javascript:


def test_html_link_attribute_is_escaped(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, [{"name": "t", "url": "console://", "format": "html"}])
    it = item(link='https://example.org/"onmouseover="alert(1)')
    body = Renderer(cfg).hit(hit(rule(), it), it, fmt="html", target="t").body
    assert 'href="https://example.org/&#34;onmouseover=&#34;alert(1)"' in body


def test_evidence_snippets_mark_the_words_with_context() -> None:
    body = (
        ("Début de dépêche. " * 10)
        + "Moscou a tiré 4 missiles balistiques."
        + (" Suite sans rapport." * 10)
        + (" Kiev signale 188 drones abattus.")
    )
    it = item(body)
    r = rule()
    spans = []
    for phrase, value in (("4 missiles balistiques", 4), ("missiles", None), ("188 drones", 188)):
        start = body.index(phrase)
        spans.append(Evidence("body", start, start + len(phrase), phrase, value=value))
    spans.append(Evidence("title", 500, 510, "not there", negated=True))  # offsets that do not fit the item
    h = Hit.from_match(r, it, Match(r.id, 188, False, tuple(spans)), Clock()())
    found = snippets(h, it)
    assert len(found) == 3  # two windows in the body (far apart), one bare span for the title
    marked = ["".join(f"[{t}]" if m else t for t, m in s.pieces) for s in found]
    assert "a tiré [4 missiles balistiques]." in marked[1] or "a tiré [4 missiles balistiques]." in marked[0]
    assert any("signale [188 drones] abattus." in m for m in marked)
    assert any(m == "[not there]" for m in marked)
    assert any(s.negated for s in found)
    assert all(len(m) < 200 for m in marked)


def test_custom_templates_are_escaped_like_ours(tmp_path: Path) -> None:
    title, body = render(
        tmp_path,
        "html",
        title_template="ALERT {{ hit.SEVERITY }} {{ hit.item }}",
        body_template="<p>{{ hit.item }}</p><p>{{ hit.evidence[0].snippet }}</p><p>{{ hit.id }}</p>",
    )
    assert title.startswith("ALERT HIGH [click]")
    assert body.startswith("<p>[click](javascript:alert(1)) *boom* &lt;b&gt;x&lt;/b&gt;")
    assert "<mark><b>188 drones</b></mark>" in body


def test_custom_template_from_a_file_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "alert.md.j2").write_text("Drones: {{ hit.value }} in *{{ hit.item }}*\n", encoding="utf-8")
    _title, body = render(tmp_path, "markdown", body_template="alert.md.j2")
    assert body.startswith(r"Drones: 188 in *\[click\]\(javascript:alert\(1\)\) \*boom\*")


def test_template_syntax_error_is_one_line_naming_target_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        render(tmp_path, "text", body_template="line one\n{% if hit.value %}unclosed")
    assert "notify 't': body_template line 2:" in str(err.value)


def test_template_that_fails_at_render_falls_back_to_the_default(tmp_path: Path) -> None:
    _title, body = render(tmp_path, "text", body_template="{{ hit.value / 0 }}")
    assert "Massive drone attack" in body and "Hit: " in body


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    _title, body = render(tmp_path, "text", body_template="{{ hit.__class__.__mro__[1].__subclasses__() }}")
    assert "subclasses" not in body and "Hit: " in body  # refused, so the default template was used


def test_console_prints_through_the_same_delivery_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config(tmp_path, [{"name": "console", "url": "console://"}])
    clock = Clock()
    with notifier(cfg, clock) as (store, n):
        r = rule()
        it = item()
        h = hit(r, it)
        fire(store, n, r, [(it, h)], clock())
        assert n.flush().sent == 1
        assert store.deliveries()[0].sent_at == clock()
    out = capsys.readouterr().out
    assert "[HIGH] Massive drone attack (188): La Russie lance une attaque massive de drones" in out
    assert "**188 drones**" in out and f"Hit: {h.id}" in out and "Link: https://www.afp.com/fr/news/afp-1" in out


@pytest.mark.parametrize(
    ("fmt", "expected"), [("html", "&lt;b&gt;x&lt;/b&gt;"), ("markdown", r"\[click\]\(javascript")]
)
def test_title_is_escaped_for_services_that_paste_it_into_the_body(tmp_path: Path, fmt: str, expected: str) -> None:
    # Telegram has no title field: apprise writes "<b>{title}</b>" (or "# {title}") into the body as is.
    from watcher.notify.transport import Target

    cfg = make_config(tmp_path, [{"name": "t", "url": "tgram://123456789:abcdefg_hijklmnop/12315544/", "format": fmt}])
    target = Target(cfg.notify[0], apprise.AppriseAsset())
    assert (target.format, target.title_format) == (fmt, fmt)
    it = item(title=HOSTILE_TITLE)
    msg = Renderer(cfg).hit(hit(rule(), it), it, fmt=fmt, target="t", title_fmt=target.title_format)
    assert expected in msg.title
    assert "<b>x</b>" not in msg.title


def test_email_keeps_a_plain_subject(tmp_path: Path) -> None:
    from watcher.notify.transport import Target

    cfg = make_config(tmp_path, [{"name": "m", "url": "mailto://127.0.0.1:25?from=a@example.org&to=b@example.org"}])
    target = Target(cfg.notify[0], apprise.AppriseAsset())
    assert (target.format, target.title_format) == ("html", "text")


def test_the_same_snippet_in_title_and_body_is_shown_once() -> None:
    lead = "Une attaque record avec 188 drones a frappé l'Ukraine."
    it = item(lead + "\n\nSuite de la dépêche.", title=lead)
    r = rule()
    start = lead.index("188 drones")
    evidence = (
        Evidence("title", start, start + 10, "188 drones", value=188),
        Evidence("body", start, start + 10, "188 drones", value=188),
    )
    h = Hit.from_match(r, it, Match(r.id, 188, False, evidence), Clock()())
    found = snippets(h, it)
    assert len(found) == 1 and found[0].field == "body"  # the wider one


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("text", "de **188 drones** ce"),
        ("markdown", "de **188 drones** ce"),
        ("html", "de <mark><b>188 drones</b></mark> ce"),
    ],
)
def test_marks_hug_the_words_even_when_a_span_has_spaces(fmt: str, expected: str) -> None:
    from watcher.notify.messages import hit_context

    body = "Un nombre record de 188 drones ce matin."
    it = item(body)
    r = rule()
    start = body.index(" 188 drones ")
    ev = Evidence("body", start, start + len(" 188 drones "), " 188 drones ", value=188)
    h = Hit.from_match(r, it, Match(r.id, 188, False, (ev,)), Clock()())
    assert expected in str(hit_context(h, it, fmt)["evidence"][0]["snippet"])
