"""results.csv: one row per run of the report, with its status (ok, failed by THE FAILED-RUN RULE and why,
or crashed) and its provenance columns; built from the run records only."""

from __future__ import annotations

import pandas as pd

from ..run.runner import Outcome
from ..stats import rowruns


def frame(outcomes: list[Outcome]) -> pd.DataFrame:
    rows = []
    for o in outcomes:
        ex, rec = o.item.experiment, o.record
        row = {"experiment": ex.id, "group": ex.group, "label": ex.label, "family": ex.family, "recipe": ex.recipe,
               "seed": o.item.seed, "status": "ok" if rec else "crashed", "error": o.error or ""}
        if rec:
            why = dict((id(r), f) for r, f in rowruns.of(outcomes, ex.id).failed).get(id(rec))
            row["status"] = "failed" if why else "ok"
            row["failed_because"] = str(why) if why else ""
        if rec:
            f, p = rec["final"], rec["provenance"]
            row.update(
                dataset=rec["dataset"], test_acc=f.get("test_acc"), test_error=f.get("test_error"),
                test_misses=f.get("test_misses"), test_n=f.get("test_n"), train_acc=f.get("train_acc"),
                train_error=f.get("train_error"), train_loss=f.get("train_loss"),
                examples_per_s=f.get("examples_per_s"), epochs_or_passes=len(rec["metrics"]),
                wall_seconds=p.get("wall_seconds"), train_seconds=p.get("train_seconds"),
                device=p.get("device"), device_name=p.get("device_name"), backend=p.get("backend", "torch"),
                torch=p.get("torch"), torchvision=p.get("torchvision"), python=p.get("python"),
                git_commit=p.get("git_commit"), git_dirty=p.get("git_dirty"), started_at=p.get("started_at"),
                finished_at=p.get("finished_at"), run_id=rec["run_id"], run_dir=str(o.run_dir))
        rows.append(row)
    return pd.DataFrame(rows)
