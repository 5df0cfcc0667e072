"""The report's artefacts, in one registry (issue 20): every figure and table `lenet report` writes, by
name. `lenet report` writes them all beside REPORT.md; `lenet report --artefact NAME --to PATH` writes one
alone from the cached records (nothing is trained, REPORT.md is never touched); `lenet report --artefact
list` lists them; `lenet compare` draws the same Fig. 9.

A figure is written as PNG and PDF (reports/render/figures.py: one style, 200 dpi and vector), a table as CSV
and booktabs LaTeX (reports/render/latex.py); each artefact builds its frame from the records through the
section module that owns it (tables.py, comparison_report.py, ablation_report.py, fig6.py, figures.py).

    lenet report --profile full --out reports/full --artefact fig9 --to paper/fig9.pdf
    lenet report --profile full --out reports/full --artefact table3-ladder --to paper/ladder.tex
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lenet_repro import atomic
from lenet_repro.errors import ConfigError

from ..sections import ablations

FIGURE_SUFFIXES = (".png", ".pdf")
TABLE_SUFFIXES = (".csv", ".tex")


@dataclass(frozen=True)
class Artefact:
    name: str
    kind: str  # "figure" (PNG + PDF) or "table" (CSV + LaTeX, or CSV only)
    what: str  # one line for the listing
    default: str  # its path under the report's folder (a figure's PNG; a table's stem)
    build: Callable  # (outcomes, path, data_root) -> the path written (a figure's PNG, a table's CSV) or None


# ---- figures --------------------------------------------------------------------------------------------

def _learning_curves(outcomes, path, data_root):
    from . import figures

    return figures.learning_curves(outcomes, path)


def _textbook_curves(outcomes, path, data_root):
    from . import figures

    return figures.textbook_curves(outcomes, path)


def _rbf_bitmaps(outcomes, path, data_root):
    from . import figures

    return figures.rbf_bitmaps(path)


def _misses(outcomes, path, data_root):
    from lenet_repro import datasets

    from . import figures

    faithful = [o for o in outcomes if o.item.experiment.group == "faithful" and o.record]
    if not faithful:
        return None
    best = min(faithful, key=lambda o: o.record["final"]["test_error"])
    n = best.record["final"]["test_n"]
    xte, yte = datasets.load("mnist", "test", data_root)
    return figures.misses_grid(best, xte[:n], yte[:n], path)


def _distortions(outcomes, path, data_root):
    from lenet_repro import datasets

    from . import figures

    if not any(o.item.experiment.group in ("faithful", "distortion-sweep") for o in outcomes):
        return None
    xtr, _ = datasets.load("mnist", "train", data_root)
    return figures.distortion_examples(xtr[:8], path)


def _activations(outcomes, path, data_root):
    from lenet_repro import datasets

    from . import figures

    classic = [o for o in outcomes if o.item.experiment.recipe == "classic" and o.record
               and (Path(o.run_dir) / "checkpoint.pt").exists()]
    if not classic:
        return None
    xf, yf = datasets.load("fashion-mnist", "test", data_root)
    return figures.activations(Path(classic[0].run_dir) / "checkpoint.pt", xf, yf, path)


def _fig6(outcomes, path, data_root):
    from ..sections import fig6

    return fig6.figure(outcomes, path)


def _fig9(outcomes, path, data_root, extra=None):
    """`extra`: (label, summary) of a user's row, drawn last and highlighted (`lenet compare`)."""
    from ..sections import comparison_report

    return comparison_report.bar_chart(outcomes, path, extra=extra)


def _waterfall(outcomes, path, data_root):
    from ..sections import ablation_report

    return ablation_report.waterfall(outcomes, path)


# ---- tables ---------------------------------------------------------------------------------------------

def _write_table(df, path: Path, tex: str | None) -> Path | None:
    """`df` as path.csv and, with `tex`, path.tex; None for an empty frame (no runs for it)."""
    if df is None or df.empty:
        return None
    path = Path(path)
    atomic.make_dirs(path.parent, "--to")
    atomic.write_text(path.with_suffix(".csv"), df.to_csv(index=False), flag="--to")
    if tex is not None:
        atomic.write_text(path.with_suffix(".tex"), tex, flag="--to")
    return path.with_suffix(".csv")


FIG9_COLUMNS = {"classifier": "Classifier", "paper_pct": "Paper (\\%)", "ours_pct": "Ours (\\%)", "ci_low": "CI low",
                "ci_high": "CI high", "runs": "$n$", "failed": "Failed", "verdict": "Verdict"}
FIG9_CAPTION = ("The paper's Fig. 9 and ours: test error on the 10,000 MNIST test digits (95 \\% interval: seeds and "
                "shared test digits; verdict by the rule of reports/verdicts/published.py).")


