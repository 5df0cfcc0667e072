"""Regression checks of a run against a published number: `reports.check(result, reference_id)`.

    from reports import check
    v = check("runs/lenet5-1998-s0/result.json", "paper-lenet5")
    v.verdict      # "consistent", "better" or "worse"
    print(v)       # one line with the statistics

The rule, by the reference's kind (lenet_repro/data/references.csv), is `Reference.verdict` in
lenet_repro/references.py: our k misses of n test digits give a Clopper-Pearson 95 % interval, which
must overlap a published number's +- range ("paper", "single"); a "spread" of the book's builds must
contain our value itself. References `ours:<experiment id>` are this project's own recorded rows
(reports/own_references.py: mean, sd and seeds of a row of the full report, with the 95 % prediction
interval of one new run), for a user who changed the code and wants to know whether a row moved; a run
is compared only with the row of its own config.
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
from lenet_repro.references import Reference, get_reference, headline_reference

from .stats import clopper_pearson


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
        theirs = (f"{r.low:.4g}..{r.high:.4g} over {r.n_builds} builds" if r.kind == "spread" else
                  f"{r.value:.4g} +- {r.uncertainty:.4g} sd over {r.n_builds} seeds, one run within "
                  f"{r.low:.4g}..{r.high:.4g}" if r.kind == "ours" else f"{r.value:.4g} +- {r.uncertainty:.4g}")
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


def default_reference(record: dict) -> Reference | None:
    """The headline reference of a run record's recipe (`lenet check` without --reference)."""
    if record.get("family") == "comparison":  # a Fig. 9 row: the paper's number for it
        from lenet1998.comparison.rows import ROWS

        row = ROWS.get(record.get("recipe", ""))
        return get_reference(row.reference) if row else None
    if record.get("family") == "lenet1998":
        from lenet1998.published import comparable_recipe

        recipe = comparable_recipe(record.get("config", {}))
    else:
        recipe = record.get("recipe", "")
    return headline_reference(recipe)


def check(result: dict | str | os.PathLike, reference_id: str | None = None,
          references: str | os.PathLike | None = None) -> Verdict:
    """Compare one run record with one reference; raise ConfigError/RecordError on bad input.

    `reference_id` "ours:<experiment id>" is one of our own recorded rows, from `references` (a
    references.csv written by `lenet report`; default: the committed full report's)."""
    from . import own_references

    rec = result if isinstance(result, dict) else read_record(result)
    if not isinstance(rec, dict) or "final" not in rec or "dataset" not in rec:
        raise RecordError("not a lenet-repro run record (no 'final'/'dataset'); pass a result.json from `lenet train`")
    if reference_id and reference_id.startswith(own_references.PREFIX):
        own = own_references.get(reference_id, references)
        why = own.mismatch(rec)  # the row's own config and split (covers the checks below)
        if why:
            raise ConfigError(why)
        ref = own.reference
    else:
        ref = get_reference(reference_id) if reference_id else default_reference(rec)
    if ref is None:
        raise ConfigError(f"no default reference for recipe {rec.get('recipe')!r}; pass --reference ID")
    if rec.get("config", {}).get("holdout") and ref.metric.startswith("test"):
        raise ConfigError(f"this run was evaluated on a held-out part of the training set, not the test set; "
                          f"{ref.id} is a test-set number, so they cannot be compared")
    if ref.dataset != rec["dataset"]:
        raise ConfigError(f"reference {ref.id} is on {ref.dataset} but the result is on {rec['dataset']}; "
                          f"choose a reference for {rec['dataset']}")
    value, interval = _value_and_interval(rec, ref)
    return Verdict(ref.verdict(value, interval), ref, value, interval,
                   {"reference_low": ref.low, "reference_high": ref.high, "kind": ref.kind, "n": ref.n_builds,
                    "test_misses": rec["final"].get("test_misses"), "test_n": rec["final"].get("test_n")})


def check_pooled(records: list[dict], reference_id: str | None = None) -> Verdict:  # published numbers only
    """One verdict for several runs of one recipe (e.g. its seeds): their test misses pooled into one
    Clopper-Pearson interval (stats["test_misses"], stats["test_n"] are the pooled counts)."""
    k = sum(int(r["final"]["test_misses"]) for r in records)
    n = sum(int(r["final"]["test_n"]) for r in records)
    final = {"test_misses": k, "test_n": n, "test_error": 100 * k / n, "test_acc": 1 - k / n}
    return check({**records[0], "final": final}, reference_id)


def main(argv: list[str] | None = None) -> int:
    from lenet_repro.cli_util import run_cli

    p = argparse.ArgumentParser(prog="lenet check", description="Compare a run with a published number.")
    p.add_argument("result", help="a result.json written by `lenet train` (or its folder)")
    p.add_argument("--reference", default=None,
                   help="a reference id from lenet_repro/data/references.csv (default: the recipe's headline one), "
                        "or ours:<experiment id>, one of our own recorded rows (reports/full/references.csv)")
    p.add_argument("--references", default=None, metavar="CSV",
                   help="the table of our own rows to read ours:<id> from (default: the committed full report's)")
    p.add_argument("--allow-better", action="store_true", help="exit 0 for a significantly better result too")
    args = p.parse_args(argv)

    def body() -> int:
        v = check(args.result, args.reference, args.references)
        print(v)
        return 0 if v.consistent or (args.allow_better and v.verdict == "better") else 1

    return run_cli(body, prog="lenet check")


if __name__ == "__main__":
    sys.exit(main())
