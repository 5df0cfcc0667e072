"""A row's runs as every table sees them: the good ones, the failed ones with their reason, and the row's
estimate -- THE FAILED-RUN RULE and THE ROW UNCERTAINTY (reports/verdicts/) applied once, here.

The failed-run rule needs each record's evaluation labels: the MNIST / Fashion-MNIST test labels (the
first `test_n` of them), or for a held-out record the training labels it was evaluated on (the `holdout`
training patterns that follow its `train_n` training patterns). They are read once per dataset and split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..verdicts import Estimate, Failure, row_estimate, split_failed


@lru_cache(maxsize=8)
def _labels(dataset: str, split: str, root: str | None) -> np.ndarray | None:
    from lenet_repro import datasets
    from lenet_repro.errors import LenetError

    try:
        return datasets.load(dataset, split, root)[1].numpy()
    except LenetError:
        return None  # no data here (a test with hand-made records): clauses 2-3 of the rule are skipped


DATA_ROOT: list[str | None] = [None]  # set by the report from --data-root (reports/report.py)


def labels_of(record: dict) -> np.ndarray | None:
    """The true labels of the digits `record` was evaluated on, in its evaluation order (None: no data)."""
    cfg, final = record.get("config") or {}, record["final"]
    if not record.get("dataset") or record.get("test_predictions_missed") is None:
        return None  # nothing to count classes with (a hand-made record)
    n = int(final["test_n"])
    holdout = cfg.get("holdout")
    if holdout:
        y = _labels(record["dataset"], "train", DATA_ROOT[0])
        if y is None:
            return None
        start = int(final.get("train_n") or ((cfg.get("train_subset") or len(y)) - holdout))
        out = y[start:start + holdout]
    else:
        y = _labels(record["dataset"], "test", DATA_ROOT[0])
        if y is None:
            return None
        out = y[:n]
    return out if len(out) == n else None


@dataclass
class RowRuns:
    good: list[dict]
    failed: list[tuple[dict, Failure]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.good) + len(self.failed)

    @property
    def estimate(self) -> Estimate | None:
        return row_estimate(self.good)

    def failed_note(self) -> str:
        """'' or e.g. '2 of 3 seeds failed (s0: it never predicts class 4; s2: ...)'."""
        if not self.failed:
            return ""
        who = "; ".join(f"s{r['seed']}: {f}" for r, f in sorted(self.failed, key=lambda x: x[0]["seed"]))
        return f"{len(self.failed)} of {self.n} seed{'s' * (self.n != 1)} failed ({who})"

    def good_by_seed(self) -> dict[int, dict]:
        return {r["seed"]: r for r in self.good}


def split(records: list[dict]) -> RowRuns:
    """THE FAILED-RUN RULE over the runs of one row (one configuration, several seeds)."""
    good, failed = split_failed(sorted(records, key=lambda r: r["seed"]), labels_of)
    return RowRuns(good, failed)


_CACHE: dict[tuple, RowRuns] = {}


def of(outcomes, exp_id: str, holdout: bool | None = None) -> RowRuns:
    """The runs of experiment `exp_id` among `outcomes` (only test-set runs with holdout=False, only held-out
    ones with True, both with None), split by THE FAILED-RUN RULE. Cached per (outcomes, id)."""
    recs = [o.record for o in outcomes if o.record and o.item.experiment.id == exp_id
            and (holdout is None or bool(o.item.holdout) == holdout)]
    key = (id(outcomes), exp_id, holdout, tuple(id(r) for r in recs))
    if key not in _CACHE:
        _CACHE[key] = split(recs)
    return _CACHE[key]
