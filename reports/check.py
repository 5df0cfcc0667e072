"""Regression checks of a run against a published number: `reports.check(result, reference_id)`.

    from reports import check
    v = check("runs/lenet5-1998-s0/result.json", "paper-lenet5")
    v.verdict      # "consistent", "better" or "worse"
    print(v)       # one line with the statistics

Rules, by the reference's kind (lenet_repro/data/references.csv):
- "paper" (a published error rate with its quoted uncertainty u, e.g. 0.95 +- 0.1 %): our k misses of
  n give a Clopper-Pearson 95 % interval; consistent if it overlaps [value - u, value + u], better if it
  lies entirely below (for errors; above for accuracies), worse otherwise.
- "spread" (the book's own builds, min..max): consistent if our value lies inside the range.
- "single" (one printed build): value +- the stated tolerance, compared like "paper".
`lenet check <result.json> [--reference ID]` prints the verdict and exits 1 unless it is consistent
(`--allow-better` also accepts "better").
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.records import read_record
from lenet_repro.references import Reference, default_reference, get_reference

from .stats import clopper_pearson

LOWER_IS_BETTER = {"test_error": True, "train_error": True, "train_loss": True, "test_acc": False,
                   "train_acc": False}


@dataclass(frozen=True)
class Verdict:
    verdict: str  # consistent / better / worse
    reference: Reference
    value: float  # our value, in the reference's unit
    interval: tuple[float, float] | None  # our 95 % interval, when the metric is a rate over test digits
    stats: dict = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return self.verdict == "consistent"

    def __str__(self) -> str:
        r = self.reference
        ours = f"{self.value:.4g}"
        if self.interval:
            ours += f" (95% CI {self.interval[0]:.4g}-{self.interval[1]:.4g})"
        theirs = (f"{r.value:.4g} +- {r.uncertainty:.4g}" if r.kind != "spread"
                  else f"{r.low:.4g}..{r.high:.4g} over {r.n_builds} builds")
        return f"{self.verdict}: {r.metric} {ours} vs {r.id} {theirs} [{r.source}]"


def _value_and_interval(result: dict, ref: Reference):
    final = result["final"]
    m = ref.metric
    if m not in final:
        raise RecordError(f"the result has no final {m!r} to compare with {ref.id}; it records "
                          f"{sorted(k for k in final if not k.startswith('_'))}")
    value = float(final[m])
    interval = None
    if m in ("test_error", "test_acc") and "test_misses" in final and "test_n" in final:
        lo, hi = clopper_pearson(int(final["test_misses"]), int(final["test_n"]))
        interval = (100 * lo, 100 * hi) if m == "test_error" else (1 - hi, 1 - lo)
    return value, interval


def check(result: dict | str | os.PathLike, reference_id: str | None = None) -> Verdict:
    """Compare one run record with one reference; raise ConfigError/RecordError on bad input."""
    rec = result if isinstance(result, dict) else read_record(result)
    if not isinstance(rec, dict) or "final" not in rec or "dataset" not in rec:
        raise RecordError("not a lenet-repro run record (no 'final'/'dataset'); pass a result.json from `lenet train`")
    ref_id = reference_id or default_reference(rec)
    if ref_id is None:
        raise ConfigError(f"no default reference for recipe {rec.get('recipe')!r}; pass --reference ID")
    ref = get_reference(ref_id)
    if rec.get("config", {}).get("holdout") and ref.metric.startswith("test"):
        raise ConfigError(f"this run was evaluated on a held-out part of the training set, not the test set; "
                          f"{ref.id} is a test-set number, so they cannot be compared")
    if ref.dataset != rec["dataset"]:
        raise ConfigError(f"reference {ref.id} is on {ref.dataset} but the result is on {rec['dataset']}; "
                          f"choose a reference for {rec['dataset']}")
    value, interval = _value_and_interval(rec, ref)
    lower_better = LOWER_IS_BETTER[ref.metric]
    if ref.kind == "spread":
        lo, hi = value, value
    else:
        lo, hi = interval if interval else (value, value)
    if hi < ref.low:
        verdict = "better" if lower_better else "worse"
    elif lo > ref.high:
        verdict = "worse" if lower_better else "better"
    else:
        verdict = "consistent"
    return Verdict(verdict, ref, value, interval,
                   {"reference_low": ref.low, "reference_high": ref.high, "kind": ref.kind,
                    "test_misses": rec["final"].get("test_misses"), "test_n": rec["final"].get("test_n")})


def main(argv: list[str] | None = None) -> int:
    from lenet_repro.cli_util import run_cli

    p = argparse.ArgumentParser(prog="lenet check", description="Compare a run with a published number.")
    p.add_argument("result", help="a result.json written by `lenet train` (or its folder)")
    p.add_argument("--reference", default=None,
                   help="a reference id from lenet_repro/data/references.csv (default: the recipe's headline one)")
    p.add_argument("--allow-better", action="store_true", help="exit 0 for a significantly better result too")
    args = p.parse_args(argv)

    def body() -> int:
        v = check(args.result, args.reference)
        print(v)
        return 0 if v.consistent or (args.allow_better and v.verdict == "better") else 1

    return run_cli(body, prog="lenet check")


if __name__ == "__main__":
    sys.exit(main())
