"""config.toml is a contract: the documented keys work as written, and every mistake is one clear line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from helpers import REPO, Project

from watcher.config import load_config, parse_duration, parse_size
from watcher.errors import ConfigError


def test_bundled_config_polls_only_the_seed_folder() -> None:
    config = load_config(REPO / "config.toml")
    assert [s.name for s in config.sources] == ["seed"]
    assert config.sources[0].path == REPO / "seeds"
    assert config.database == REPO / "var" / "watcher.db"
    assert config.notify[0].url == "console://"


def test_issue_contract_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "s3cret")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        """
[watcher]
database = "var/watcher.db"
rules = ["rules/"]
interval = "5m"

[[source]]
name = "seed"
path = "seeds/"

[[source]]
name = "lemonde-international"
url = "https://www.lemonde.fr/international/rss_full.xml"
interval = "2m"

[[notify]]
url = "json://${HOOK_TOKEN}@localhost/hook"
tags = ["all"]
""",
        encoding="utf-8",
    )
    config = load_config(cfg)
    assert config.database == tmp_path / "var" / "watcher.db"
    assert config.rules == (tmp_path / "rules",)
    assert config.interval == timedelta(minutes=5)
    seed, lemonde = config.sources
    assert seed.kind == "path" and seed.path == tmp_path / "seeds" and seed.interval == timedelta(minutes=5)
    assert lemonde.kind == "http" and lemonde.interval == timedelta(minutes=2)
    assert config.notify[0].url == "json://s3cret@localhost/hook"
    assert config.notify[0].tags == ("all",)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[watcher]\nintreval = "5m"\n', "unknown key 'intreval' in [watcher] (did you mean 'interval'?)"),
        ('[[source]]\nname = "a"\npth = "x/"\n', "unknown key 'pth' in [source #1] (did you mean 'path'?)"),
        ('[[source]]\nname = "a"\n', "source 'a' needs exactly one of 'url'"),
        ('[[source]]\nname = "a"\nurl = "ftp://x"\n', "url must start with http:// or https://"),
        ('[watcher]\ninterval = "5 minutes"\n', "watcher.interval: expected a duration like '30s'"),
        ('[[notify]]\nurl = "json://x"\ntags = "a"\ndigest = "soon"\n', "notify #1.digest: expected a duration"),
        ('[[notify]]\nurl = "json://${NOPE_NOT_SET}@x"\n', "environment variable NOPE_NOT_SET is not set"),
        ("[watcher\n", "invalid TOML"),
        ('[sources]\nname = "x"\n', "unknown key 'sources' in [top level] (did you mean 'source'?)"),
    ],
)
def test_mistakes_are_one_clear_line(tmp_path: Path, toml: str, expected: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert str(cfg) in message


def test_cli_reports_bad_config_without_traceback(project: Project) -> None:
    project.config.write_text('[watcher]\nintreval = "5m"\n', encoding="utf-8")
    result = project.invoke("sources")
    assert result.exit_code == 2
    assert "unknown key 'intreval'" in result.output
    assert "Traceback" not in result.output


def test_missing_config_file_is_named(tmp_path: Path, invoke) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.toml"
    result = invoke("--config", str(missing), "sources")
    assert result.exit_code == 2
    assert f"config file not found: {missing}" in result.output


def test_config_found_through_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text('[[source]]\nname = "only-here"\npath = "drop/"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no ./config.toml here
    monkeypatch.setenv("WATCHER_CONFIG", str(cfg))
    result = invoke("sources", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "only-here" in result.output


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("6h", 21600), ("2d", 172800), ("1w", 604800), (45, 45)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_sizes() -> None:
    assert parse_size("15MiB") == 15 * 2**20
    assert parse_size("500KB") == 500_000
    with pytest.raises(ValueError, match="expected a size"):
        parse_size("lots")
