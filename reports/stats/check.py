"""Regression checks of a run against a published number: `reports.stats.check(result, reference_id)`.

    from lenet_repro import check        # (or `from reports import check`)
    v = check("runs/lenet5-1998-s0/result.json", "paper-lenet5")
    v.verdict      # "consistent", "higher", "lower" or "inconclusive"
    print(v)       # one line with the statistics

The rule is THE VERDICT RULE (reports/verdicts/published.py): our k misses of n test digits (one fit:
binomial error) against the published number with its own standard error (its quoted uncertainty, at
least its binomial error on its test set); "consistent" only when the 95 % interval of the difference
contains 0 and is narrow enough to tell, "inconclusive" when it is too wide. A "spread" of the book's
builds must contain our value itself. References `ours:<experiment id>` are this project's own recorded
rows (reports/stats/own_references.py: the 95 % prediction interval of one new run of that row); a run is
compared only with the row of its own config, and with a published number only of its own row.

`lenet check <result.json> [--reference ID]` prints the verdict and, for a published error rate, the
window a single run on the whole test set must fall in to be called consistent. Exit codes:
0 consistent, 1 differs (higher or lower; `--allow-better` accepts the better side), 2 bad input (the
record or the reference cannot be used), 3 inconclusive.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.records import REQUIRED, read_record, validate_record
from lenet_repro.references import LOWER_IS_BETTER, Reference, get_reference, headline_reference

from ..verdicts import Judgement, estimate_one, judge, reference_se, single_run_window

EXIT_CONSISTENT, EXIT_DIFFERS, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3
FULL_TEST = {"mnist": 10_000, "fashion-mnist": 10_000}


@dataclass(frozen=True)
class Verdict:
    verdict: str  # consistent / higher / lower / inconclusive
    reference: Reference
    value: float  # our value, in the reference's unit
    interval: tuple[float, float] | None  # our 95 % interval, when the metric is a rate over digits
    stats: dict = field(default_factory=dict)
    judgement: Judgement | None = None

    @property
    def consistent(self) -> bool:
        return self.verdict == "consistent"

    @property
    def better(self) -> bool:
        """Differs on the good side (lower error or loss, higher accuracy)."""
        lower = LOWER_IS_BETTER[self.reference.metric]
        return self.verdict == ("lower" if lower else "higher")

    def __str__(self) -> str:
        r, j = self.reference, self.judgement
        ours = f"{self.value:.4g}"
        if self.interval:
            ours += f" (95% CI {self.interval[0]:.4g}-{self.interval[1]:.4g})"
        if j is not None and j.comparison is not None:
            c = j.comparison
            theirs = (f"{r.value:.4g} (se {c.published_se:.3g}); difference {c.diff:+.3g} "
                      f"(95% CI {c.lo:+.3g} .. {c.hi:+.3g})")
        elif r.kind == "spread":
            theirs = f"{r.low:.4g}..{r.high:.4g} over {r.n_builds} builds"
        elif r.kind == "ours":
            theirs = f"{r.value:.4g} +- {r.uncertainty:.4g} sd over {r.n_builds} seeds, one run within {r.low:.4g}..{r.high:.4g}"
        else:
            theirs = f"{r.value:.4g}, within {r.low:.4g}..{r.high:.4g}"
        return f"{self.verdict}: {r.metric} {ours} vs {r.id} {theirs} [{r.source}]"

    def notes(self) -> list[str]:
        """Further lines for the CLI: the window of a single full run, and what a subset run's verdict means."""
        out = []
        r, n = self.reference, self.stats.get("test_n")
        if self.judgement is not None and self.judgement.comparison is not None and r.metric == "test_error":
            full = FULL_TEST.get(r.dataset, 10_000)
            w = single_run_window(r.value, reference_se(r), full)
            out.append(f"a single run on all {full:,} test digits is called consistent with {r.id} when its error lies "
                       f"in {w[0]:.2f} .. {w[1]:.2f} %" if w else
                       f"no single run on all {full:,} test digits can be called consistent with {r.id}: its "
                       f"interval is always too wide to tell")
        if n is not None and r.metric.startswith("test") and n < FULL_TEST.get(r.dataset, n):
            out.append(f"note: this run was evaluated on {n:,} of the {FULL_TEST[r.dataset]:,} test digits; the verdict "
                       f"judges those {n:,} only (a wider interval, so more often inconclusive), and the published "
                       f"number was measured on all of them")
        return out


def _value_and_estimate(result: dict, ref: Reference):
    final = result["final"]
    m = ref.metric
    if m not in final:
        raise RecordError(f"the result has no final {m!r} to compare with {ref.id}; it records "
                          f"{sorted(k for k in final if not k.startswith('_'))}")
    value = float(final[m])
    part = m.split("_")[0]  # test / train
    est = interval = None
    if m in ("test_error", "test_acc", "train_error") and f"{part}_misses" in final and f"{part}_n" in final:
        est = estimate_one(int(final[f"{part}_misses"]), int(final[f"{part}_n"]))
        interval = (est.lo, est.hi) if m.endswith("_error") else (1 - est.hi / 100, 1 - est.lo / 100)
    return value, est, interval


