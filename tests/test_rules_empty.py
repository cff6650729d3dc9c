"""An empty rules file is a mistake to report, never "no rules": a live reload must not drop rules mid-save."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.errors import RulesError
from watcher.rules import check_rules, load_rules


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_a_problem(tmp_path: Path, text: str) -> None:
    path = tmp_path / "drones.yaml"
    path.write_text(text, encoding="utf-8")
    [problem] = check_rules([path])
    assert (problem.file, problem.line, problem.column) == (str(path), 1, 1)
    assert "empty rules file" in problem.message and "[]" in problem.message
    with pytest.raises(RulesError, match="empty rules file"):
        load_rules([path])


def test_an_explicit_empty_list_is_a_file_with_no_rules(tmp_path: Path) -> None:
    (tmp_path / "none.yaml").write_text("[]\n", encoding="utf-8")
    (tmp_path / "one.yaml").write_text("- id: kyiv\n  when: Kyiv\n", encoding="utf-8")
    assert check_rules([tmp_path]) == []
    assert [r.id for r in load_rules([tmp_path]).rules] == ["kyiv"]
