"""The options of the Fig. 9 rows chosen on held-out digits (the last 10,000 training digits, never the test
digits): every grid value's held-out error over its seeds, the pass counts read off each network's curve, THE
RULE's and THE STEP-SIZE RULE's choice (reports/sections/comparison.py writes both rules and the grids)."""

from __future__ import annotations

import math

import pandas as pd

from lenet1998.comparison.rows import ROWS

from . import comparison
from ..run.runner import Outcome
from ..stats import rowruns
from ..verdicts import format_p, mean_sd


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


def table(outcomes: list[Outcome]) -> pd.DataFrame:
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
