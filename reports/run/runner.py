"""Running a plan: cached run records, resume, retries, lockstep groups and worker processes.

Every run lives in `<out>/runs/<experiment id>/s<seed>-<config hash>/` with its `result.json`
(and checkpoint). A run whose record exists is skipped; a faithful run with a checkpoint resumes
after its last finished pass; a run that crashes is retried (`retries` times) and, if it still
fails, is listed in `<out>/failures.json` and in the report -- never silently dropped.

The runs to train become units of work (reports/run/engines.py): lockstep groups of faithful runs (one
process, all cores, K runs advanced together) and single textbook runs, executed by an engine --
here (`local`) or on a Ray cluster (`ray`). A textbook run with a checkpoint resumes after its last
finished epoch, exactly as `lenet train <recipe> --resume`.

After every finished run (textbook) or lockstep group (faithful) one plain log line gives the overall
progress: runs finished / runs to train, the elapsed time and an estimate of the time left (see
`Progress` for how it is estimated). Plain lines, so it reads the same in a log file as on a terminal.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from lenet_repro import atomic, records
from lenet_repro.errors import LenetError

from .plan import RunItem

# the committed full report's records: what the first ETA of a fresh cache is predicted from
RECORDED = (Path(__file__).resolve().parents[1] / "full",)

def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class Progress:
    """The overall progress line of `lenet report`, printed before the first run and after each finished run
    or lockstep group:

        progress: 5/12 runs finished, 3.2 min elapsed, about 4.5 min left

    Only the runs this invocation trains count (cached ones cost nothing). With `predicted` (unit name ->
    expected wall seconds, from recorded runs of the same kind: reports/run/estimate.py `predicted_units`), the
    first line already gives the time left, and later lines scale the prediction of the units still to run
    by how long the finished ones took against theirs (once they are a fifth of the prediction; before
    that, the prediction stands). Without a prediction for every unit, the time left is the number of
    unfinished runs of each family times the mean wall time per finished run of that family so far (a
    family none of whose runs has finished borrows the mean over all); before anything finishes it is
    unknown. A failed run counts as finished.
    """

    CALIBRATE = 0.2  # share of the predicted time that must be done before the prediction is rescaled

    def __init__(self, todo: dict[str, int], log=print, clock=time.monotonic, predicted: dict[str, float] | None = None,
                 units: list[str] | None = None):
        self.todo = dict(todo)  # family -> runs to train
        self.done = {f: 0 for f in todo}
        self.spent = {f: 0.0 for f in todo}  # family -> wall seconds charged to its finished runs
        self.log, self.clock = log, clock
        self.start = self.last = clock()
        complete = predicted is not None and units is not None and all(u in predicted for u in units)
        self.predicted = {u: predicted[u] for u in units} if complete else None
        self.predicted_done = 0.0

    @property
    def total(self) -> int:
        return sum(self.todo.values())

    def estimate_left(self) -> float | None:
        if self.predicted is not None:
            total = sum(self.predicted.values())
            rest = total - self.predicted_done
            if self.predicted_done >= self.CALIBRATE * total and self.predicted_done > 0:
                return rest * (self.clock() - self.start) / self.predicted_done
            return max(rest - max(0.0, (self.clock() - self.start) - self.predicted_done), 0.0)
        finished = sum(self.done.values())
        if not finished:
            return None
        overall = sum(self.spent.values()) / finished
        return sum((self.todo[f] - self.done[f]) * (self.spent[f] / self.done[f] if self.done[f] else overall)
                   for f in self.todo)

    def begin(self) -> str:
        """The first line: the whole prediction, or that there is none yet."""
        left = self.estimate_left()
        line = (f"progress: 0/{self.total} runs finished, "
                + (f"about {_duration(left)} left (predicted from recorded runs of the same kind)" if left is not None
                   else "time left unknown until the first run finishes"))
        self.log(line)
        return line

    def finished(self, family: str, n: int = 1, unit: str | None = None) -> str:
        now = self.clock()
        self.done[family] += n
        self.spent[family] += now - self.last
        self.last = now
        if self.predicted is not None and unit in self.predicted:
            self.predicted_done += self.predicted[unit]
        left = self.estimate_left()
        finished = sum(self.done.values())
        line = (f"progress: {finished}/{self.total} runs finished, {_duration(now - self.start)} elapsed, "
                + ("done" if finished >= self.total else
                   f"about {_duration(left)} left" if left is not None else "time left unknown"))
        self.log(line)
        return line


@dataclass
class Outcome:
    item: RunItem
    run_dir: Path
    record: dict | None  # None when the run failed
    error: str | None = None
    cached: bool = False


def resolved_config(item: RunItem) -> dict:
    """The full config a run will use (the cache key)."""
    ex = item.experiment
    if ex.family == "comparison":
        from lenet1998.comparison.rows import get_row
        from lenet1998.comparison.train import config_of, resolve_options

        row = get_row(ex.recipe)
        return config_of(row, resolve_options(row, item.overrides), item.train_subset, item.test_subset, item.holdout)
    if ex.family == "modern":
        from modern.recipes import get_recipe

        cfg = get_recipe(ex.recipe).with_overrides(**item.overrides).to_dict()
    else:
        from lenet1998.recipes import LENET1998_RECIPES

        cfg = LENET1998_RECIPES[ex.recipe].replace(**item.overrides).effective_dict()
    return {**cfg, "train_subset": item.train_subset, "test_subset": item.test_subset, "holdout": item.holdout}


def run_dir(out: Path, item: RunItem) -> Path:
    return Path(out) / "runs" / item.experiment.id / f"s{item.seed}-{records.config_hash(resolved_config(item))}"


def _as_recorded(v):
    """A config value as a run record holds it: through JSON, as lenet_repro.records writes it (a tuple
    comes back as a list)."""
    return json.loads(json.dumps(v, default=str))


# The data sizes: a record states the sizes it used (the held-out digits taken off the training set, its
# evaluation split's size as test_subset) where the plan may say None ("the whole set"): they are compared
# through the record's final test_n and train_n instead.
SIZE_KEYS = ("train_subset", "test_subset", "holdout")


def foreign(rec: dict, item: RunItem) -> str | None:
    """Why a readable record is not the run its cache folder stands for (None if it is): another family,
    recipe or seed, a config value that differs from the planned run's, or another number of test digits.

    Keys present on one side only are not compared: records keep the config of the version that trained
    them, and options added since (with defaults that reproduce the old behaviour) are absent from them."""
    ex = item.experiment
    for key, want in (("family", ex.family), ("recipe", ex.recipe), ("seed", item.seed)):
        if rec.get(key) != want:
            return f"its {key} is {rec.get(key)!r}, the run is {want!r}"
    planned, got = resolved_config(item), rec.get("config") or {}
    for k in sorted(set(planned) & set(got)):
        if k in SIZE_KEYS:
            continue  # recorded as the sizes used (held-out digits come off the training set): checked below
        if _as_recorded(planned[k]) != got[k]:
            return f"its config has {k}={got[k]!r}, the run has {k}={planned[k]!r}"
    want_n = item.holdout or item.test_subset or 10000  # held-out training digits replace the test set
    test_n = (rec.get("final") or {}).get("test_n")
    if test_n != want_n:
        return f"it was evaluated on {test_n} digits, the run is evaluated on {want_n}"
    train_n = (rec.get("final") or {}).get("train_n")
    if train_n is not None and item.train_subset is not None and train_n != item.train_subset - (item.holdout or 0):
        return f"it was trained on {train_n} digits, the run on {item.train_subset - (item.holdout or 0)}"
    return None


def trusted(d: Path, item: RunItem) -> tuple[dict | None, str | None]:
    """(the cached record of `item` in folder `d`, None) if there is one to trust; (None, why not) if `d`
    holds a record that is damaged (unreadable, inconsistent) or foreign (another run's); (None, None) if it
    holds none."""
    if not (Path(d) / records.RESULT_NAME).exists() and not (Path(d) / records.RESULT_NAME).is_symlink():
        return None, None
    try:
        rec = records.read_record(d)
    except LenetError as e:
        return None, f"damaged ({str(e).splitlines()[0][:200]})"
    why = foreign(rec, item)
    return (None, f"foreign: {why}") if why else (rec, None)


SET_ASIDE = "set-aside"


def set_aside(out: Path, d: Path, why: str, log=print) -> Path:
    """Move run folder `d` (all of it: record, checkpoint, log) to <out>/set-aside/<its path under runs>/<time>/,
    never deleting anything, and say so in one line; the run is then trained again in an empty folder."""
    out, d = Path(out), Path(d)
    try:
        rel = d.resolve().relative_to((out / "runs").resolve())
    except ValueError:
        rel = Path(d.name)
    dest = out / SET_ASIDE / rel / time.strftime("%Y%m%dT%H%M%S")
    n = 0
    while dest.exists():
        n += 1
        dest = dest.with_name(f"{dest.name.split('.')[0]}.{n}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(d, dest)
    except OSError as e:
        from lenet_repro.errors import path_error

        raise path_error(dest, e, writing=True, fix=f"move {d} away by hand; its record is {why}") from None
    log(f"set aside {d} -> {dest}: its record is {why}; the run is trained again")
    return dest


def other_build(rec: dict) -> str | None:
    """The numeric build of a faithful fast-path record (or a Fig. 9 network's, layered kernel) when it is
    not this one's, else None: such a record is not reused by a run that trains (the same seed computes
    other numbers here)."""
    from lenet1998.fast.build import layered_numeric_build_id, numeric_build_id, record_numeric_build

    if rec.get("family") == "comparison":
        if (rec.get("provenance") or {}).get("backend") != "layered-kernel":
            return None  # a classical row: no kernel
        b = record_numeric_build(rec)
        return None if b == layered_numeric_build_id() else b
    if rec.get("family") != "lenet1998":
        return None
    b = record_numeric_build(rec)
    return None if b in (numeric_build_id(), "reference") else b


def _discard(d: Path) -> None:
    """Remove a run of another numeric build (its record stays in git history) so that it is retrained."""
    for name in ("result.json", "checkpoint.pt"):
        p = Path(d) / name
        if p.exists():
            p.unlink()


def unique_items(plan: list[RunItem], out: Path, prefer=None) -> tuple[list[RunItem], list[tuple[RunItem, Path]]]:
    """Identical runs requested by two experiments (e.g. the ablation baseline at full length and the
    headline faithful run) are trained once and shared: (the unique items, (item, dir of its twin)).
    The twin that is trained (or read) is the first in plan order -- or, with `prefer(dir, item) -> bool`,
    the first whose folder `prefer` accepts (one that already holds a usable record)."""
    groups: dict[tuple, list[RunItem]] = {}
    for it in plan:
        key = (it.experiment.family, it.experiment.recipe, records.config_hash(resolved_config(it)), it.seed)
        groups.setdefault(key, []).append(it)
    unique, shared = [], []
    for items in groups.values():
        rep = next((it for it in items if prefer and prefer(run_dir(out, it), it)), items[0])
        unique.append(rep)
        shared += [(it, run_dir(out, rep)) for it in items if it is not rep]
    return unique, shared


def run_plan(plan: list[RunItem], out: Path, *, device: str = "auto", data_root=None, jobs: int = 1,
             retries: int = 1, readonly: bool = False, engine: str = "local", address: str | None = None,
             log=print) -> list[Outcome]:
    """Train what is not cached yet (or, with `readonly`, only collect what is) and return every outcome.

    `engine` runs the units of work here (`local`: lockstep groups one after another, textbook runs in
    `jobs` processes) or on a Ray cluster at `address` (`ray`, see reports/run/engines.py)."""
    from lenet_repro.errors import ConfigError

    from .engines import ENGINES, LOCKSTEP_GROUP, LocalEngine, RayEngine, group_size, make_units

    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"--retries must be a non-negative integer, got {retries!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a positive integer, got {jobs!r}")
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    out = Path(out)
    todo_modern, todo_1998, todo_cmp, outcomes = [], [], [], []
    checked: dict[str, tuple[dict | None, str | None]] = {}  # run folder -> trusted(): each record read once

    def check(d: Path, it: RunItem) -> tuple[dict | None, str | None]:
        if str(d) not in checked:
            checked[str(d)] = trusted(d, it)
        return checked[str(d)]

    unique, shared = unique_items(plan, out, prefer=lambda d, it: (check(d, it)[0] is not None
                                                                   and not other_build(check(d, it)[0])))
    stale = 0
    for it in unique:
        d = run_dir(out, it)
        rec, why = check(d, it)
        if why is not None:
            if readonly:
                log(f"not used: {d}: its record is {why}; `lenet report` without --no-train sets it aside and "
                    f"trains the run again")
            else:
                set_aside(out, d, why, log=log)
        if rec is not None and not readonly and other_build(rec):
            stale += 1
            _discard(d)  # made by another numeric build: train it again with this one
            rec = None
        if rec is not None:
            outcomes.append(Outcome(it, d, rec, cached=True))
        elif it.experiment.family == "modern":
            todo_modern.append((it, d))
        elif it.experiment.family == "comparison":
            todo_cmp.append((it, d))
        else:
            todo_1998.append((it, d))
    log(f"{len(plan)} runs ({len(shared)} shared): {len(outcomes)} cached, {len(todo_modern)} textbook, "
        f"{len(todo_1998)} faithful and {len(todo_cmp)} comparison to train"
        + (f" ({stale} of them recorded by another numeric build)" if stale else ""))
    if readonly:
        outcomes += [Outcome(it, d, None, "not run") for it, d in todo_modern + todo_1998 + todo_cmp]
        todo_modern, todo_1998, todo_cmp = [], [], []
    if todo_modern or todo_1998 or todo_cmp:
        if engine == "ray":
            eng = RayEngine(address, retries=retries, log=log)
            group = group_size(len(todo_1998), eng.workers, eng.task_cpus)
        else:
            eng, group = LocalEngine(jobs=jobs, retries=retries, log=log), LOCKSTEP_GROUP
        units = make_units(todo_modern, todo_1998, group, todo_cmp)
        from .estimate import predicted_units

        predicted = predicted_units(units, out, also=tuple(d for d in RECORDED if d.resolve() != out.resolve()))
        if engine == "ray" or jobs > 1:
            predicted = None  # the prediction assumes the local engine's one unit at a time
        progress = Progress({"modern": len(todo_modern), "lenet1998": len(todo_1998), "comparison": len(todo_cmp)},
                            log=log, predicted=predicted, units=[u.name for u in units])
        progress.begin()

        def on_done(unit, recs, err):
            if recs is not None:
                outcomes.extend(Outcome(it, d, rec) for (it, d), rec in zip(unit.items, recs))
            else:
                log(f"  FAILED {unit.name} after {retries + 1} attempt(s): {err}")
                outcomes.extend(Outcome(it, d, None, err) for it, d in unit.items)
            progress.finished(unit.family, len(unit.items), unit.name)

        try:
            eng.run(units, device, data_root, on_done)
        finally:
            eng.close()
    by_dir = {str(o.run_dir): o for o in outcomes}
    for it, d in shared:
        o = by_dir[str(d)]
        outcomes.append(Outcome(it, d, o.record, o.error, cached=o.cached))
    if not readonly:
        failures = [{"run": o.item.key, "run_dir": str(o.run_dir), "error": o.error}
                    for o in outcomes if o.record is None]
        atomic.write_json(out / "failures.json", failures, flag="--out")
    order = {it.key: i for i, it in enumerate(plan)}
    return sorted(outcomes, key=lambda o: order[o.item.key])
