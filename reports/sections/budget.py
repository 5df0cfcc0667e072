"""Time per run against the budget: the wall time of every comparison row's runs (held-out runs included), from
the run records, beside issue 12's budget (reports/sections/comparison.py BUDGET_MINUTES), and the groups'
total."""

from __future__ import annotations

import pandas as pd

from lenet1998.comparison.rows import ROWS

from . import comparison
from ..run.runner import Outcome


def table(outcomes: list[Outcome]) -> tuple[pd.DataFrame, str]:
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
