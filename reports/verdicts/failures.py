"""THE FAILED-RUN RULE: which runs did not train, so that no row averages them in.

A run is *failed* when any of these holds (checked in this order; the first reason is reported):

1. **diverged**: a training loss in its record (any pass or epoch, or the final one) is not finite;
2. **a class it never predicts**: one of the classes present in its evaluation digits is never the
   predicted label;
3. **a class it recalls under half the time**: the recall of some class (its digits classified as
   that class) is below `MIN_RECALL_FACTOR` x the run's own overall accuracy -- for a run at 99 %
   accuracy a class under 49.5 %, for a Fashion-MNIST run at 80 % a class under 40 % (a weak class,
   such as Fashion-MNIST's shirts, is not a failed run; a class left half-learnt is);
4. **far from its row's other seeds**: with at least `MIN_PEERS` other runs of the same row, its
   misses exceed `OUTLIER_FACTOR` x the median misses of the others *and* that median by more than
   `OUTLIER_SIGMAS` Poisson standard deviations (sqrt of the median) -- three times as many misses as the
   row's typical seed and far beyond counting noise.

A run made of parts (the record's `parts`, e.g. the boosted LeNet-4's three nets, each with its own
metrics and misses) is failed when the run itself or any of its parts is: each part is checked by 1-4
as a run of its own, its outlier clause against the same part (by name) of the row's other seeds.

A failed run stays in the records and in every per-seed listing, marked with its reason; it is never
part of a row's mean, interval, Fig. 10 value or bar, and a row says "k of n seeds failed". The rule
needs the evaluation digits' true labels (`labels`, in the record's evaluation order) for 2 and 3; the
per-digit predictions come from the record's missed digits (`test_misses_idx`,
`test_predictions_missed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

MIN_RECALL_FACTOR = 0.5
MIN_PEERS = 2
OUTLIER_FACTOR = 3.0
OUTLIER_SIGMAS = 4.0


@dataclass(frozen=True)
class Failure:
    kind: str  # diverged / never-predicts / low-recall / outlier
    reason: str  # one line for the report
    part: str | None = None  # the failed part's name (a run made of parts), None for the run itself

    def __str__(self) -> str:
        return self.reason


def _losses(record: dict) -> list[float]:
    out = [m[k] for m in record.get("metrics") or [] for k in ("train_loss",) if k in m]
    f = record.get("final") or {}
    if "train_loss" in f:
        out.append(f["train_loss"])
    return out


def class_counts(record: dict, labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(digits per class, correct per class, predicted per class) over the record's evaluation digits."""
    y = np.asarray(labels, dtype=np.int64)
    n = int(record["final"]["test_n"])
    if len(y) != n:
        raise ValueError(f"{len(y)} labels for a record evaluated on {n} digits")
    k = int(max(y.max(initial=0), max(record.get("test_predictions_missed") or [0]))) + 1
    idx = np.asarray(record.get("test_misses_idx") or [], dtype=np.int64)
    pred_missed = np.asarray(record.get("test_predictions_missed") or [], dtype=np.int64)
    per_class = np.bincount(y, minlength=k)
    missed_true = np.bincount(y[idx], minlength=k) if len(idx) else np.zeros(k, np.int64)
    correct = per_class - missed_true
    predicted = correct + (np.bincount(pred_missed, minlength=k) if len(pred_missed) else 0)
    return per_class, correct, predicted


def failure(record: dict, labels: Sequence[int] | None = None,
            peers: Sequence[dict] = ()) -> Failure | None:
    """The first reason `record` failed to train (THE FAILED-RUN RULE, this module's docstring), or None.

    `peers`: the other runs of the same row (same config, other seeds), for the outlier clause."""
    for v in _losses(record):
        if not math.isfinite(v):
            return Failure("diverged", f"its training loss became {v} (diverged)")
    if labels is not None and record.get("test_predictions_missed") is not None:
        per_class, correct, predicted = class_counts(record, labels)
        present = [c for c in range(len(per_class)) if per_class[c] > 0]
        never = [c for c in present if predicted[c] == 0]
        if never:
            return Failure("never-predicts", f"it never predicts class{'es' if len(never) > 1 else ''} "
                           f"{', '.join(map(str, never))}")
        acc = correct.sum() / per_class.sum()
        low = [(c, correct[c] / per_class[c]) for c in present if correct[c] / per_class[c] < MIN_RECALL_FACTOR * acc]
        if low:
            c, r = min(low, key=lambda x: x[1])
            return Failure("low-recall", f"it recalls class {c} on {100 * r:.1f} % of its digits, under half its "
                           f"overall accuracy ({100 * acc:.1f} %)")
    others = [int(p["final"]["test_misses"]) for p in peers
              if p is not record and p["final"].get("test_misses") is not None]
    if len(others) >= MIN_PEERS:
        med = float(np.median(others))
        k = int(record["final"]["test_misses"])
        if k > OUTLIER_FACTOR * med and k - med > OUTLIER_SIGMAS * math.sqrt(max(med, 1.0)):
            return Failure("outlier", f"it misses {k} digits, more than {OUTLIER_FACTOR:g} x the median {med:g} of "
                           f"its row's other {len(others)} seeds")
    return None


def _parts(record: dict) -> list[dict]:
    """The record's components (its `parts`), each a record of its own (its name kept), or []."""
    return list(record.get("parts") or [])


def _named(part: dict, why: Failure) -> Failure:
    return Failure(why.kind, f"{part['name']}: {why.reason}", part["name"])


def split_failed(records: Sequence[dict], labels_of) -> tuple[list[dict], list[tuple[dict, Failure]]]:
    """(the row's good records, [(failed record, why)]): THE FAILED-RUN RULE on every run of one row.

    `labels_of(record)` gives a record's evaluation labels (or None where they are not available). The
    outlier clause compares a run with the row's other runs that pass clauses 1-3, a part with the same
    part of those runs."""
    def own(r):  # clauses 1-3, the run's own first, then its parts'
        labels = labels_of(r)
        why = failure(r, labels)
        for part in _parts(r):
            if why is None and (f := failure(part, labels)) is not None:
                why = _named(part, f)
        return why

    first = [(r, own(r)) for r in records]
    sound = [r for r, f in first if f is None]
    good, failed = [], []
    for r, f in first:
        if f is None:
            f = failure(r, None, [p for p in sound if p is not r])
        for part in _parts(r) if f is None else ():
            peers = [q for p in sound if p is not r for q in _parts(p) if q["name"] == part["name"]]
            if (g := failure(part, None, peers)) is not None:
                f = _named(part, g)
                break
        (failed.append((r, f)) if f else good.append(r))
    return good, failed
