"""`watcher rules check` and `watcher rules test` as users run them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    return tmp_path


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def test_check_defaults_to_rules_folder(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["rules", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: ") and "examples pass" in result.output


def test_check_defaults_to_the_config_rules(workdir: Path) -> None:
    (workdir / "mine").mkdir()
    (workdir / "mine" / "bad.yaml").write_text("- id: x\n  when: drone\n  severity: nope\n", encoding="utf-8")
    (workdir / "config.toml").write_text('[watcher]\nrules = ["mine/"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check"])
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{workdir / 'mine' / 'bad.yaml'}:3:13: severity: 'nope'")


def test_test_command_text_output_and_writes_nothing(workdir: Path) -> None:
    before = _files(workdir)
    result = CliRunner().invoke(cli, ["rules", "test", "--rules", "rules", "seeds/"])
    assert result.exit_code == 0, result.output
    assert "seeds/2024-11-26-afp-otan-ukraine.txt: drone-swarm [high] Massive drone attack value=188" in result.output
    assert "'nucléaire' (negated)" in result.output
    assert _files(workdir) == before


def test_test_command_reads_stdin_and_repeated_rules(workdir: Path) -> None:
    extra = workdir / "extra.yaml"
    extra.write_text("- id: kyiv\n  when: [Kiev, Kyiv]\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["rules", "test", "--rules", "rules/drones.yaml", "--rules", str(extra), "--format", "json", "-"],
        input="Cent quatre-vingt-huit drones ont visé Kyiv dans la nuit.\n",
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert {h["rule"]: h["value"] for h in hits} == {"drone-swarm": 188, "kyiv": None}
    assert all(h["input"] == "-" for h in hits)
    evidence = next(h for h in hits if h["rule"] == "drone-swarm")["evidence"]
    ev = next(e for e in evidence if e["field"] == "body")
    assert ev == {
        "field": "body",
        "text": "Cent quatre-vingt-huit drones",
        "start": 0,
        "end": 29,
        "value": 188,
        "negated": False,
    }


def test_test_command_with_no_hits_exits_0(workdir: Path) -> None:
    (workdir / "calm.txt").write_text("Rien à signaler.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "test", "--rules", "rules", "--format", "json", "calm.txt"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_real_process_seed_acceptance(workdir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "rules", "test", "--rules", "rules", "--format", "json", "seeds/"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    hits = {h["rule"]: h for h in json.loads(proc.stdout)}
    assert hits["drone-swarm"]["value"] == 188
    assert hits["ballistic-missile"]["value"] == 4
    assert hits["nuclear"]["negated"] is True
    assert hits["north-korean-troops"]["value"] >= 1000
    assert "Traceback" not in proc.stderr
