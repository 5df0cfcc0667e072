"""What the section files share: a row's finished and crashed runs, and mean +- sd as the tables print it."""

from __future__ import annotations

import math

from ..run.runner import Outcome
from ..verdicts import mean_sd


def fmt_ms(values: list[float], digits: int = 3) -> str:
    """'mean +- sd (n=k)' of `values`; '-' for none."""
    m, sd = mean_sd(values)
    if math.isnan(m):
        return "-"
    return f"{m:.{digits}f}" + (f" +- {sd:.{digits}f}" if not math.isnan(sd) else "") + f" (n={len(values)})"


def finished(outcomes: list[Outcome], exp_id: str) -> list[Outcome]:
    """An experiment's runs that left a record."""
    return [o for o in outcomes if o.item.experiment.id == exp_id and o.record]


def crashed(outcomes: list[Outcome], exp_id: str) -> list[Outcome]:
    """An experiment's runs that left no record (crashed)."""
    return [o for o in outcomes if o.item.experiment.id == exp_id and not o.record]
