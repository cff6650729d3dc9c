"""Hits -> message title and body, in plain text, HTML (email) or Markdown (chat).

Item text is hostile: it comes from whoever controls a feed. Everything taken
from an item is cleaned once when the template context is built (control and
bidi characters stripped, chat mentions neutralised, links kept only when
http(s)), then escaped for the output format by the template engine itself:
HTML with Jinja2's autoescape, Markdown through a ``finalize`` hook that escapes
every ``{{ value }}``. A user's own template therefore gets the same protection
as ours. Pieces we build (evidence with the matched words marked, links) are
``Markup``: already safe for their format, never escaped twice.

Templates run in Jinja2's sandbox: a config author's template can format a
message, not reach Python objects.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from ..config import Config, NotifyConfig
from ..errors import ConfigError
from ..models import Evidence, Hit, Item, iso

log = logging.getLogger(__name__)

FORMATS = ("text", "html", "markdown")
TITLE_MAX = 250
SNIPPET_CONTEXT = 60
MAX_SNIPPETS = 5

# C0/C1 controls (tab and newline are whitespace-collapsed, not kept), zero-width and bidi
# controls that can reorder or hide text (Trojan Source, RLO spoofing), BOM.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
# A word joiner after the sigil keeps the text readable and breaks the mention.
_MENTION = re.compile(r"@(?=(?:everyone|here|channel|room|all)\b)", re.IGNORECASE)
_SLACK_SPECIAL = re.compile(r"<(?=[!@#])")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
_WJ = "\u2060"


def clean(text: object) -> str:
    """One line of hostile text made inert: unsafe characters gone, spaces collapsed, mentions broken."""
    if text is None:
        return ""
    out = _UNSAFE.sub("", str(text))
    out = _SPACES.sub(" ", out).strip()
    out = _MENTION.sub("@" + _WJ, out)
    return _SLACK_SPECIAL.sub("<" + _WJ, out)


def safe_link(url: str | None) -> str | None:
    """The URL when it is an http(s) link a reader can safely open, else None (javascript:, data:...)."""
    if not url or len(url) > 2048:
        return None
    url = url.strip()
    if _UNSAFE.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _number(value: float | int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}".replace(",", " ") if isinstance(value, int) and abs(value) >= 10_000 else str(value)


# -- evidence ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    field: str
    pieces: tuple[tuple[str, bool], ...]  # (text, matched)
    value: float | int | None
    negated: bool


def snippets(hit: Hit, item: Item | None) -> list[Snippet]:
    """Evidence spans with some words of context, spans close together shown in one snippet."""
    out: list[Snippet] = []
    by_field: dict[str, list[Evidence]] = {}
    for ev in hit.evidence:
        by_field.setdefault(ev.field, []).append(ev)
    for field, evs in by_field.items():
        text = item.text(field) if item is not None else ""
        located = [e for e in evs if 0 <= e.start < e.end <= len(text) and e.end - e.start <= 500]
        for ev in evs:
            if ev not in located:
                out.append(Snippet(field, ((ev.text, True),), ev.value, ev.negated))
        located.sort(key=lambda e: e.start)
        group: list[Evidence] = []
        for ev in located:
            if group and ev.start - max(g.end for g in group) > 2 * SNIPPET_CONTEXT:
                out.append(_window(field, text, group))
                group = []
            group.append(ev)
        if group:
            out.append(_window(field, text, group))
    return _distinct(out)[:MAX_SNIPPETS]


def _distinct(found: list[Snippet]) -> list[Snippet]:
    """Drop a snippet whose marked text lies inside another one (a title that is the body's lead)."""

    def key(s: Snippet) -> str:
        return "".join(f"\x01{t}\x02" if m else t for t, m in s.pieces if t != "…")

    kept: list[Snippet] = []
    for snippet in found:
        k = key(snippet)
        if any(k in key(other) for other in kept):
            continue
        kept = [other for other in kept if key(other) not in k]
        kept.append(snippet)
    return sorted(kept, key=found.index)


def _window(field: str, text: str, group: list[Evidence]) -> Snippet:
    start = max(0, group[0].start - SNIPPET_CONTEXT)
    end = min(len(text), max(e.end for e in group) + SNIPPET_CONTEXT)
    pieces: list[tuple[str, bool]] = []
    pos = start
    for ev in group:
        if ev.start < pos:  # overlapping or nested spans: the first one shown wins
            continue
        pieces.append((text[pos : ev.start], False))
        pieces.append((text[ev.start : ev.end], True))
        pos = ev.end
    pieces.append((text[pos:end], False))
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(text):
        pieces.append(("…", False))
    values = [e.value for e in group if e.value is not None]
    return Snippet(field, tuple(pieces), values[0] if values else None, any(e.negated for e in group))


# -- per-format rendering ------------------------------------------------------------------------


def _mark(fmt: str, pieces: Sequence[tuple[str, bool]]) -> Markup:
    parts: list[str] = []
    for raw, matched in pieces:
        text = _UNSAFE.sub("", raw).replace("\n", " ").replace("\t", " ")
        text = _SLACK_SPECIAL.sub("<" + _WJ, _MENTION.sub("@" + _WJ, text))
        piece = str(escape(text)) if fmt == "html" else md_escape(text) if fmt == "markdown" else text
        core = piece.strip()
        if matched and core:
            # Emphasis markers must hug the words ("**188 drones**"), spaces stay outside.
            lead, tail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()) :]
            core = f"<mark><b>{core}</b></mark>" if fmt == "html" else f"**{core}**"
            piece = f"{lead}{core}{tail}"
        parts.append(piece)
    return Markup(_SPACES.sub(" ", "".join(parts)).strip())


