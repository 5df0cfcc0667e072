"""Speed as the run records give it: the median examples per second and wall time per run of the textbook and
faithful runs, by device and backend. Not a speed measurement (benchmarks/ holds those): the runs of a
report share the machine with whatever else ran."""

from __future__ import annotations

import pandas as pd

from ..run.runner import Outcome


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Median throughput and wall time per run of the full-length textbook and faithful runs, per device."""
    rows = []
    for group, unit in (("textbook", "examples/s (training steps only)"), ("faithful", "online steps/s per run")):
        runs = [o for o in outcomes if o.item.experiment.group == group and o.record
                and o.record["final"].get("test_n") == 10000]
        if not runs:
            continue
        by_dev: dict[str, list] = {}
        for o in runs:
            p = o.record["provenance"]
            by_dev.setdefault(f"{p['device_name']} ({p.get('backend', 'torch')})", []).append(o)
        for dev, rs in by_dev.items():
            eps = sorted(o.record["final"]["examples_per_s"] for o in rs)
            rows.append({"what": group, "device": dev, "runs": len(rs), "unit": unit,
                         "median": f"{eps[len(eps) // 2]:.0f}",
                         "wall s per run (median)": f"{sorted(o.record['provenance']['wall_seconds'] for o in rs)[len(rs) // 2]:.0f}"})
    return pd.DataFrame(rows)
