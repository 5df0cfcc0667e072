"""The open choices: the other readings of what the paper leaves open or states twice, each alone on the
faithful default (same seeds and length as the ablations; test set), against the faithful row by THE CHANGE
RULE (sweeps.change_rows)."""

from __future__ import annotations

import pandas as pd

from ..run.runner import Outcome
from .sweeps import change_rows


def table(outcomes: list[Outcome], group: str, baseline_id: str) -> pd.DataFrame:
    """The group's rows against `baseline_id` (first), in plan order; the ladder keeps its step column."""
    ids = []
    for o in outcomes:
        if o.item.experiment.group == group and o.item.experiment.id not in ids + [baseline_id]:
            ids.append(o.item.experiment.id)
    if not ids:
        return pd.DataFrame()
    rows = change_rows(outcomes, [baseline_id] + ids, baseline_id)
    if rows and rows[0]["change"].startswith("0."):
        rows[0]["step"] = 0
        rows[0]["change"] = "faithful LeNet-5 (baseline)"
    df = pd.DataFrame(rows)
    return df if group == "ladder" else df.drop(columns=["step"], errors="ignore")