def _link_filter(fmt: str) -> Callable[[Any, Any], Markup]:
    def link(url: Any, label: Any = None) -> Markup:
        safe = safe_link(str(url)) if url else None
        text = clean(label) if label else ""
        if safe is None:
            return Markup("")
        if fmt == "html":
            return Markup('<a href="{}">{}</a>').format(safe, text or safe)
        if fmt == "markdown":
            target = quote(safe, safe=":/?#[]@!$&'*+,;=%-._~")
            return Markup(f"[{md_escape(text or safe)}]({target})")
        return Markup(f"{text} <{safe}>" if text else safe)

    return link


def _finalize(fmt: str) -> Callable[[Any], Any]:
    def finalize(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Markup) or fmt != "markdown":
            return value
        return md_escape(str(value))

    return finalize


def _environment(fmt: str, loader: jinja2.BaseLoader | None) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=loader,
        autoescape=fmt == "html",
        finalize=_finalize(fmt),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["link"] = _link_filter(fmt)
    return env


def hit_context(hit: Hit, item: Item | None, fmt: str) -> dict[str, Any]:
    link = safe_link(hit.link)
    return {
        "id": hit.id,
        "rule": clean(hit.rule),
        "title": clean(hit.title),
        "severity": hit.severity,
        "SEVERITY": hit.severity.upper(),
        "item": clean(hit.item_title),
        "source": clean(hit.source),
        "link": link,
        "link_dropped": bool(hit.link) and link is None,
        "published": iso(hit.published),
        "fired_at": iso(hit.fired_at),
        "value": _number(hit.value),
        "negated": hit.negated,
        "tags": [clean(t) for t in hit.tags],
        "evidence": [
            {
                "field": s.field,
                "snippet": _mark(fmt, s.pieces),
                "value": _number(s.value),
                "negated": s.negated,
            }
            for s in snippets(hit, item)
        ],
    }


@dataclass(frozen=True)
class Message:
    title: str
    body: str


class Renderer:
    """Compiles the default and configured templates once; renders messages for a target's format."""

    def __init__(self, config: Config) -> None:
        loader = jinja2.PackageLoader("watcher", "templates")
        self._envs = {fmt: _environment(fmt, loader) for fmt in FORMATS}
        self._custom: dict[tuple[str, str], jinja2.Template] = {}
        for target in config.notify:
            for which, source in (("title", target.title_template), ("body", target.body_template)):
                if source:
                    self._compile_custom(config, target, which, source)

    def _compile_custom(self, config: Config, target: NotifyConfig, which: str, source: str) -> None:
        text = source
        if "{{" not in source and "{%" not in source:
            path = Path(source).expanduser()
            path = path if path.is_absolute() else config.path.parent / path
            if path.is_file():
                text = path.read_text(encoding="utf-8")
        fmt = "text" if which == "title" else (target.format or "")
        for f in [fmt] if fmt else list(FORMATS):
            try:
                self._custom[(target.name, f"{which}:{f}")] = self._envs[f].from_string(text)
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(
                    f"{config.path}: notify {target.name!r}: {which}_template line {exc.lineno}: {exc.message}",
                    hint="templates are Jinja2; see docs/config.md for the variables",
                ) from None

    def _render(self, target: str | None, which: str, fmt: str, default: str, ctx: dict[str, Any]) -> str:
        key_fmt = "text" if which == "title" else fmt
        custom = self._custom.get((target or "", f"{which}:{key_fmt}"))
        if custom is not None:
            try:
                return custom.render(**ctx)
            except Exception as exc:  # a broken user template must not lose the alert
                log.warning("template failed target=%s which=%s error=%s; using the default", target, which, exc)
        return self._envs[key_fmt].get_template(default).render(**ctx)

    def hit(
        self, hit: Hit, item: Item | None, *, fmt: str, target: str | None = None, title_fmt: str = "text"
    ) -> Message:
        """``title_fmt`` is the body's format for services that have no title field: apprise then
        pastes the title into the body as is (``<b>{title}</b>``), so it must be escaped like the body."""
        title = self._render(target, "title", fmt, "hit.title.j2", {"hit": hit_context(hit, item, "text")})
        body = self._render(target, "body", fmt, f"hit.{fmt}.j2", {"hit": hit_context(hit, item, fmt)})
        return Message(_title(title, title_fmt), body.strip() + "\n")

    def digest(
        self, hits: Sequence[tuple[Hit, Item | None]], *, fmt: str, target: str, title_fmt: str = "text"
    ) -> Message:
        ctx = {"hits": [hit_context(h, i, fmt) for h, i in hits], "count": len(hits), "target": clean(target)}
        title = self._envs["text"].get_template("digest.title.j2").render(**ctx)
        body = self._envs[fmt].get_template(f"digest.{fmt}.j2").render(**ctx)
        return Message(_title(title, title_fmt), body.strip() + "\n")

    def notice(self, title: str, body: str, *, fmt: str, title_fmt: str = "text") -> Message:
        """An admin or test notice: our own words, but they may quote hostile names (feeds, files)."""
        ctx = {"title": clean(title), "lines": [clean(line) for line in body.splitlines()]}
        rendered = self._envs[fmt].get_template(f"notice.{fmt}.j2").render(**ctx)
        return Message(_title(clean(title), title_fmt), rendered.strip() + "\n")


def _title(text: str, fmt: str) -> str:
    text = _SPACES.sub(" ", _UNSAFE.sub("", text)).strip()
    text = text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"
    if fmt == "html":
        return str(escape(text))
    return md_escape(text) if fmt == "markdown" else text
