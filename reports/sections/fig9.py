"""Fig. 9: our numbers for the paper's comparison, row by row (reports/sections/comparison.py says which runs
those are) -- the Markdown table, the numbers for CSV and LaTeX, the bar chart, the rows with failed runs and
the rows that disagree. Its docstring's body opens the report's Figs. 9-12 section; Figs. 10-12 are built in
fig10_12.py, the held-out choices in holdout.py.

- Fig. 9: every row in the figure's order -- the paper's test error, ours (mean +- sd over the row's good
  seeds for a stochastic row; the one deterministic fit otherwise), its 95 % interval (THE ROW
  UNCERTAINTY: seeds + shared test digits, or one fit's Clopper-Pearson interval) and THE VERDICT RULE
  against the paper's number with its own standard error (reports/verdicts/). A run that failed (THE
  FAILED-RUN RULE) is named in its row and left out of the mean, the interval, the bar and Fig. 10.
  Rows not reproduced say why.
- Fig. 10: % of test digits rejected (on the difference of the two top scores) to reach 0.5 % error.
- Figs. 11-12: multiply-adds per recognition and variables stored, computed from our fitted models.
- The held-out choices: every grid value's held-out error and which value THE RULE picks.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from lenet_repro.references import get_reference

from ..render import figures
from . import comparison
from ..run.runner import Outcome
from ..stats import rowruns
from ..verdicts import judge, mean_sd


def good_runs(outcomes: list[Outcome], exp_id: str | None) -> list[dict]:
    """The good (not failed) finished test-set records of an experiment (a profile's test subset included:
    its verdict is n/a)."""
    return row_runs(outcomes, exp_id).good if exp_id else []


def row_runs(outcomes: list[Outcome], exp_id: str | None) -> rowruns.RowRuns:
    """A Fig. 9 row's test-set runs (none for a row we do not run)."""
    return rowruns.of(outcomes, exp_id, holdout=False) if exp_id else rowruns.RowRuns([])


def full_test(records: list[dict]) -> bool:
    return all(r["final"]["test_n"] == 10_000 for r in records)


def summary(records: list[dict]) -> dict | None:
    """Mean, sd, 95 % interval (THE ROW UNCERTAINTY) and n of the test error of a row's good records."""
    e = rowruns.row_estimate(records) if records else None
    if e is None:
        return None
    errs = [r["final"]["test_error"] for r in records]
    m, sd = mean_sd(errs)
    return {"mean": m, "sd": sd, "lo": e.lo, "hi": e.hi, "n": len(errs), "interval": e.how, "estimate": e}


def row_verdict(outcomes: list[Outcome], row) -> tuple[str, dict | None]:
    """(verdict, summary) of one Fig. 9 row by THE VERDICT RULE; the verdict names failed seeds."""
    runs = row_runs(outcomes, row.ours)
    s = summary(runs.good)
    ref = get_reference(row.reference)
    if s is None:
        v = (f"all {runs.n} runs failed" if runs.failed else (row.why_not or "no finished run in this report"))
    elif not full_test(runs.good):
        v = "n/a (test subset)"
    else:
        v = judge(ref, s["mean"], s["estimate"]).outcome
    return v, s


def fig9_rows(outcomes: list[Outcome]):
    """(Fig. 9 row, its reference, its runs, verdict, summary) in the figure's order: what both Fig. 9 tables show."""
    for r in comparison.fig9_rows():
        v, s = row_verdict(outcomes, r)
        yield r, get_reference(r.reference), row_runs(outcomes, r.ours), v, s


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    rows = []
    for r, ref, runs, v, s in fig9_rows(outcomes):
        row = {"classifier (Fig. 9)": ref.note, "paper %": f"{ref.value:g}"}
        if s is None:
            row.update({"ours %": "-", "95 % interval": "-", "runs": runs.n, "verdict": v})
        else:
            ms = f"{s['mean']:.2f} +- {s['sd']:.2f}" if s["n"] > 1 else f"{s['mean']:.2f}"
            row.update({"ours %": ms, "95 % interval": f"{s['lo']:.2f} .. {s['hi']:.2f} ({s['interval']})",
                        "runs": s["n"] if not runs.failed else f"{s['n']} good of {runs.n}", "verdict": v})
        row["failed runs"] = runs.failed_note() or "-"
        row["ours: reference id"] = f"ours:{r.ours}" if r.ours else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def numeric(outcomes: list[Outcome]) -> pd.DataFrame:
    """The Fig. 9 table as numbers (for CSV and LaTeX)."""
    from ..verdicts import reference_se

    out = []
    for r, ref, runs, v, s in fig9_rows(outcomes):
        out.append({"classifier": ref.note, "paper_pct": ref.value, "paper_se": round(reference_se(ref), 4),
                    "ours_pct": None if s is None else round(s["mean"], 4),
                    "ours_sd": None if s is None or s["n"] < 2 else round(s["sd"], 4),
                    "ci_low": None if s is None else round(s["lo"], 4),
                    "ci_high": None if s is None else round(s["hi"], 4),
                    "runs": 0 if s is None else s["n"], "failed": len(runs.failed), "verdict": v,
                    "reference": f"ours:{r.ours}" if r.ours else ""})
    return pd.DataFrame(out)