def fig9_table(df, path, caption: str = FIG9_CAPTION, label: str = "tab:fig9") -> Path | None:
    """A Fig. 9 frame (comparison_report.fig9_numeric's columns, a user's row possibly added by `lenet compare`)
    as path.csv and booktabs path.tex."""
    from .latex import booktabs

    return _write_table(df, path, None if df is None or df.empty else booktabs(df, FIG9_COLUMNS, caption, label,
                                                                             text=("classifier", "verdict")))


def _fig9_table(outcomes, path, data_root):
    from ..sections import comparison_report

    return fig9_table(comparison_report.fig9_numeric(outcomes), path)


def _table2(outcomes, path, data_root):
    from ..sections import tables
    from .latex import booktabs

    df = tables.faithful_numeric(outcomes)
    cols = {"model": "Model", "seeds": "$n$", "failed": "Failed", "test_error_mean": "Error (\\%)", "test_error_sd": "sd",
            "ci_low": "CI low", "ci_high": "CI high", "paper": "Paper (\\%)", "verdict": "Verdict"}
    return _write_table(df, path, None if df.empty else booktabs(df, cols, "The faithful LeNet-5 against the paper "
                                                                 "(Table 2).", "tab:table2", text=("model", "verdict")))


def _ablation(group: str):
    def build(outcomes, path, data_root):
        from ..sections import ablation_report
        from .latex import escape

        df = ablation_report.numeric_table(outcomes, group)
        if df.empty:
            return None
        tex = ablation_report._latex(df.assign(row=df["row"].map(escape)),
                                     f"LeNet-5 ablation. {ablation_report.TITLES[group]}.", f"tab:ablation-{group}")
        return _write_table(df, path, tex)

    return build


def _results(outcomes, path, data_root):
    from ..sections import tables

    return _write_table(tables.results_frame(outcomes), path, None)


def _references(outcomes, path, data_root):
    from ..stats import own_references

    return _write_table(own_references.rows(outcomes), path, None)


ARTEFACTS: dict[str, Artefact] = {a.name: a for a in [
    Artefact("learning_curves", "figure", "training and test error per pass of the faithful runs (cf. Fig. 5)",
             "figures/learning_curves.png", _learning_curves),
    Artefact("textbook_curves", "figure", "the textbook runs per epoch beside the book's curves",
             "figures/textbook_curves.png", _textbook_curves),
    Artefact("rbf_bitmaps", "figure", "the RBF output prototypes (cf. Fig. 3)", "figures/rbf_bitmaps.png", _rbf_bitmaps),
    Artefact("misses", "figure", "the test digits the best faithful model misses (cf. Fig. 8)", "figures/misses.png",
             _misses),
    Artefact("distortions", "figure", "training digits and distorted copies (Sec. III-C)", "figures/distortions.png",
             _distortions),
    Artefact("activations", "figure", "the classic textbook net's feature maps on one test image",
             "figures/activations.png", _activations),
    Artefact("fig6", "figure", "training and test error against the training-set size (cf. Fig. 6)",
             "figures/fig6_training_set_size.png", _fig6),
    Artefact("fig9", "figure", "the paper's Fig. 9 and ours, each row with its 95 % interval",
             "figures/fig9_comparison.png", _fig9),
    Artefact("ablation_waterfall", "figure", "the gap between the textbook and the 1998 network, step by step",
             "figures/ablation_waterfall.png", _waterfall),
    Artefact("fig9-table", "table", "Fig. 9 as numbers: paper, ours, interval, runs, failed, verdict",
             "tables/fig9", _fig9_table),
    Artefact("table2", "table", "Table 2: the faithful LeNet-5 against the paper", "tables/table2", _table2),
    *[Artefact(f"table3-{g}", "table", f"Table 3, the ablation study: {g}", f"tables/ablation-{g}", _ablation(g))
      for g in ablations.GROUPS],
    Artefact("results", "table", "one row per run (CSV only)", "results", _results),
    Artefact("references", "table", "our own recorded rows as references for `lenet check` (CSV only)", "references",
             _references),
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
    made = a.build(outcomes, path, data_root)
    if made is None:
        raise ConfigError(f"artefact {name}: no runs for it in this cache; run the report (or name the --profile and "
                          f"--out whose runs hold it)")
    if a.kind == "figure":
        return [path, path.with_suffix(".pdf")]
    return [p for p in (path.with_suffix(".csv"), path.with_suffix(".tex")) if p.exists()]


def write_all(outcomes, out: Path, data_root=None) -> dict[str, Path | None]:
    """Every artefact at its default place under `out` (what `lenet report` writes beside REPORT.md)."""
    return {a.name: a.build(outcomes, Path(out) / a.default, data_root) for a in ARTEFACTS.values()}
