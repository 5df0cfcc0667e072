"""The report's Fig. 9-12 section: our numbers for the paper's comparison (reports/sections/comparison.py
says which runs those are).

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

import csv
import math
from functools import lru_cache
from pathlib import Path

import pandas as pd

from lenet1998.comparison.rows import ROWS
from lenet_repro.references import get_reference

from . import comparison
from ..stats import rowruns
from ..run.runner import Outcome
from ..verdicts import format_p, judge, mean_sd

PAPER_FIG10_12 = Path(__file__).resolve().parents[2] / "lenet1998" / "comparison" / "fig10_12.csv"


@lru_cache(maxsize=1)
def paper_fig10_12() -> dict[str, dict]:
    """The paper's Fig. 10-12 values by Fig. 9 reference id (lenet1998/comparison/fig10_12.csv)."""
    with open(PAPER_FIG10_12, newline="") as f:
        return {r["reference"]: r for r in csv.DictReader(f)}


def _runs(outcomes: list[Outcome], exp_id: str | None) -> list[dict]:
    """The good (not failed) finished test-set records of an experiment (a profile's test subset included:
    its verdict is n/a)."""
    return _row(outcomes, exp_id).good if exp_id else []


def _row(outcomes: list[Outcome], exp_id: str | None) -> rowruns.RowRuns:
    return rowruns.of(outcomes, exp_id, holdout=False) if exp_id else rowruns.RowRuns([])


def _full_test(records: list[dict]) -> bool:
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
    runs = _row(outcomes, row.ours)
    s = summary(runs.good)
    ref = get_reference(row.reference)
    if s is None:
        v = (f"all {runs.n} runs failed" if runs.failed else (row.why_not or "no finished run in this report"))
    elif not _full_test(runs.good):
        v = "n/a (test subset)"
    else:
        v = judge(ref, s["mean"], s["estimate"]).outcome
    return v, s


def _fig9_rows(outcomes: list[Outcome]):
    """(Fig. 9 row, its reference, its runs, verdict, summary) in the figure's order: what both Fig. 9 tables show."""
    for r in comparison.fig9_rows():
        v, s = row_verdict(outcomes, r)
        yield r, get_reference(r.reference), _row(outcomes, r.ours), v, s


def fig9_table(outcomes: list[Outcome]) -> pd.DataFrame:
    rows = []
    for r, ref, runs, v, s in _fig9_rows(outcomes):
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


def fig9_numeric(outcomes: list[Outcome]) -> pd.DataFrame:
    """The Fig. 9 table as numbers (for CSV and LaTeX)."""
    from ..verdicts import reference_se

    out = []
    for r, ref, runs, v, s in _fig9_rows(outcomes):
        out.append({"classifier": ref.note, "paper_pct": ref.value, "paper_se": round(reference_se(ref), 4),
                    "ours_pct": None if s is None else round(s["mean"], 4),
                    "ours_sd": None if s is None or s["n"] < 2 else round(s["sd"], 4),
                    "ci_low": None if s is None else round(s["lo"], 4),
                    "ci_high": None if s is None else round(s["hi"], 4),
                    "runs": 0 if s is None else s["n"], "failed": len(runs.failed), "verdict": v,
                    "reference": f"ours:{r.ours}" if r.ours else ""})
    return pd.DataFrame(out)


def bar_chart(outcomes: list[Outcome], path: Path, extra: tuple[str, dict] | None = None) -> Path | None:
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

    from ..render.figures import COLORS, MINOR_GRID_ALPHA, NOTE_SIZE, WIDTH, _save, interval_errs, plain_log_axis, plt, style

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
        return _save(fig, path)


def _costs(rec: dict) -> tuple[int | None, int | None]:
    """(multiply-adds per recognition, stored variables) of a row's fitted model: from the comparison record
    (counted from the fitted model when it was trained), or for LeNet-5 (the faithful records) from the
    network its config builds -- one multiply-add per connection (Sec. II-B's count) and its parameters."""
    if rec["family"] == "comparison":
        return rec["final"].get("multiply_adds"), rec["final"].get("parameters")
    if rec["family"] != "lenet1998":
        return None, None
    from dataclasses import fields

    from lenet1998.config import LeNet5Config
    from lenet1998.model import LeNet5

    known = {f.name for f in fields(LeNet5Config)}
    net = LeNet5(LeNet5Config.from_dict({k: v for k, v in rec["config"].items() if k in known}))
    return sum(c for _, c in net.layer_counts().values()), net.num_parameters()


