"""Copy the median faithful checkpoints of the committed full report into the package.

    python -m reports.ship [--out reports/full]

For `lenet5` (plain) and `lenet5-distortions`, the MEDIAN run by test misses among the full report's
seeds (the lower median for an even count; ties by seed) is copied, with its run record, to
lenet1998/checkpoints/<name>.pt / .json -- the median, not the best, so that the shipped model does
not flatter the recipe. Its record says which seed it is, its misses and how it was chosen.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from lenet_repro import atomic
from lenet_repro.cli_util import run_cli
from lenet_repro.errors import RecordError

from .render.readme import load_outcomes

TARGET = Path(__file__).resolve().parent.parent / "lenet1998" / "checkpoints"
SHIP = {"lenet5": "faithful/lenet5-1998", "lenet5-distortions": "faithful/lenet5-1998-distortions"}


def ship(out: Path) -> None:
    """Copy the best run of each SHIP experiment in the report at `out`; RecordError if one is missing."""
    outcomes = load_outcomes(out)
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, exp_id in SHIP.items():
        runs = [o for o in outcomes if o.item.experiment.id == exp_id and o.record]
        if not runs:
            raise RecordError(f"no finished {exp_id} runs in {out}; run the full report first")
        ranked = sorted(runs, key=lambda o: (o.record["final"]["test_misses"], o.item.seed))
        best = ranked[(len(ranked) - 1) // 2]
        ckpt = Path(best.run_dir) / "checkpoint.pt"
        if not ckpt.exists():
            raise RecordError(f"{ckpt} is missing (checkpoints are not committed); re-run that run")
        rec = dict(best.record)
        rec.pop("_path", None)
        rec["shipped"] = {"name": name, "chosen_from": f"the median by test misses of {len(runs)} seeds",
                          "experiment": exp_id, "seed": best.item.seed,
                          "test_misses": rec["final"]["test_misses"]}
        with atomic.atomic_path(TARGET / f"{name}.pt") as tmp:
            shutil.copyfile(ckpt, tmp)
        atomic.write_json(TARGET / f"{name}.json", rec)
        print(f"{name}: {exp_id} seed {best.item.seed}, {rec['final']['test_misses']} misses "
              f"(the median of {len(runs)} seeds)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else Path("reports/full")

    def body() -> int:
        ship(out)
        return 0

    return run_cli(body, prog="python -m reports.ship")


if __name__ == "__main__":
    sys.exit(main())
