"""The wall-time planner: `lenet report --profile full --estimate --workers 1 8 64`.

Expected wall time of a profile on N workers of this project's size (TASK_CPUS cores each), from
the recorded durations of the profile's runs in its cache, by a small scheduling simulation of
the plan's units (engines.make_units, lockstep groups sized for N workers), longest first onto the
worker that frees up first (LPT list scheduling; within 4/3 of the optimum). The critical path is
the longest single unit: no number of workers finishes sooner.

A run's cost is read from its record: the training time of its lockstep group spread over the
group's members (core-seconds = train_seconds x min(K, cores) / K) plus its own evaluations.
Runs not recorded yet are estimated from recorded runs of the same experiment, else of the same
recipe and length (scaled by passes or epochs and patterns), else of the same family; the output
says how many were estimated so. A profile with no records at all cannot be estimated.
"""

from __future__ import annotations

import heapq
import statistics
from dataclasses import dataclass
from pathlib import Path

from lenet_repro.errors import ConfigError

from .engines import TASK_CPUS, Unit, group_size, make_units
from .plan import RunItem


@dataclass
class Cost:
    train_core_s: float  # training, in core-seconds
    eval_core_s: float  # evaluations, in core-seconds
    source: str  # "record" | "experiment" | "recipe" | "family"


def _work(rec: dict) -> float:
    """Patterns x passes (faithful) or examples x epochs (textbook) a record trained on."""
    cfg = rec["config"]
    n = rec["final"].get("train_n") or cfg.get("train_subset") or 60_000
    return n * (cfg.get("passes") or cfg.get("epochs") or (cfg.get("options") or {}).get("passes") or 1)


def _item_work(it: RunItem) -> float:
    from lenet1998.recipes import LENET1998_RECIPES
    from modern.recipes import get_recipe

    n = (it.train_subset or 60_000) - (it.holdout or 0)
    if it.experiment.family == "modern":
        return n * get_recipe(it.experiment.recipe).with_overrides(**it.overrides).epochs
    if it.experiment.family == "comparison":
        from lenet1998.comparison.rows import get_row
        from lenet1998.comparison.train import resolve_options

        return n * resolve_options(get_row(it.experiment.recipe), it.overrides).get("passes", 1)
    return n * LENET1998_RECIPES[it.experiment.recipe].replace(**it.overrides).passes


def record_cost(rec: dict) -> Cost:
    p = rec["provenance"]
    cores = p.get("cpu_count") or TASK_CPUS
    if rec["family"] in ("modern", "comparison"):
        return Cost(float(p.get("train_seconds") or p["wall_seconds"]) * cores,
                    max(0.0, float(p["wall_seconds"]) - float(p.get("train_seconds") or p["wall_seconds"])) * cores,
                    "record")
    k = p.get("lockstep_group") or 1
    return Cost(float(p["train_seconds"]) * min(k, cores) / k, float(p.get("eval_seconds") or 0.0) * cores, "record")


def _other_records(dirs, skip: frozenset = frozenset()) -> list[tuple[str, dict]]:
    """(experiment id, record) of every run record under each `dirs`/runs (this report's other runs, another
    report's cache, e.g. the committed reports/full), but the run folders in `skip`: the experiment id is the
    record's folder path, runs/<id>/<seed dir>/."""
    import json

    out = []
    for d in dirs:
        base = Path(d) / "runs"
        for f in sorted(base.glob("**/result.json")) if base.is_dir() else []:
            if f.parent.resolve() in skip:
                continue
            try:
                rec = json.loads(f.read_text())
                if "provenance" in rec and "config" in rec:
                    out.append((f.parent.parent.relative_to(base).as_posix(), rec))
            except (OSError, ValueError):
                continue
    return out


def item_costs(plan: list[RunItem], out: Path, also: tuple = ()) -> dict[str, Cost]:
    """Cost of every plan item: its record, else scaled from similar recorded runs -- in `out` (the plan's and
    the cache's others, an --only subset's), and in the caches `also` names (only as runs of the same
    experiment, recipe or family, never as the item's own record); an item with no similar recorded run is
    left out: `estimate` counts it as not estimated."""
    from lenet_repro import records
    from lenet_repro.errors import LenetError

    from .runner import run_dir

    recorded: dict[str, tuple[RunItem, dict]] = {}
    for it in plan:
        try:
            recorded[it.key] = (it, records.read_record(run_dir(out, it)))
        except LenetError:
            continue
    # this cache's runs outside the plan (an --only subset) scale too, as those of another cache
    mine = frozenset(Path(run_dir(out, it)).resolve() for it, _ in recorded.values())
    others = _other_records((out, *also), skip=mine)
    if not recorded and not others:
        raise ConfigError(f"no run records under {out}/runs to estimate from; run the profile (or part of it, "
                          f"e.g. --only 'faithful/*') first")
    rate: dict[tuple, list[tuple[float, float]]] = {}  # (level, key) -> [(train, eval) per unit of work]
    seen = [(it.experiment.id, it.experiment.recipe, it.experiment.family, rec) for it, rec in recorded.values()]
    seen += [(exp, rec["recipe"], rec["family"], rec) for exp, rec in others]
    for exp, recipe, family, rec in seen:
        c, w = record_cost(rec), _work(rec)
        dist = bool(rec["config"].get("distortions"))
        for key in (("experiment", exp), ("recipe", recipe, dist), ("family", family)):
            rate.setdefault(key, []).append((c.train_core_s / w, c.eval_core_s / w))
    costs = {}
    for it in plan:
        if it.key in recorded:
            costs[it.key] = record_cost(recorded[it.key][1])
            continue
        from lenet1998.recipes import LENET1998_RECIPES

        dist = (it.experiment.family == "lenet1998"
                and LENET1998_RECIPES[it.experiment.recipe].replace(**it.overrides).distortions)
        for key in (("experiment", it.experiment.id), ("recipe", it.experiment.recipe, dist),
                    ("family", it.experiment.family)):
            if key in rate:
                w = _item_work(it)
                costs[it.key] = Cost(statistics.median(r[0] for r in rate[key]) * w,
                                     statistics.median(r[1] for r in rate[key]) * w, key[0])
                break
        # else: nothing recorded to scale from (a family none of whose runs has run yet): left out
    return costs