LATEX_COLUMNS = {"classifier": "Classifier", "paper_pct": "Paper (\\%)", "ours_pct": "Ours (\\%)", "ci_low": "CI low",
                "ci_high": "CI high", "runs": "$n$", "failed": "Failed", "verdict": "Verdict"}


CAPTION = ("The paper's Fig. 9 and ours: test error on the 10,000 MNIST test digits (95 \\% interval: seeds and "
                "shared test digits; verdict by the rule of reports/verdicts/published.py).")


def latex(df: pd.DataFrame, caption: str = CAPTION, label: str = "tab:fig9") -> str:
    """A Fig. 9 frame (`numeric`'s columns; `lenet compare` adds the user's row) as a booktabs table."""
    from ..render.latex import booktabs

    return booktabs(df, LATEX_COLUMNS, caption, label, text=("classifier", "verdict"))


def figure(outcomes: list[Outcome], path: Path, data_root=None, extra: tuple[str, dict] | None = None) -> Path | None:
    """Paper vs ours per Fig. 9 row (ours with its 95 % interval), in the figure's order; a row without a
    measurement says why in its own line (small, grey). `extra`: (label, summary) of a user's row
    (`lenet compare`), drawn last, highlighted, without a paper bar."""
    data = []
    for r in comparison.fig9_rows():
        why, s = row_verdict(outcomes, r)  # good seeds only: a failed run never sets a bar; no bar: `why` says why
        data.append((get_reference(r.reference).note, get_reference(r.reference).value, s, why))
    if not any(s for _, _, s, _ in data) and extra is None:
        return None
    from matplotlib.transforms import blended_transform_factory

    from ..render.figures import COLORS, MINOR_GRID_ALPHA, NOTE_SIZE, WIDTH, interval_errs, plain_log_axis, plt, style

    with style():
        fig, ax = plt.subplots(figsize=(WIDTH, 0.21 * len(data) + 0.9), layout="constrained")
        y = list(range(len(data)))[::-1]
        ax.barh([v + 0.2 for v in y], [p for _, p, _, _ in data], height=0.4, color=COLORS["paper"],
                label="the paper")
        if extra is not None:  # the user's row, below the paper's last one
            yy, (_, es) = -1.2, extra
            ax.barh([yy], [es["mean"]], height=0.5, color=COLORS["worse"],
                    xerr=interval_errs([(es["mean"], es["lo"], es["hi"])]),
                    error_kw={"elinewidth": 0.8, "capthick": 0.8}, capsize=2, label="yours (mean, 95 % interval)")
        ours = [(yy, s) for yy, (_, _, s, _) in zip(y, data) if s]
        ax.barh([yy - 0.2 for yy, _ in ours], [s["mean"] for _, s in ours], height=0.4, color=COLORS["ours"],
                xerr=interval_errs([(s["mean"], s["lo"], s["hi"]) for _, s in ours]),
                error_kw={"elinewidth": 0.8, "capthick": 0.8}, capsize=2, label="ours (mean, 95 % interval)")
        row_x = blended_transform_factory(ax.transAxes, ax.transData)  # x in the axes, y at the row
        for yy, (_, _, s, why) in zip(y, data):
            if s is None:  # where our bar would be: the reason's first clause ("not implemented yet")
                ax.text(0.006, yy - 0.2, why.split(":")[0], transform=row_x, ha="left", va="center",
                        fontsize=NOTE_SIZE, color=COLORS["note"], style="italic")
        ticks, labels = y, [label for label, _, _, _ in data]
        if extra is not None:
            ticks, labels = [*y, -1.2], [*labels, extra[0]]
        ax.set_yticks(ticks, labels)
        if extra is not None:
            ax.get_yticklabels()[-1].set_fontweight("bold")
        ax.set_ylim(-0.7 if extra is None else -1.8, len(data) - 0.3)
        ax.set_xscale("log")
        plain_log_axis(ax.xaxis)
        ax.set_xlabel("test error % (log scale)")
        ax.legend(loc="lower right")
        ax.grid(True, axis="x", which="major")
        ax.grid(True, axis="x", which="minor", alpha=MINOR_GRID_ALPHA)
        return figures.save(fig, path)


