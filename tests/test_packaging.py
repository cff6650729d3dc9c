"""`python -m build` makes an sdist and a wheel that install and run, with their package data."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from ecosystem_fixtures import ROOT

import watcher


def _package_data() -> list[str]:
    """Every file under watcher/ that is not Python: templates, schema, py.typed."""
    return sorted(
        str(p.relative_to(ROOT)).replace(os.sep, "/")
        for p in (ROOT / "watcher").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # The real thing: an isolated build of the sdist, then of the wheel from that sdist (so a file missing
    # from the sdist breaks the wheel too).
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return out


def _one(dist: Path, pattern: str) -> Path:
    found = list(dist.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_package_data_is_in_the_wheel_and_sdist(dist: Path) -> None:
    data = _package_data()
    assert {"watcher/templates/report.html.j2", "watcher/rules/schema.json", "watcher/py.typed"} <= set(data)
    wheel = set(zipfile.ZipFile(_one(dist, "watcher-*.whl")).namelist())
    missing = [f for f in data if f not in wheel]
    assert not missing, f"not in the wheel: {missing}"
    assert "watcher/cli/docs.py" in wheel and "watcher/__main__.py" in wheel
    with tarfile.open(_one(dist, "watcher-*.tar.gz")) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", *data} <= names


def test_wheel_installs_and_runs(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # Dependencies come from this test environment (no network needed); watcher itself only from the wheel:
    # a .pth line adds a directory to sys.path after the venv's own site-packages, without running the
    # editable-install hooks that live there.
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "test-deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps", "--no-index",
         str(_one(dist, "watcher-*.whl"))],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WATCHER_CONFIG")}

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = run(str(py), "-c", "import watcher; print(watcher.__file__)")
    assert where.startswith(str(venv)), f"watcher imported from {where}, not from the installed wheel"
    assert run(str(venv / "bin" / "watcher"), "--version").strip() == f"watcher, version {watcher.__version__}"
    assert "Usage: watcher [OPTIONS] COMMAND" in run(str(py), "-m", "watcher", "--help")
    # package data is found from the installed package: the report template renders
    (tmp_path / "config.toml").write_text('[watcher]\ndatabase = "w.db"\n', encoding="utf-8")
    run(str(py), "-c", "from watcher.store import Store; Store.open('w.db').close()")
    assert "wrote r.html" in run(str(venv / "bin" / "watcher"), "--config", "config.toml", "report", "-o", "r.html")
    assert 'id="hits-chart"' in (tmp_path / "r.html").read_text(encoding="utf-8")
    # and so is the rules schema
    assert '"$schema"' in run(str(venv / "bin" / "watcher"), "rules", "schema")
