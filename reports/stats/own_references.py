"""Regression references from this project's own recorded distributions (issue 11).

Every row of the full report with at least MIN_SEEDS seeds on the whole MNIST / Fashion-MNIST test set
(or one run of a deterministic Fig. 9 row: its interval is its value) becomes a reference `ours:<experiment id>` (e.g. `ours:faithful/lenet5-1998`, `ours:ladder/11-10-passes`):
the mean, sd and number of seeds of its test error, and the 95 % prediction interval for one new run
drawn from the same distribution,

    mean +- t(0.975, n - 1) * sd * sqrt(1 + 1/n)        (scipy.stats.t.interval)

so that `lenet check <result.json> --reference ours:<id>` (and `assert_consistent`) tells a user who
changed the code whether one run of that row moved: "consistent" inside the interval, "higher" or
"lower" outside it (THE VERDICT RULE's range form, reports/verdicts/published.py). Failed runs (THE
FAILED-RUN RULE) are not part of a row's distribution; a row with a failed seed names it in its note. The table is written by `lenet report` into
`<out>/references.csv` from the run records, never typed; the committed full report's table is
package data and the default. A run is compared only with the row of its own config (the model config
and the data split), else one line says what differs.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from scipy import stats as sps

from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.references import Reference

from . import rowruns
from ..verdicts import mean_sd

if TYPE_CHECKING:  # types only: stats/ does not import the running layer, and `lenet check` reads the table with
    import pandas as pd  # csv (the report builds it with pandas, the [report] extra)

    from ..run.runner import Outcome

PREFIX = "ours:"
MIN_SEEDS = 3
PACKAGED = Path(__file__).resolve().parents[1] / "full" / "references.csv"
MODERN_SPLIT_KEYS = ("train_subset", "test_subset", "dry_run", "holdout")


def model_config(record: dict) -> dict:
    """The part of a record's config that defines what was trained (not the data split), normalised so
    that a record and the row it belongs to compare equal (the 1998 options at their no-op values drop out,
    as in the report's cache key)."""
    cfg = record.get("config")
    if not isinstance(cfg, dict):
        raise RecordError("the run record has no config object; pass a result.json from `lenet train`")
    if record.get("family") == "lenet1998":
        from lenet1998.config import LeNet5Config

        known = {f.name for f in fields(LeNet5Config)}
        return json.loads(json.dumps(LeNet5Config.from_dict({k: v for k, v in cfg.items() if k in known})
                                     .effective_dict()))
    return json.loads(json.dumps({k: v for k, v in cfg.items() if k not in MODERN_SPLIT_KEYS}))


def _split(record: dict) -> dict:
    f, cfg = record["final"], record.get("config", {})
    train = cfg.get("train_subset")
    return {"test_n": int(f["test_n"]), "holdout": bool(cfg.get("holdout")),
            "train_n": int(f.get("train_n") or train or 0) or None}


@dataclass(frozen=True)
class OwnReference:
    reference: Reference
    family: str
    config: dict
    seeds: int
    test_n: int
    commits: str

    def mismatch(self, record: dict) -> str | None:
        """Why a run record cannot be compared with this row (None when it can)."""
        ref = self.reference
        if record.get("family") != self.family or record.get("dataset") != ref.dataset:
            return (f"reference {ref.id} is a {self.family} row on {ref.dataset}, the run is a {record.get('family')} "
                    f"run on {record.get('dataset')}")
        split = _split(record)
        if split["holdout"] or split["test_n"] != self.test_n:
            return (f"reference {ref.id} was measured on all {self.test_n:,} test digits; the run was evaluated on "
                    + ("a held-out part of the training set" if split["holdout"] else f"{split['test_n']:,} digits"))
        ours, theirs = model_config(record), self.config
        diff = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
        if diff:
            shown = ", ".join(f"{k} (run: {ours.get(k, '-')!r}, reference: {theirs.get(k, '-')!r})" for k in diff[:4])
            return (f"reference {ref.id} was recorded with another config: {shown}"
                    + (f" and {len(diff) - 4} more" if len(diff) > 4 else "")
                    + "; compare the run with the row of its own config")
        return None


def rows(outcomes: list[Outcome], min_seeds: int = MIN_SEEDS) -> pd.DataFrame:
    """One row per experiment with >= min_seeds finished runs on the whole test set."""
    import pandas as pd

    out = []
    by_exp: dict[str, list[dict]] = {}
    for o in outcomes:
        if o.record and not o.record["config"].get("holdout"):
            by_exp.setdefault(o.item.experiment.id, []).append(o.record)
    for exp_id, recs in by_exp.items():
        full_test = {"mnist": 10_000, "fashion-mnist": 10_000}.get(recs[0]["dataset"])
        runs = rowruns.split([r for r in recs if r["final"]["test_n"] == full_test])
        recs = runs.good
        exact = bool(recs) and _deterministic(recs[0])
        if len(recs) < (1 if exact else min_seeds):
            continue
        errs = [float(r["final"]["test_error"]) for r in recs]
        m, sd = mean_sd(errs)
        n = len(errs)
        if exact:  # a deterministic fit: every run computes the same digits, so the interval is the value
            lo, hi, sd, note = m, m, 0.0, "a deterministic fit: one run, the interval is its value"
        else:
            lo, hi = sps.t.interval(0.95, n - 1, loc=m, scale=sd * math.sqrt(1 + 1 / n)) if sd > 0 else (m, m)
            note = "95 % prediction interval for one new run: mean +- t(0.975, n-1) sd sqrt(1 + 1/n)"
        if runs.failed:
            note += f"; {runs.failed_note()}, not counted"
        commits = sorted({str(r["provenance"].get("git_commit", ""))[:7] for r in recs})
        ref = Reference(f"{PREFIX}{exp_id}", f"lenet-repro report, {n} seed{'s' * (n > 1)} at commit {', '.join(commits)}",
                        recs[0]["dataset"], recs[0]["recipe"], "test_error", round(m, 6), round(sd, 6),
                        round(float(lo), 6), round(float(hi), 6), n, "ours", note)
        out.append({**asdict(ref), "family": recs[0]["family"], "test_n": full_test,
                    "config": json.dumps(model_config(recs[0]), sort_keys=True)})
    return pd.DataFrame(out)


def _deterministic(record: dict) -> bool:
    """A Fig. 9 row whose fit the seed does not change (lenet1998/comparison/rows.py `stochastic`)."""
    if record.get("family") != "comparison":
        return False
    from lenet1998.comparison.rows import ROWS

    row = ROWS.get(record.get("recipe", ""))
    return row is not None and not row.stochastic


def write(outcomes: list[Outcome], out: Path) -> Path:
    from lenet_repro import atomic

    path = Path(out) / "references.csv"
    atomic.write_text(path, rows(outcomes).to_csv(index=False), flag="--out")
    return path


def load(path: str | Path | None = None) -> dict[str, OwnReference]:
    path = Path(path) if path else PACKAGED
    if not path.exists():
        raise ConfigError(f"no table of our own references at {path}; run `lenet report --profile full` (it writes "
                          f"<out>/references.csv) or pass --references FILE")
    # read with the csv module, each column converted to its Reference field's type (what pandas read):
    # `lenet check --reference ours:...` needs no pandas
    types = {f.name: {"float": float, "int": int}.get(str(f.type), str) for f in fields(Reference)}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            table = list(csv.DictReader(f))
        out = {}
        for r in table:
            ref = Reference(**{k: types[k](r[k]) for k in types})
            out[ref.id] = OwnReference(ref, r["family"], json.loads(r["config"]), int(r["n_builds"]),
                                       int(r["test_n"]), ref.source)
        return out
    except (KeyError, TypeError, ValueError, UnicodeDecodeError, csv.Error) as e:
        raise RecordError(f"{path}: not a table of our own references ({type(e).__name__}: {e}); regenerate it with "
                          f"`lenet report`") from None


def get(ref_id: str, path: str | Path | None = None) -> OwnReference:
    table = load(path)
    if ref_id not in table:
        near = [k for k in table if ref_id[len(PREFIX):].split("/")[0] in k][:5] or list(table)[:5]
        raise ConfigError(f"unknown reference id {ref_id!r}; our own rows include {', '.join(near)} "
                          f"(all of them: {path or PACKAGED})")
    return table[ref_id]
