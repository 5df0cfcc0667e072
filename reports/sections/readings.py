"""The open readings, jointly: one row per configuration of the `readings` factorial (the S2/S4 window,
the init's divisor, the subsampling's start, the coefficients' curvature), its held-out error, its pass-1
rates and the checks of the rule (reports/stats/selection.py) over every seed, and the choice; and the
pass-1 rates per parameter tensor."""

from __future__ import annotations

import math

import pandas as pd

from ..run.runner import Outcome
from ..stats import rowruns
from .common import finished, fmt_ms


def readings_rows(outcomes: list[Outcome]) -> list[dict]:
    """One row per configuration of the `readings` factorial: held-out error, pass-1 rates, the rule's checks
    (reports/stats/selection.py) over every seed."""
    from ..stats.selection import CRITERIA, verdict

    rows = []
    for exp_id in dict.fromkeys(o.item.experiment.id for o in outcomes if o.item.experiment.group == "readings"):
        runs = finished(outcomes, exp_id)
        if not runs:
            continue
        split = rowruns.of(outcomes, exp_id)
        good_ids = {id(r) for r in split.good}
        vs = [verdict(o.record) for o in runs]
        per_param: dict[str, list] = {}
        for o in runs:
            for name, (lo, hi) in ((o.record.get("sdlm") or {}).get("pass1_rates") or {}).get("per_parameter", {}).items():
                per_param.setdefault(name, []).append((lo, hi))
        pinned = sorted(n for n, v in per_param.items() if max(h for _, h in v) >= 0.0249)
        errors = [o.record["final"]["test_error"] for o in runs if id(o.record) in good_ids] or [math.nan]
        rows.append({
            "failed": split.failed_note(), "verdicts": vs,
            "id": exp_id, "label": runs[0].item.experiment.label, "seeds": len(runs),
            "heldout": sum(errors) / len(errors), "errors": errors,
            "rate_min": min(v.rate_min for v in vs if v.rate_min is not None) if any(v.rate_min for v in vs) else None,
            "rate_max": max(v.rate_max for v in vs if v.rate_max is not None) if any(v.rate_max for v in vs) else None,
            "pinned": pinned, "checks": {c: [v.checks[c] for v in vs] for c in CRITERIA},
            "running": [v.running_train for v in vs], "consistent": all(v.consistent for v in vs),
            "met": min(v.met for v in vs), "passes": runs[0].record["config"]["passes"],
        })
    return rows


def table(outcomes: list[Outcome]) -> tuple[pd.DataFrame, str]:
    """The factorial of the open readings, with the rule's verdict per configuration and the choice."""
    from ..stats.selection import CRITERIA, choose

    rows = readings_rows(outcomes)
    chosen, how = choose(rows)

    def mark(vals):
        return "/".join("-" if v is None else ("yes" if v else "no") for v in vals)

    out = []
    for r in sorted(rows, key=lambda r: (math.isnan(r["heldout"]), r["heldout"])):
        out.append({
            "readings": r["label"] + (" **(chosen)**" if chosen and r["id"] == chosen["id"] else ""),
            "seeds": r["seeds"], "passes": r["passes"],
            "held-out error %": fmt_ms(r["errors"], 2) + (f"; {r['failed']}" if r["failed"] else ""),
            "pass-1 rates": (f"{r['rate_min']:.2g} .. {r['rate_max']:.2g}" if r["rate_min"] is not None else "-"),
            "pinned at eta/mu": ", ".join(r["pinned"]) or "none",
            **{c: mark(r["checks"][c]) for c in CRITERIA},
            "on-the-fly train err % (pass 19)": "/".join("-" if v is None else f"{v:.2f}" for v in r["running"]),
            "verdict": "consistent" if r["consistent"] else f"{r['met']} of {len(CRITERIA)}",
        })
    return pd.DataFrame(out), how


def layers(outcomes: list[Outcome]) -> pd.DataFrame:
    """Pass-1 effective rates per parameter tensor for every configuration of the readings (smallest and
    largest over its seeds): where each configuration's range comes from."""
    out = []
    for r in sorted(readings_rows(outcomes), key=lambda r: (math.isnan(r["heldout"]), r["heldout"])):
        runs = finished(outcomes, r["id"])
        per: dict[str, list] = {}
        for o in runs:
            for name, (lo, hi) in ((o.record.get("sdlm") or {}).get("pass1_rates") or {}).get("per_parameter", {}).items():
                per.setdefault(name, []).append((lo, hi))
        out.append({"readings": r["label"], **{n: f"{min(v[0] for v in vs):.1e} .. {max(v[1] for v in vs):.1e}"
                                               for n, vs in per.items()}})
    return pd.DataFrame(out)
