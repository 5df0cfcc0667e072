"""The README's generated blocks are current, and its first lines are the two set-up commands."""

from pathlib import Path

import pytest

from lenet_repro.errors import ConfigError
from reports.render import readme

ROOT = Path(__file__).resolve().parent.parent


def test_generated_blocks_are_current():
    text = readme.README.read_text()
    assert readme.render(text) == text, "README.md is stale: run `python -m reports.render.readme` and commit"


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
    assert err.startswith("python -m reports.render.readme: error: README.md has no") and err.count("\n") == 1


def test_our_own_references_are_current_with_the_committed_records():
    """reports/full/references.csv (`lenet check --reference ours:<id>`) is what the committed records give."""
    import pandas as pd

    from reports.stats import own_references

    committed = pd.read_csv(own_references.PACKAGED, keep_default_na=False)
    fresh = own_references.rows(readme.load_outcomes(readme.FULL))
    fresh = pd.read_csv(__import__("io").StringIO(fresh.to_csv(index=False)), keep_default_na=False)
    pd.testing.assert_frame_equal(committed, fresh, check_dtype=False)
    assert "ours:faithful/lenet5-1998" in set(committed["id"])
