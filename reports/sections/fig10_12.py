"""Figs. 10-12: rejection (% of test digits rejected, on the difference of the two top scores, to reach 0.5 %
error), multiply-adds per recognition and variables stored -- ours, computed from our fitted models, beside the
paper's (lenet1998/comparison/fig10_12.csv), for every Fig. 9 row that has either."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pandas as pd

from lenet1998.comparison.rows import ROWS
from lenet_repro.references import get_reference

from . import comparison
from ..run.runner import Outcome
from ..verdicts import mean_sd
from .fig9 import good_runs


PAPER_FIG10_12 = Path(__file__).resolve().parents[2] / "lenet1998" / "comparison" / "fig10_12.csv"


@lru_cache(maxsize=1)
def paper_fig10_12() -> dict[str, dict]:
    """The paper's Fig. 10-12 values by Fig. 9 reference id (lenet1998/comparison/fig10_12.csv)."""
    with open(PAPER_FIG10_12, newline="") as f:
        return {r["reference"]: r for r in csv.DictReader(f)}


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


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Figs. 10-12: rejection, multiply-adds and variables, ours beside the paper's, for every row that
    has either."""
    paper = paper_fig10_12()
    rows = []
    for r in comparison.fig9_rows():
        recs = good_runs(outcomes, r.ours)
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
