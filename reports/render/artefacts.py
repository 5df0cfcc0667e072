"""The report's artefacts, in one registry (issue 20): every figure and table `lenet report` writes, by
name. `lenet report` writes them all beside REPORT.md; `lenet report --artefact NAME --to PATH` writes one
alone from the cached records (nothing is trained, REPORT.md is never touched); `lenet report --artefact
list` lists them; `lenet compare` draws the same Fig. 9.

Each artefact is one file of reports/sections/ that builds it from the records: a figure's `figure(outcomes,
path, data_root)` draws it in the report's one style (reports/render/figures.py) and writes it as PNG and
PDF; a table's `numeric(outcomes)` gives its frame and its `latex(frame)` the booktabs text
(reports/render/latex.py), and this registry writes them as CSV and LaTeX. Nothing here computes a number.

    lenet report --profile full --out reports/full --artefact fig9 --to paper/fig9.pdf
    lenet report --profile full --out reports/full --artefact table3-ladder --to paper/ladder.tex
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from lenet_repro import atomic
from lenet_repro.errors import ConfigError

from ..sections import (ablations, activations, distortions, fig6, fig9, learning_curves, misses, rbf_bitmaps, results,
                        table2, table3, textbook_curves, waterfall)
from ..stats import own_references

FIGURE_SUFFIXES = (".png", ".pdf")
TABLE_SUFFIXES = (".csv", ".tex")


@dataclass(frozen=True)
class Artefact:
    name: str
    kind: str  # "figure" (PNG + PDF) or "table" (CSV + LaTeX, or CSV only)
    what: str  # one line for the listing
    default: str  # its path under the report's folder (a figure's PNG; a table's stem)
    make: Callable  # a figure: (outcomes, path, data_root) -> its PNG or None; a table: outcomes -> its frame
    latex: Callable | None = None  # a table: frame -> booktabs text (None: CSV only)

    def build(self, outcomes, path, data_root=None, flag: str = "--out", **extra) -> Path | None:
        """Write this artefact at `path` (a figure's .png, a table's stem); the path written (a figure's PNG, a
        table's CSV) or None when the records hold nothing for it. `flag`: the option `path` came from (a path
        that cannot be written names it); `extra` goes to a figure's `figure`."""
        from .figures import writing_for

        if self.kind == "figure":
            with writing_for(flag):
                return self.make(outcomes, path, data_root, **extra)
        return write_table(self.make(outcomes), path, self.latex, flag=flag)


def write_table(df, path: Path, latex: Callable | None = None, flag: str = "--out", **latex_args) -> Path | None:
    """`df` as path.csv and, with `latex`, path.tex (`latex(df, **latex_args)`); None for an empty frame. `flag`:
    the option `path` came from."""
    if df is None or df.empty:
        return None
    path = Path(path)
    atomic.make_dirs(path.parent, flag)
    atomic.write_text(path.with_suffix(".csv"), df.to_csv(index=False), flag=flag)
    if latex is not None:
        atomic.write_text(path.with_suffix(".tex"), latex(df, **latex_args), flag=flag)
    return path.with_suffix(".csv")


def _table3(group: str) -> tuple[Callable, Callable]:
    """Table 3's frame and LaTeX for one group of the ablation study."""
    return partial(table3.numeric, group=group), partial(table3.latex, group=group)


ARTEFACTS: dict[str, Artefact] = {a.name: a for a in [
    Artefact("learning_curves", "figure", "training and test error per pass of the faithful runs (cf. Fig. 5)",
             "figures/learning_curves.png", learning_curves.figure),
    Artefact("textbook_curves", "figure", "the textbook runs per epoch beside the book's curves",
             "figures/textbook_curves.png", textbook_curves.figure),
    Artefact("rbf_bitmaps", "figure", "the RBF output prototypes (cf. Fig. 3)", "figures/rbf_bitmaps.png",
             rbf_bitmaps.figure),
    Artefact("misses", "figure", "the test digits the best faithful model misses (cf. Fig. 8)", "figures/misses.png",
             misses.figure),
    Artefact("distortions", "figure", "training digits and distorted copies (Sec. III-C)", "figures/distortions.png",
             distortions.figure),
    Artefact("activations", "figure", "the classic textbook net's feature maps on one test image",
             "figures/activations.png", activations.figure),
    Artefact("fig6", "figure", "training and test error against the training-set size (cf. Fig. 6)",
             "figures/fig6_training_set_size.png", fig6.figure),
    Artefact("fig9", "figure", "the paper's Fig. 9 and ours, each row with its 95 % interval",
             "figures/fig9_comparison.png", fig9.figure),
    Artefact("ablation_waterfall", "figure", "the gap between the textbook and the 1998 network, step by step",
             "figures/ablation_waterfall.png", waterfall.figure),
    Artefact("fig9-table", "table", "Fig. 9 as numbers: paper, ours, interval, runs, failed, verdict",
             "tables/fig9", fig9.numeric, fig9.latex),
    Artefact("table2", "table", "Table 2: the faithful LeNet-5 against the paper", "tables/table2", table2.numeric,
             table2.latex),
    *[Artefact(f"table3-{g}", "table", f"Table 3, the ablation study: {g}", f"tables/ablation-{g}", *_table3(g))
      for g in ablations.GROUPS],
    Artefact("results", "table", "one row per run (CSV only)", "results", results.frame),
    Artefact("references", "table", "our own recorded rows as references for `lenet check` (CSV only)", "references",
             own_references.rows),
]}


def listing() -> str:
    """`lenet report --artefact list`: every name, its kind and one line."""
    w = max(map(len, ARTEFACTS))
    return "\n".join(f"{a.name:<{w}}  {a.kind:<6}  {a.what}" for a in ARTEFACTS.values())


def get(name: str) -> Artefact:
    if name not in ARTEFACTS:
        raise ConfigError(f"unknown artefact {name!r}; `lenet report --artefact list` lists them "
                          f"({', '.join(ARTEFACTS)})")
    return ARTEFACTS[name]


def target(artefact: Artefact, to: str | Path) -> Path:
    """The path a `--to` names, as the builder takes it: a figure's .png, a table's stem (its .csv / .tex beside)."""
    to = Path(to)
    ok = FIGURE_SUFFIXES if artefact.kind == "figure" else TABLE_SUFFIXES
    if to.suffix and to.suffix not in ok:
        raise ConfigError(f"--to {to}: a {artefact.kind} is written as {' and '.join(ok)}; name a path ending in one "
                          f"of them, or none")
    if to.is_dir():
        raise ConfigError(f"--to {to} is a folder; name a file, e.g. {to / Path(artefact.default).name}")
    return to.with_suffix(".png") if artefact.kind == "figure" else to.with_suffix("")


def write_one(name: str, outcomes, to: str | Path, data_root=None) -> list[Path]:
    """Write artefact `name` from `outcomes` at `to`; the files written (ConfigError when there are no runs for it)."""
    a = get(name)
    path = target(a, to)
    made = a.build(outcomes, path, data_root, flag="--to")
    if made is None:
        raise ConfigError(f"artefact {name}: no runs for it in this cache; run the report (or name the --profile and "
                          f"--out whose runs hold it)")
    if a.kind == "figure":
        return [path, path.with_suffix(".pdf")]
    return [p for p in (path.with_suffix(".csv"), path.with_suffix(".tex")) if p.exists()]


def write_all(outcomes, out: Path, data_root=None) -> dict[str, Path | None]:
    """Every artefact at its default place under `out` (what `lenet report` writes beside REPORT.md)."""
    return {a.name: a.build(outcomes, Path(out) / a.default, data_root) for a in ARTEFACTS.values()}
