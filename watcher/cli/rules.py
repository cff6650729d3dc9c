"""``watcher rules``: check rule files, try them on inputs, print the JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from ..errors import ConfigError, RulesError, WatcherError
from ..models import Hit
from ..rules import check_rules, load_rules, rule_files, schema
from .main import Context, cli


@cli.group("rules")
def rules_group() -> None:
    """Check, try and describe alert rules.

    \b
    Example:
      watcher rules check rules/
      watcher rules test --rules rules/ seeds/
    """


def _default_paths(ctx: click.Context) -> list[Path]:
    obj = ctx.find_object(Context)
    if obj is not None:
        try:
            return list(obj.config.rules)
        except ConfigError:
            if obj.config_path:
                raise
    return [Path("rules")]


@rules_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--no-examples", is_flag=True, help="Validate only; do not run the rules' examples.")
@click.pass_context
def check_cmd(ctx: click.Context, paths: tuple[Path, ...], no_examples: bool) -> None:
    """Validate rule files and run their examples.

    PATHS are rule files or folders (default: the config's rules, else rules/).
    Every problem is printed as file:line:column: message; the exit status is 2
    when there is any.

    \b
    Example:
      watcher rules check
      watcher rules check rules/ extra/ukraine.yaml
    """
    targets = list(paths) or _default_paths(ctx)
    problems = check_rules(targets, run_examples=not no_examples)
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found", err=True)
        ctx.exit(2)
    rs = load_rules(targets)
    files = len(rule_files(targets))
    examples = "" if no_examples else ", examples pass"
    n = len(rs)
    click.echo(f"OK: {n} rule{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''}{examples}")


@rules_group.command("test")
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="A rules file or a folder of them (repeatable).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("inputs", nargs=-1, required=True)
@click.pass_context
def test_cmd(ctx: click.Context, rule_paths: tuple[Path, ...], fmt: str, inputs: tuple[str, ...]) -> None:
    """Run rules over files without storing or notifying anything.

    INPUT is a file (text or Markdown dispatch, RSS/Atom, NewsML-G2, NITF), a
    folder of such files, or - for plain text on standard input. Exit status 0
    after a run (hits or not), 2 when a rules file is invalid.

    \b
    Example:
      watcher rules test --rules rules/ seeds/
      watcher rules test --rules rules/drones.yaml --format json dispatch.txt
      echo "188 drones ont frappé Kiev" | watcher rules test --rules rules/ -
    """
    from ..sources import read_inputs

    try:
        rs = load_rules(list(rule_paths))
    except RulesError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        ctx.exit(2)
    now = datetime.now(UTC)
    hits: list[dict[str, object]] = []
    items = 0
    try:
        for label, item in read_inputs(list(inputs)):
            items += 1
            for m in rs.match(item):
                hit = Hit.from_match(rs.get(m.rule_id), item, m, now).to_dict()
                hits.append({"rule": m.rule_id, "input": label, **hit})
    except WatcherError:
        raise
    if fmt == "json":
        click.echo(json.dumps(hits, ensure_ascii=False, indent=2))
        return
    for h in hits:
        value = "" if h["value"] is None else f" value={h['value']}"
        neg = " (negated)" if h["negated"] else ""
        click.echo(f"{h['input']}: {h['rule']} [{h['severity']}] {h['title']}{value}{neg}")
        for e in h["evidence"]:  # type: ignore[attr-defined]
            ev_value = "" if e["value"] is None else f" = {e['value']}"
            ev_neg = " (negated)" if e["negated"] else ""
            click.echo(f"    {e['field']} {e['start']}-{e['end']}: {e['text']!r}{ev_value}{ev_neg}")
    click.echo(f"{len(hits)} hit{'s' if len(hits) != 1 else ''} on {items} item{'s' if items != 1 else ''}", err=True)


@rules_group.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of rule files (for editors and CI).

    \b
    Example:
      watcher rules schema > rules.schema.json
    """
    click.echo(json.dumps(schema(), indent=2, ensure_ascii=False))
