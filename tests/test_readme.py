"""The README's generated blocks are current, and its first lines are the two set-up commands."""

from pathlib import Path

import pytest

from lenet_repro.errors import ConfigError
from reports import readme

ROOT = Path(__file__).resolve().parent.parent


def test_generated_blocks_are_current():
    text = readme.README.read_text()
    assert readme.render(text) == text, "README.md is stale: run `python -m reports.readme` and commit"


def test_first_lines_are_the_two_commands_and_ci_runs_the_test_one():
    head = (ROOT / "README.md").read_text().splitlines()[:6]
    assert any(line.startswith("make report") for line in head)
    assert any(line.startswith("make test") for line in head)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_a_missing_block_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    with pytest.raises(ConfigError, match="README.md has no '<!-- BEGIN results -->'"):
        readme.render("no markers here\n")
    monkeypatch.setattr(readme, "README", tmp_path / "README.md")
    readme.README.write_text("no markers here\n")
    assert readme.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m reports.readme: error: README.md has no") and err.count("\n") == 1
