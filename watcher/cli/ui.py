"""Terminal output shared by every command: tables, JSON, CSV, progress bars.

Colour and progress bars appear only on a terminal (rich detects it and honours
``NO_COLOR``); piped output stays plain, so ``watcher hits | grep`` and scripts
see the same text every time. JSON and CSV never carry styling.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..config import Config, parse_duration
from ..models import iso, parse_iso
from ..store import Store

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Column = str | tuple[str, str]  # a key, or (key, header)
FORMATS = ("table", "json", "csv")
_KNOWN_SHOWN = 12  # rule ids listed by unknown_rule_hint; a big rule set would flood the line
_PIPE_WIDTH = 200  # piped tables: wide enough that a title is not folded into three lines

SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def console(*, err: bool = False) -> Console:
    """A console on click's current stdout/stderr (so CliRunner captures it), plain unless a TTY."""
    stream = sys.stderr if err else sys.stdout
    tty = stream.isatty()
    return Console(file=stream, highlight=False, width=None if tty else _PIPE_WIDTH, soft_wrap=not tty)


def format_option(default: str = "table", choices: Sequence[str] = FORMATS) -> Callable[[F], F]:
    """The ``--format`` option every listing command shares."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help="Output format: a table for people, json or csv for scripts.",
    )


def cell(value: Any) -> str | Text:
    """How one value reads in a table cell."""
    if value is None:
        return ""
    if isinstance(value, Text):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return iso(value) or ""
    if isinstance(value, list | tuple):
        return ", ".join(str(cell(v)) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _columns(columns: Sequence[Column]) -> list[tuple[str, str]]:
    return [(c, c) if isinstance(c, str) else c for c in columns]


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    styles: Mapping[str, Callable[[Any], str | None]] | None = None,
) -> None:
    """Print ``rows`` as a table; ``styles`` maps a key to a function giving a cell's rich style.

    On a terminal: a boxed table fitted to its width, with colour (a ``severity`` column is coloured by
    default). Piped: plain aligned columns, a header line then exactly one line per row, so ``grep``,
    ``cut`` and ``wc -l`` work on it.
    """
    cols = _columns(columns)
    styles = {"severity": SEVERITY_STYLES.get, **(styles or {})}
    out = console()
    tty = out.is_terminal
    t = Table(
        title=title if tty else None,
        header_style="bold",
        box=box.HEAVY_HEAD if tty else None,
        show_edge=tty,
        pad_edge=tty,
    )
    for _key, header in cols:
        t.add_column(Text(header), overflow="fold" if tty else "ignore", no_wrap=not tty)
    count = 0
    for row in rows:
        cells: list[Text] = []
        for key, _header in cols:
            value = cell(row.get(key))
            style_of = styles.get(key)
            style = (style_of(row.get(key)) if style_of else None) or ""
            # Always Text, never str: rich would read "[...]" and ":name:" in item text as markup and emoji.
            text = value if isinstance(value, Text) else Text(value, style=style)
            cells.append(text if tty else Text(" ".join(text.plain.split())))
        t.add_row(*cells)
        count += 1
    if not count:
        out.print(Text("(nothing)" if not title else f"{title}: (nothing)"))
    elif tty:
        out.print(t)
    else:
        if title:
            click.echo(title)
        wide = Console(width=1_000_000, color_system=None, highlight=False, file=io.StringIO())
        with wide.capture() as captured:
            wide.print(t)
        for line in captured.get().splitlines():
            click.echo(line.rstrip())


def emit(
    rows: Sequence[Mapping[str, Any]],
    fmt: str,
    columns: Sequence[Column],
    *,
    title: str | None = None,
    table_rows: Sequence[Mapping[str, Any]] | None = None,
    styles: Mapping[str, Callable[[Any], str | None]] | None = None,
) -> None:
    """Print records as ``table``, ``json`` (one array of the full records) or ``csv`` (the columns).

    ``table_rows``, when given, is what the table shows instead (highlighted text, for instance),
    one per record; JSON and CSV always print the records themselves.
    """
    if fmt == "json":
        click.echo(json.dumps(list(rows), ensure_ascii=False, indent=2, default=_json_default))
    elif fmt == "csv":
        cols = _columns(columns)
        stream = sys.stdout
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([key for key, _h in cols])
        for row in rows:
            writer.writerow([_csv_value(row.get(key)) for key, _h in cols])
    elif fmt == "table":
        table(rows if table_rows is None else table_rows, columns, title=title, styles=styles)
    else:
        raise click.BadParameter(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    if isinstance(value, datetime):
        return iso(value) or ""
    return str(value)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(err=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def progress(iterable: Iterable[T], *, total: int | None = None, description: str = "working") -> Iterator[T]:
    """Iterate with a progress bar on stderr when it is a terminal; silently otherwise."""
    with _progress() as bar:
        yield from bar.track(iterable, total=total, description=description)


@contextmanager
def progress_task(total: int, description: str = "working") -> Iterator[Callable[[int], None]]:
    """A progress bar advanced by hand: ``with progress_task(n, "polling") as advance: ... advance(1)``."""
    with _progress() as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def shorten(text: str, width: int = 90) -> str:
    """One line of at most ``width`` characters, for table cells."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def highlighted(text: str, spans: Iterable[tuple[int, int]], style: str = "bold reverse") -> Text:
    """``text`` with the given (start, end) spans styled: matched words stand out on a terminal."""
    out = Text(text)
    for start, end in spans:
        out.stylize(style, start, end)
    return out


class Since(click.ParamType):  # type: ignore[type-arg]
    """``--since``: a duration back from now (``24h``, ``7d``) or an ISO date/time (``2024-11-26``)."""

    name = "since"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.now(UTC) - parse_duration(str(value), what="--since")
        except ValueError:
            pass
        except OverflowError:  # before year 1: an error, since clamping would make `report` draw 700,000 days
            self.fail(f"{value!r} reaches back before year 1; give a shorter duration or a date", param, ctx)
        try:
            parsed = parse_iso(str(value))
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail(f"expected a duration like 24h or 7d, or a date like 2024-11-26, got {value!r}", param, ctx)
        return parsed


SINCE = Since()


def unknown_rule_hint(config: Config, store: Store, rule: str) -> str | None:
    """One line for a ``--rule`` that names nothing: no stored hit and no rule with that id.

    None when the id is known either way, or when the rules cannot be loaded (then
    we cannot tell a typo from a rule that is broken right now, and say nothing).
    The command still exits 0: an empty listing is a valid answer (``--format
    json`` still prints ``[]`` for scripts), and an exit status must not change
    with whether the rule files happen to load at that moment.
    """
    if store.execute("SELECT 1 FROM hits WHERE rule = ? LIMIT 1", (rule,)):
        return None
    from ..errors import WatcherError
    from ..rules import load_rules

    try:
        ruleset = load_rules(list(config.rules), regex_timeout=config.regex_timeout.total_seconds())
    except (WatcherError, OSError):
        return None
    known = sorted(r.id for r in ruleset.rules)
    if rule in known:
        return None
    close = difflib.get_close_matches(rule, known, n=1)
    shown = ", ".join(known[:_KNOWN_SHOWN]) + (", …" if len(known) > _KNOWN_SHOWN else "")
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"no rule with id {rule!r} (known: {shown or 'none'}){guess}"