def predicted_units(units: list[Unit], out: Path, also: tuple = (), cores: int = TASK_CPUS) -> dict[str, float]:
    """Expected wall seconds of each unit (by name) that can be estimated, for the report's first ETA line: from
    records of the same experiment or recipe only -- a family's median (a linear fit and an SVM alike) is too
    coarse to promise a time on (the runner then says the time left is unknown until a run finishes)."""
    try:
        costs = item_costs([it for u in units for it, _ in u.items], Path(out), also)
    except ConfigError:
        return {}
    costs = {k: c for k, c in costs.items() if c.source != "family"}
    return {u.name: unit_seconds(u, costs, cores) for u in units if all(it.key in costs for it, _ in u.items)}


def unit_seconds(u: Unit, costs: dict[str, Cost], cores: int = TASK_CPUS) -> float:
    c = [costs[it.key] for it, _ in u.items]
    if u.kind in ("textbook", "comparison"):
        return (c[0].train_core_s + c[0].eval_core_s) / cores
    return sum(x.train_core_s for x in c) / min(len(c), cores) + sum(x.eval_core_s for x in c) / cores


def simulate(durations: list[float], workers: int) -> float:
    """Makespan of LPT list scheduling of independent units on `workers` identical workers."""
    free = [0.0] * max(1, workers)
    for d in sorted(durations, reverse=True):
        heapq.heapreplace(free, free[0] + d)
    return max(free)


@dataclass
class Estimate:
    workers: int
    wall_s: float
    lower_bound_s: float
    critical_s: float
    critical_unit: str
    machine_s: float  # worker-seconds in all (the sum of the units' times)
    units: int
    group: int


def estimate(plan: list[RunItem], out: Path, workers_list: list[int], cores: int = TASK_CPUS) -> tuple[list[Estimate], dict]:
    from .runner import run_dir, unique_items

    plan, _ = unique_items(plan, Path(out))  # a run two experiments share is trained once
    costs = item_costs(plan, Path(out))
    sources: dict[str, int] = {}
    for c in costs.values():
        sources[c.source] = sources.get(c.source, 0) + 1
    if len(costs) < len(plan):
        sources["none"] = len(plan) - len(costs)
    plan = [it for it in plan if it.key in costs]
    modern = [(it, run_dir(out, it)) for it in plan if it.experiment.family == "modern"]
    faithful = [(it, run_dir(out, it)) for it in plan if it.experiment.family == "lenet1998"]
    cmp = [(it, run_dir(out, it)) for it in plan if it.experiment.family == "comparison"]
    res = []
    for n in workers_list:
        g = group_size(len(faithful), n, cores)
        units = make_units(modern, faithful, g, cmp)
        d = [unit_seconds(u, costs, cores) for u in units]
        i = max(range(len(d)), key=d.__getitem__)
        total = sum(d)
        res.append(Estimate(n, simulate(d, n), max(total / n, d[i]), d[i], units[i].name, total, len(units), g))
    return res, sources


def _h(s: float) -> str:
    return f"{s / 3600:.1f} h" if s >= 5400 else f"{s / 60:.0f} min"


def format_estimate(profile: str, ests: list[Estimate], sources: dict, cores: int = TASK_CPUS) -> str:
    n = sum(sources.values())
    how = ", ".join(f"{v} from {'their records' if k == 'record' else 'runs of the same ' + k}"
                    for k, v in sorted(sources.items()) if k != "none")
    if sources.get("none"):
        how += f"; {sources['none']} not estimated: no recorded run of their kind yet, left out of the times below"
    lines = [f"profile {profile}: {n} runs ({how}); workers of {cores} cores, lockstep groups sized per worker count",
             f"{'workers':>8} {'expected wall':>14} {'lower bound':>12} {'units':>6} {'group':>6}  critical path (longest unit)"]
    for e in ests:
        lines.append(f"{e.workers:>8} {_h(e.wall_s):>14} {_h(e.lower_bound_s):>12} {e.units:>6} {e.group:>6}  "
                     f"{_h(e.critical_s)}: {e.critical_unit}")
    lines.append(f"worker time in all: {_h(ests[0].machine_s)} (x {cores} cores; plus start-up and the report itself)")
    return "\n".join(lines)