def failed_rows(outcomes: list[Outcome]) -> list[str]:
    """One line per Fig. 9 row with a failed run (THE FAILED-RUN RULE): every seed's error, which failed and
    why, and where each failed run (or failed part: a boosted net) stood after its first pass (a run stuck
    from the start); for a failed part that records its training set per class (`train_per_class`: the
    boosted nets 2 and 3), those counts -- what it could learn."""
    lines = []
    for r in comparison.fig9_rows():
        runs = row_runs(outcomes, r.ours)
        if not runs.failed:
            continue
        why = {id(x): f for x, f in runs.failed}
        per = []
        for x in sorted(runs.good + [x for x, _ in runs.failed], key=lambda x: x["seed"]):
            tag = ""
            if id(x) in why:
                f = why[id(x)]
                part = next((q for q in x.get("parts") or [] if q["name"] == f.part), None) if f.part else None
                src = part or x
                first = src["metrics"][0].get("test_error") if src.get("metrics") else None
                tag = f" FAILED: {f}" + (f" ({f.part + ' ' if part else ''}after pass 1: {first:.2f} %)"
                                         if first is not None else "")
                counts = part.get("train_per_class") if part else None
                if counts:
                    tag += (f"; {f.part} trained on {sum(counts):,} patterns, per class 0-9: "
                            + " / ".join(f"{c:,}" for c in counts))
            per.append(f"s{x['seed']} {x['final']['test_error']:.2f} %{tag}")
        lines.append(f"- {get_reference(r.reference).note}: {runs.failed_note().split(' (')[0]}; per seed: "
                     + "; ".join(per) + ".")
    return lines


def disagreements(outcomes: list[Outcome]) -> list[str]:
    """One line per implemented row that THE VERDICT RULE calls higher or lower, with what was measured that
    bears on it: the held-out error over each of its option grids (no option value on the grid is tuned on
    the test digits) and published re-measurements (reports/sections/comparison.py OTHER_MEASUREMENTS)."""
    from . import holdout

    chosen = holdout.choices(outcomes)
    held = [h for h in holdout.holdout_rows(outcomes)  # a pass-count curve only at the row's chosen grid values
            if h["option"] != "passes" or h["at"] == comparison.pass_source(h["row"], chosen)]
    lines = []
    for r in comparison.fig9_rows():
        v, s = row_verdict(outcomes, r)
        if s is None or v not in ("higher", "lower"):
            continue
        ref = get_reference(r.reference)
        name = r.ours.split("/", 1)[1]
        why = []
        for opt in sorted({h["option"] for h in held if h["row"] == name}):
            hs = [h for h in held if h["row"] == name and h["option"] == opt and not math.isnan(h["heldout"])]
            if hs:
                lo, hi = min(hs, key=lambda h: h["heldout"]), max(hs, key=lambda h: h["heldout"])
                why.append(f"on the held-out digits its {opt} grid spans {lo['heldout']:.2f} % ({opt} = {lo['value']}) "
                           f"to {hi['heldout']:.2f} % ({opt} = {hi['value']})")
        if r.reference in comparison.OTHER_MEASUREMENTS:
            why.append(comparison.OTHER_MEASUREMENTS[r.reference])
        lines.append(f"- {ref.note}: ours {s['mean']:.2f} % vs the paper's {ref.value:g} % ({v})"
                     + (f"; {'; '.join(why)}" if why else "") + ".")
    return lines