def _ratio(ours: int | None, paper_k) -> str:
    """ours / the paper's (in thousands), flagged when they differ by more than 10 %."""
    if ours is None or not paper_k:
        return "-"
    r = ours / (float(paper_k) * 1000)
    return f"{r:.2f}" + (" (> 10 % off)" if abs(r - 1) > 0.10 else "")


def _score_of(r) -> str:
    """Fig. 10's score of a row (comparison.FIG10_SCORES)."""
    from lenet1998.comparison.options import kind_of

    if not r.ours.startswith("comparison/"):
        return comparison.FIG10_SCORES["lenet1998"]
    row = ROWS[r.ours.split("/", 1)[1]]
    kind = kind_of(row)
    if kind == "network":
        kind = ("boosting" if row.options.get("boosting") else
                f"{row.options['readout']}-readout" if "readout" in row.options else "network")
    return comparison.FIG10_SCORES[kind]


def costs_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Figs. 10-12: rejection, multiply-adds and variables, ours beside the paper's, for every row that
    has either."""
    paper = paper_fig10_12()
    rows = []
    for r in comparison.fig9_rows():
        recs = _runs(outcomes, r.ours)
        p = paper.get(r.reference, {})
        if not recs and not p:
            continue
        fam = recs[0]["family"] if recs else None
        rej = [x["final"]["reject_for_0_5"] for x in recs if fam == "comparison"]
        macs, params = _costs(recs[0]) if recs else (None, None)
        notes = [p.get("note") or "", comparison.COST_NOTES.get(r.reference, "")]
        if r.reference == "paper-fig9-dist-boosted-lenet-4" and macs:
            one = macs / 3
            notes.append(f"at the paper's {comparison.BOOSTED_NETS_PAPER:g} nets: {one * comparison.BOOSTED_NETS_PAPER / 1000:,.0f}k "
                         f"multiply-adds ({one * comparison.BOOSTED_NETS_PAPER / (float(p['multiply_adds_k']) * 1000):.2f} of the paper's)")
        row = {"classifier": get_reference(r.reference).note,
               "Fig. 10 paper %": p.get("reject_pct") or "-",
               "Fig. 10 ours %": (f"{mean_sd(rej)[0]:.1f}" if rej else "-"),
               "Fig. 11 paper (k)": p.get("multiply_adds_k") or "-",
               "Fig. 11 ours (k)": f"{macs / 1000:,.1f}" if macs is not None else "-",
               "Fig. 11 ours / paper": _ratio(macs, p.get("multiply_adds_k")),
               "Fig. 12 paper (k)": p.get("variables_k") or "-",
               "Fig. 12 ours (k)": f"{params / 1000:,.1f}" if params is not None else "-",
               "Fig. 12 ours / paper": _ratio(params, p.get("variables_k")),
               "Fig. 10 score (ours)": _score_of(r) if recs else "-",
               "note": "; ".join(n for n in notes if n)}
        rows.append(row)
    return pd.DataFrame(rows)


def budget_table(outcomes: list[Outcome]) -> tuple[pd.DataFrame, str]:
    """Wall time per run of every comparison row (held-out runs included), from the run records, beside
    issue 12's budget; and a line with the group's total."""
    by_row: dict[str, list[float]] = {}
    seen = set()
    for o in outcomes:
        if o.record is None or o.item.experiment.family != "comparison" or str(o.run_dir) in seen:
            continue
        seen.add(str(o.run_dir))
        by_row.setdefault(o.item.experiment.recipe, []).append(o.record["provenance"]["wall_seconds"] / 60)
    rows = []
    for name in ROWS:
        if name not in by_row:
            continue
        w = by_row[name]
        budget = comparison.BUDGET_MINUTES.get(name, comparison.NETWORK_BUDGET_MINUTES if ROWS[name].network
                                               else comparison.CLASSICAL_BUDGET_MINUTES)
        rows.append({"row": name, "runs": len(w), "wall min (mean)": f"{sum(w) / len(w):.1f}",
                     "wall min (longest)": f"{max(w):.1f}", "budget min": budget,
                     "within": "yes" if max(w) <= budget else "NO"})
    total = sum(sum(w) for w in by_row.values()) / 60
    line = (f"The comparison groups' {sum(len(w) for w in by_row.values())} runs took {total:.1f} h of wall time in "
            f"all (summed from their records; budget {comparison.GROUP_BUDGET_HOURS} h).") if by_row else ""
    return pd.DataFrame(rows), line


def holdout_rows(outcomes: list[Outcome]) -> list[dict]:
    """One row per held-out grid value (mean held-out error over seeds), and for every network run two
    pass-count rows read off its curve (option "passes", `at` = the run's options)."""
    out = []
    for exp_id, name, opts in comparison.holdout_experiments():
        runs = rowruns.of(outcomes, exp_id)
        recs = runs.good  # THE FAILED-RUN RULE: a failed held-out seed is named and disqualifies its value
        if not runs.n:
            continue
        opt, value = next(iter(opts.items()))  # the grid's own option (others: held, see holdout_experiments)
        if opt != "passes":
            grid = comparison.GRIDS[name][opt]
            out.append({"row": name, "option": opt, "value": value, "heldout": mean_sd([r["final"]["test_error"]
                        for r in recs])[0], "seeds": len(recs), "order": grid.index(value), "at": None,
                        "failed": runs.failed_note(), "by_seed": runs.good_by_seed(),
                        "pass1_step": _pass1_step([r for r in recs] + [r for r, _ in runs.failed])})
        if ROWS[name].network and comparison.pass_source(name, {(name, opt): value}) == opts:
            for passes in comparison.NETWORK_PASS_CHOICES:
                errs = [next((m["test_error"] for m in r["metrics"] if m["pass"] == passes), math.nan) for r in recs]
                out.append({"row": name, "option": "passes", "value": passes, "heldout": mean_sd(errs)[0],
                            "seeds": len(recs), "order": comparison.NETWORK_PASS_CHOICES[::-1].index(passes),
                            "at": opts, "failed": runs.failed_note()})
    return out


def _pass1_step(records: list[dict]) -> float | None:
    """The largest per-parameter step of pass 1 over the records (rate_max), None when none records it."""
    steps = [m["rate_max"] for r in records for m in r.get("metrics", []) if m.get("pass") == 1 and "rate_max" in m]
    return max(steps) if steps else None


def step_size_choice(ran: list[dict]) -> tuple[object | None, dict]:
    """THE STEP-SIZE RULE (reports/sections/comparison.py) on one rate grid's held-out rows (holdout_rows, every value
    run): (the chosen value or None, value -> why it is out / how it compares with the kept value)."""
    from ..stats.selection import PAPER_RATE_HIGH
    from ..verdicts import holm, paired, resolved

    why, left = {}, []
    for r in sorted(ran, key=lambda r: r["order"]):
        if r["pass1_step"] is not None and r["pass1_step"] > PAPER_RATE_HIGH:
            why[r["value"]] = f"out: pass-1 step {r['pass1_step']:.3g} > the paper's {PAPER_RATE_HIGH:g}"
        elif r["failed"]:
            why[r["value"]] = "out: a held-out seed failed"
        elif r["seeds"] < comparison.STEP_MIN_SEEDS:
            why[r["value"]] = f"out: {r['seeds']} good seeds < {comparison.STEP_MIN_SEEDS}"
        else:
            left.append(r)
    if not left:
        return None, why
    first, later = left[0], left[1:]
    tests = [paired(r["by_seed"], first["by_seed"]) for r in later]
    adj = holm([t.p if t is not None else math.nan for t in tests])
    why[first["value"]] = "kept: the first value left"
    better = []
    for r, t, p in zip(later, tests, adj):
        gain = t is not None and resolved(p) and t.diff < 0
        word = "a resolved gain" if gain else ("worse, beyond noise" if t is not None and resolved(p)
                                                else "not resolved")
        why[r["value"]] = (f"{t.diff:+.2f} points vs {first['value']} on {t.n} seeds, Holm p {format_p(p)}: "
                           f"{word}") if t else "no common seeds"
        if gain:
            better.append(r)
    if better:
        best = min(better, key=lambda r: (round(r["heldout"], 9), r["order"]))
        why[first["value"]] = f"beaten by {best['value']}"
        why[best["value"]] += " (chosen)"
        return best["value"], why
    return first["value"], why


def choices(outcomes: list[Outcome]) -> dict[tuple[str, str], object]:
    """THE RULE (reports/sections/comparison.py) on the held-out records: (row, option) -> the chosen value, for
    every grid all of whose values have run; then each network's pass count from its pass source's
    curve (20 wins ties, as the grid order says)."""
    rows = holdout_rows(outcomes)
    chosen = {}
    for key in {(r["row"], r["option"]) for r in rows if r["option"] != "passes"}:
        ran = [r for r in rows if (r["row"], r["option"]) == key]
        cands = [r for r in ran if not r["failed"] and not math.isnan(r["heldout"])]  # a failed seed disqualifies
        if len(ran) != len(comparison.GRIDS[key[0]][key[1]]):
            continue
        if key[1] in comparison.READING_OPTIONS:  # THE INPUT READING: the MNIST page's, shown beside the others
            chosen[key] = ROWS[key[0]].options[key[1]]
        elif key[1] in comparison.STEP_SIZE_OPTIONS:
            value = step_size_choice(ran)[0]
            if value is not None:
                chosen[key] = value
        elif cands:
            chosen[key] = min(cands, key=lambda r: (round(r["heldout"], 9), r["order"]))["value"]
    for name in {r["row"] for r in rows if r["option"] == "passes"}:
        src = comparison.pass_source(name, chosen)
        cands = [r for r in rows if r["row"] == name and r["option"] == "passes" and r["at"] == src
                 and not math.isnan(r["heldout"])]
        if src is not None and len(cands) == len(comparison.NETWORK_PASS_CHOICES):
            chosen[(name, "passes")] = min(cands, key=lambda r: (round(r["heldout"], 9), r["order"]))["value"]
    return chosen


def holdout_table(outcomes: list[Outcome]) -> pd.DataFrame:
    rows, chosen = holdout_rows(outcomes), choices(outcomes)
    notes = {}  # THE STEP-SIZE RULE's reason per (row, value)
    for key in {(r["row"], r["option"]) for r in rows if r["option"] in comparison.STEP_SIZE_OPTIONS}:
        ran = [r for r in rows if (r["row"], r["option"]) == key]
        if len(ran) == len(comparison.GRIDS[key[0]][key[1]]):
            notes.update({(key[0], key[1], v): w for v, w in step_size_choice(ran)[1].items()})
    for r in rows:
        if r["option"] in comparison.READING_OPTIONS:
            page = ROWS[r["row"]].options[r["option"]] == r["value"]
            notes[(r["row"], r["option"], r["value"])] = ("the MNIST page's preprocessing column (THE INPUT READING)"
                                                          if page else "shown beside the page's (not chosen)")
    out = []
    for r in sorted(rows, key=lambda r: (list(ROWS).index(r["row"]), r["option"], r["order"])):
        pick = chosen.get((r["row"], r["option"]))
        if r["option"] == "passes" and r["at"] != comparison.pass_source(r["row"], chosen):
            pick = None  # a pass curve at a grid value that was not chosen
        default = ROWS[r["row"]].options.get(r["option"])
        held = {k: v for k, v in (r["at"] or {}).items() if k != "passes"}  # the grid values the curve is at
        option = r["option"] + (f" (at {', '.join(f'{k} = {v}' for k, v in held.items())})" if held else "")
        out.append({"row": r["row"], "option": option, "value": str(r["value"]),
                    "held-out error %": "-" if math.isnan(r["heldout"]) else f"{r['heldout']:.2f}", "seeds": r["seeds"],
                    "failed seeds (disqualified)": r["failed"] or "-",
                    "largest pass-1 step": "-" if r.get("pass1_step") is None else f"{r['pass1_step']:.3g}",
                    "rule note": notes.get((r["row"], r["option"], r["value"]), "-"),
                    "chosen": "yes" if pick == r["value"] else "", "default in rows.py": "yes" if default == r["value"] else ""})
    return pd.DataFrame(out)


def failed_rows(outcomes: list[Outcome]) -> list[str]:
    """One line per Fig. 9 row with a failed run (THE FAILED-RUN RULE): every seed's error, which failed and
    why, and where each failed run stood after its first pass (a run stuck from the start)."""
    lines = []
    for r in comparison.fig9_rows():
        runs = _row(outcomes, r.ours)
        if not runs.failed:
            continue
        why = {id(x): f for x, f in runs.failed}
        per = []
        for x in sorted(runs.good + [x for x, _ in runs.failed], key=lambda x: x["seed"]):
            first = x["metrics"][0].get("test_error") if x.get("metrics") else None
            tag = (f" FAILED: {why[id(x)]}" + (f" (after pass 1: {first:.2f} %)" if first is not None else "")
                   if id(x) in why else "")
            per.append(f"s{x['seed']} {x['final']['test_error']:.2f} %{tag}")
        lines.append(f"- {get_reference(r.reference).note}: {runs.failed_note().split(' (')[0]}; per seed: "
                     + "; ".join(per) + ".")
    return lines


def disagreements(outcomes: list[Outcome]) -> list[str]:
    """One line per implemented row that THE VERDICT RULE calls higher or lower, with what was measured that
    bears on it: the held-out error over each of its option grids (no option value on the grid is tuned on
    the test digits) and published re-measurements (reports/sections/comparison.py OTHER_MEASUREMENTS)."""
    chosen = choices(outcomes)
    held = [h for h in holdout_rows(outcomes)  # a pass-count curve only at the row's chosen grid values
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