def default_reference(record: dict) -> Reference | None:
    """The headline reference of a run record's recipe (`lenet check` without --reference)."""
    if record.get("family") == "comparison":  # a Fig. 9 row: the paper's number for it
        from lenet1998.comparison.rows import ROWS

        row = ROWS.get(record.get("recipe", ""))
        return get_reference(row.reference) if row else None
    return headline_reference(_comparable(record))


def _comparable(record: dict) -> str:
    if record.get("family") == "lenet1998":
        from lenet1998.published import comparable_recipe

        return comparable_recipe(record.get("config", {}))
    return record.get("recipe", "")


FIG9_FAITHFUL = {"lenet5-1998": "paper-fig9-lenet-5", "lenet5-1998-distortions": "paper-fig9-dist-lenet-5"}


def refuse_other_row(record: dict, ref: Reference) -> None:
    """ConfigError when `ref` is the published number of another model than the record's (the same
    refusal as an `ours:` row of another config)."""
    if ref.id.startswith("paper-fig9-"):
        if record.get("family") == "comparison":
            from lenet1998.comparison.rows import ROWS

            row = ROWS.get(record.get("recipe", ""))
            mine = row.reference if row else None
        else:
            mine = FIG9_FAITHFUL.get(_comparable(record))
        if ref.id != mine:
            raise ConfigError(f"reference {ref.id} is the paper's number for {ref.note!r}, but the run is "
                              f"{record.get('recipe')!r}" + (f" (its row's reference: {mine})" if mine else "")
                              + "; compare a run with its own row's number")
    elif ref.recipe and ref.recipe != _comparable(record):
        raise ConfigError(f"reference {ref.id} is for recipe {ref.recipe!r}, but the run is {_comparable(record)!r}; "
                          f"compare a run with its own recipe's numbers")


def check(result: dict | str | os.PathLike, reference_id: str | None = None,
          references: str | os.PathLike | None = None) -> Verdict:
    """Compare one run record with one reference; raise ConfigError/RecordError on bad input.

    `reference_id` "ours:<experiment id>" is one of our own recorded rows, from `references` (a
    references.csv written by `lenet report`; default: the committed full report's)."""
    from . import own_references

    rec = result if isinstance(result, dict) else read_record(result)
    if not isinstance(rec, dict) or "final" not in rec or "dataset" not in rec:
        raise RecordError("not a lenet-repro run record (no 'final'/'dataset'); pass a result.json from `lenet train`")
    if isinstance(result, dict) and all(k in rec for k in REQUIRED):
        validate_record(rec)  # a record handed over as a dict gets the same checks as one read from a file
    elif isinstance(result, dict):
        from lenet_repro.records import check_counts

        check_counts(rec)
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
        if ref.dataset == rec["dataset"]:
            refuse_other_row(rec, ref)  # (another dataset gets its own line below)
    if rec.get("config", {}).get("holdout") and ref.metric.startswith("test"):
        raise ConfigError(f"this run was evaluated on a held-out part of the training set, not the test set; "
                          f"{ref.id} is a test-set number, so they cannot be compared")
    if ref.dataset != rec["dataset"]:
        raise ConfigError(f"reference {ref.id} is on {ref.dataset} but the result is on {rec['dataset']}; "
                          f"choose a reference for {rec['dataset']}")
    value, est, interval = _value_and_estimate(rec, ref)
    j = judge(ref, value, est)
    return Verdict(j.outcome, ref, value, interval,
                   {"reference_low": ref.low, "reference_high": ref.high, "kind": ref.kind, "n": ref.n_builds,
                    "test_misses": rec["final"].get("test_misses"), "test_n": rec["final"].get("test_n")}, j)


EPILOG = ("exit codes: 0 consistent; 1 differs from the reference (higher or lower; with --allow-better, 0 on "
          "the better side); 2 bad input (the record or the reference cannot be used; one line says why); "
          "3 inconclusive (the interval is too wide to tell). The rule: reports/verdicts/published.py.")


def main(argv: list[str] | None = None) -> int:
    from lenet_repro.cli_util import run_cli

    p = argparse.ArgumentParser(prog="lenet check", description="Compare a run with a published number.",
                                epilog=EPILOG)
    p.add_argument("result", help="a result.json written by `lenet train` (or its folder)")
    p.add_argument("--reference", default=None,
                   help="a reference id from lenet_repro/data/references.csv (default: the recipe's headline one), "
                        "or ours:<experiment id>, one of our own recorded rows (reports/full/references.csv)")
    p.add_argument("--references", default=None, metavar="CSV",
                   help="the table of our own rows to read ours:<id> from (default: the committed full report's)")
    p.add_argument("--allow-better", action="store_true", help="exit 0 for a result that differs on the better side too")
    args = p.parse_args(argv)

    def body() -> int:
        v = check(args.result, args.reference, args.references)
        print(v)
        for line in v.notes():
            print(line)
        if v.consistent or (args.allow_better and v.better):
            return EXIT_CONSISTENT
        return EXIT_INCONCLUSIVE if v.verdict == "inconclusive" else EXIT_DIFFERS

    return run_cli(body, prog="lenet check", error_code=EXIT_BAD_INPUT)


if __name__ == "__main__":
    sys.exit(main())
