"""A self-documenting CLI (issue 19): `lenet train --help` lists every recipe and Fig. 9 row, each
trainer's --help gives its options with their choices, defaults and reasons (derived from the code
that defines them: lenet1998/config.py, lenet1998/comparison/options.py), descriptions are whole
sentences, a closed pipe ends every command quietly, and the layering of the constants and lists.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from lenet1998.comparison import options
from lenet1998.comparison.rows import ROWS
from lenet1998.config import CHOICES, LeNet5Config, field_notes
from lenet1998.recipes import LENET1998_RECIPES, RECIPE_DESCRIPTIONS
from modern.recipes import RECIPES
from reports.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _flat(text: str) -> str:
    """Whitespace removed: argparse wraps help lines (at hyphens too)."""
    return "".join(text.split())


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_lenet_train_help_lists_every_recipe_and_row_with_a_line(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
    names = [*RECIPES, *LENET1998_RECIPES, *ROWS]
    assert len(names) == 36 and set(names) <= set(lines), set(names) - set(lines)
    for n in names:
        assert len(lines[n].split(None, 1)[1]) > 20, lines[n]  # a description, not just the name
    assert RECIPES["djl"].title in lines["djl"]
    assert RECIPE_DESCRIPTIONS["lenet5-lush-demo"] in lines["lenet5-lush-demo"]
    assert '"[16x16] tangent distance"' in lines["tangent-distance"] and "the paper: 1.1 %" in lines["tangent-distance"]


def test_lenet_help_points_at_the_train_listing(capsys):
    assert main(["--help"]) == 0
    assert "`lenet train --help` lists them all" in capsys.readouterr().out


def test_lenet_train_without_a_recipe_and_with_an_unknown_one(capsys):
    assert main(["train"]) == 2
    assert "usage: lenet train <recipe>" in capsys.readouterr().err
    assert main(["train", "lenet9"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown recipe 'lenet9'" in err[0]
    assert all(n in err[0] for n in [*RECIPES, *LENET1998_RECIPES, *ROWS])


def test_every_config_field_has_its_reason_read_from_config_py():
    notes = field_notes()
    assert set(notes) == {f.name for f in fields(LeNet5Config)}
    assert all(notes.values())
    # the trailing comment, its aligned continuation lines, and the block comment above a group of fields
    assert notes["map_j"].startswith("ASSUMED: Eq. 9's positive constant j") and "0.1 is folklore" in notes["map_j"]
    assert "The four ranges are ASSUMED" in notes["shear_range"] and "The four ranges" not in notes["distortion_copies"]
    assert notes["passes"] == '"20 passes through the training set"'


def test_lenet5_help_gives_each_paper_option_its_choices_default_and_reason(capsys):
    out = _flat(_help(capsys, "train", "lenet5-1998"))
    for f in fields(LeNet5Config):
        flag = "--" + f.name.replace("_", "-")
        assert _flat(flag) in out, flag
        assert _flat(field_notes()[f.name]) in out, f.name  # the reason (argparse's %% shown as %)
        if f.name in CHOICES:
            assert _flat("{" + ",".join(CHOICES[f.name]) + "}") in out, f.name
    assert _flat("default average (lenet5-lush-demo: sum)") in out  # a default per recipe where they differ
    assert _flat("default 84 (lenet5-lush-demo: 10)") in out
    assert _flat("default false (lenet5-1998-distortions: true)") in out
    assert "(default:None)" not in out  # no meaningless default for an unset flag
    for n, d in RECIPE_DESCRIPTIONS.items():
        assert _flat(d) in out, n


@pytest.mark.parametrize("row", list(ROWS))
def test_a_rows_help_lists_its_options_with_types_ranges_and_defaults(capsys, row):
    out = _help(capsys, "train", row).split("its options (--option KEY=VALUE")[1]  # the epilog
    r = ROWS[row]
    for key, spec in options.specs_of(r).items():
        line = next((ln for ln in out.splitlines() if ln.startswith(f"  {key}=")), None)
        assert line is not None, (row, key, out[-800:])
        assert line.strip().startswith(f"{key}={options._show(r.options[key])}  ({spec.type.__name__}; ")
        assert spec.allowed(r.options[key]) in line and spec.meaning in line


def test_help_descriptions_are_whole_sentences(capsys):
    import lenet1998.comparison.train as comparison
    import lenet1998.train as faithful
    import modern.train as textbook

    for mod in (comparison, faithful, textbook):
        d = mod.build_parser().description
        assert d.endswith("."), (mod.__name__, d)
    assert "and the number of stored variables of Fig. 12." in comparison.build_parser().description


def test_run_cli_ends_quietly_on_a_broken_pipe(capsys):
    from lenet_repro.cli_util import EXIT_BROKEN_PIPE, run_cli

    def body():
        raise BrokenPipeError(32, "Broken pipe")

    assert run_cli(body, prog="lenet report") == EXIT_BROKEN_PIPE == 141
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", [["report", "--profile", "full", "--dry-run"], ["train", "--help"],
                                  ["train", "lenet5-1998", "--help"]])
def test_a_reader_that_goes_away_ends_every_command_quietly(argv):
    """`lenet ... | head -1`: the reader is gone; no message, exit 0 or 141 (SIGPIPE). Its end of the pipe
    is closed before the command starts, so that every write fails (a reader that left after a line would
    race with output small enough to fit the pipe's buffer)."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-c", "import sys; from reports.cli import main; sys.exit(main())",
                               *argv], stdout=w, stderr=subprocess.PIPE, cwd=ROOT, timeout=120)
    finally:
        os.close(w)
    assert proc.returncode in (0, 141) and proc.stderr.decode() == "", proc.stderr.decode()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_modern_never_imports_lenet1998():
    wrong = {str(p): sorted(i for i in _imports(p) if i.split(".")[0] == "lenet1998")
             for p in (ROOT / "modern").rglob("*.py")}
    assert not {k: v for k, v in wrong.items() if v}


def test_the_warp_numerics_constant_has_one_home_and_no_cycle():
    from lenet1998 import distortions, warp_numerics
    from lenet1998.fast import build

    assert distortions.WARP_NUMERICS is warp_numerics.WARP_NUMERICS
    assert f"w{warp_numerics.WARP_NUMERICS}-" in build.numeric_build_id()
    assert not any("distortions" in i for i in _imports(ROOT / "lenet1998" / "fast" / "build.py"))
    assert _imports(ROOT / "lenet1998" / "warp_numerics.py") == set()
    assert "WARP_NUMERICS = " not in (ROOT / "lenet1998" / "distortions.py").read_text()
