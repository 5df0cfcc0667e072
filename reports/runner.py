"""Running a plan: cached run records, resume, retries, lockstep groups and worker processes.

Every run lives in `<out>/runs/<experiment id>/s<seed>-<config hash>/` with its `result.json`
(and checkpoint). A run whose record exists is skipped; a faithful run with a checkpoint resumes
after its last finished pass; a run that crashes is retried (`retries` times) and, if it still
fails, is listed in `<out>/failures.json` and in the report -- never silently dropped.

Faithful runs that can share lockstep training do so (one process, all cores, K runs per group);
independent textbook runs go to `jobs` worker processes. A textbook run with a checkpoint resumes
after its last finished epoch, exactly as `lenet train <recipe> --resume`.

After every finished run (textbook) or lockstep group (faithful) one plain log line gives the overall
progress: runs finished / runs to train, the elapsed time and an estimate of the time left (see
`Progress` for how it is estimated). Plain lines, so it reads the same in a log file as on a terminal.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from lenet_repro import atomic, records
from lenet_repro.errors import LenetError

from .plan import RunItem

LOCKSTEP_GROUP = 8  # faithful runs trained together per process (memory: ~250 MB each with distortions)


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class Progress:
    """The overall progress line of `lenet report`, printed after each finished run or lockstep group:

        progress: 5/12 runs finished, 3.2 min elapsed, about 4.5 min left

    Only the runs this invocation trains count (cached ones cost nothing). The estimate of the time left
    is the number of unfinished runs of each family (textbook, faithful) times the mean wall time per
    finished run of that family so far (the time since the previous finished run or group, or since the
    start, is charged to the runs that just finished); for a family none of whose runs has finished yet,
    the mean over all finished runs stands in (so the estimate is rough until a faithful group is done).
    A failed run counts as finished. Before anything finishes, the time left is unknown.
    """

    def __init__(self, todo: dict[str, int], log=print, clock=time.monotonic):
        self.todo = dict(todo)  # family -> runs to train
        self.done = {f: 0 for f in todo}
        self.spent = {f: 0.0 for f in todo}  # family -> wall seconds charged to its finished runs
        self.log, self.clock = log, clock
        self.start = self.last = clock()

    @property
    def total(self) -> int:
        return sum(self.todo.values())

    def estimate_left(self) -> float | None:
        finished = sum(self.done.values())
        if not finished:
            return None
        overall = sum(self.spent.values()) / finished
        return sum((self.todo[f] - self.done[f]) * (self.spent[f] / self.done[f] if self.done[f] else overall)
                   for f in self.todo)

    def finished(self, family: str, n: int = 1) -> str:
        now = self.clock()
        self.done[family] += n
        self.spent[family] += now - self.last
        self.last = now
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
    if ex.family == "modern":
        from modern.recipes import get_recipe

        cfg = get_recipe(ex.recipe).with_overrides(**item.overrides).to_dict()
    else:
        from lenet1998.recipes import LENET1998_RECIPES

        cfg = LENET1998_RECIPES[ex.recipe].replace(**item.overrides).effective_dict()
    return {**cfg, "train_subset": item.train_subset, "test_subset": item.test_subset, "holdout": item.holdout}


def run_dir(out: Path, item: RunItem) -> Path:
    return Path(out) / "runs" / item.experiment.id / f"s{item.seed}-{records.config_hash(resolved_config(item))}"


def _cached(d: Path) -> dict | None:
    try:
        return records.read_record(d)
    except LenetError:
        return None


# ---- textbook runs: one per worker process ----------------------------------------------------------

def _modern_worker(item: RunItem, d: str, device: str, data_root, threads: int) -> dict:
    import torch

    from modern.recipes import get_recipe
    from modern.train import train

    if threads:
        torch.set_num_threads(threads)
    from lenet_repro.atomic import ensure_dir
    from lenet_repro.errors import path_error

    recipe = get_recipe(item.experiment.recipe).with_overrides(**item.overrides)
    log_path = ensure_dir(d, "--out") / "train.log"
    try:
        f = open(log_path, "a")  # appended: a resumed run keeps the log of its first part
    except OSError as e:
        raise path_error(log_path, e, flag="--out") from None
    with f:
        return train(recipe, seed=item.seed, device=device, data_root=data_root, out_dir=d,
                     train_subset=item.train_subset, test_subset=item.test_subset, resume=True,
                     log=lambda s: print(s, file=f, flush=True))


def _run_modern(items: list[tuple[RunItem, Path]], device: str, data_root, jobs: int, retries: int, log,
                progress: Progress | None = None):
    progress = progress or Progress({"modern": len(items)}, log=lambda s: None)
    outcomes = []
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs)) if jobs > 1 else 0
    attempts = {it.key: 0 for it, _ in items}
    pending = list(items)
    while pending:
        failed = []
        if jobs <= 1:
            results = []
            for it, d in pending:
                t0 = time.time()
                try:
                    rec = _modern_worker(it, str(d), device, data_root, 0)
                    results.append((it, d, rec, None))
                    log(f"  done {it.key}: test acc {rec['final']['test_acc']:.3f} ({time.time() - t0:.0f} s)")
                    progress.finished("modern")
                except LenetError:
                    raise  # bad input (data, device): the user must fix it, retrying cannot help
                except Exception as e:  # noqa: BLE001 - a crash is reported, then retried
                    results.append((it, d, None, f"{type(e).__name__}: {e}"))
        else:
            results = []
            with cf.ProcessPoolExecutor(max_workers=jobs) as pool:
                futs = {pool.submit(_modern_worker, it, str(d), device, data_root, threads): (it, d)
                        for it, d in pending}
                for fut in cf.as_completed(futs):
                    it, d = futs[fut]
                    try:
                        rec = fut.result()
                        results.append((it, d, rec, None))
                        log(f"  done {it.key}: test acc {rec['final']['test_acc']:.3f}")
                        progress.finished("modern")
                    except LenetError:
                        raise
                    except Exception as e:  # noqa: BLE001
                        results.append((it, d, None, f"{type(e).__name__}: {e}"))
        for it, d, rec, err in results:
            if err is None:
                outcomes.append(Outcome(it, d, rec))
                continue
            attempts[it.key] += 1
            log(f"  FAILED {it.key} (attempt {attempts[it.key]}): {err}")
            if attempts[it.key] <= retries:
                failed.append((it, d))
            else:
                outcomes.append(Outcome(it, d, None, err))
                progress.finished("modern")
        pending = failed
    return outcomes


# ---- faithful runs: lockstep groups ---------------------------------------------------------------

def _run_lenet1998(items: list[tuple[RunItem, Path]], device: str, data_root, retries: int, log,
                   progress: Progress | None = None):
    progress = progress or Progress({"lenet1998": len(items)}, log=lambda s: None)
    from lenet1998.data import load_mnist
    from lenet1998.recipes import LENET1998_RECIPES
    from lenet1998.train import RunSpec, train_runs

    outcomes = []
    splits = {(it.train_subset, it.test_subset, it.holdout) for it, _ in items}
    for train_subset, test_subset, holdout in sorted(splits, key=str):
        group_items = [(it, d) for it, d in items
                       if (it.train_subset, it.test_subset, it.holdout) == (train_subset, test_subset, holdout)]
        data = load_mnist(data_root, train_subset, test_subset, holdout)
        # distortion runs first: they need the most memory, so keep them in their own groups
        group_items.sort(key=lambda x: (not x[0].overrides.get("distortions", False)
                                        and not LENET1998_RECIPES[x[0].experiment.recipe].distortions))
        for start in range(0, len(group_items), LOCKSTEP_GROUP):
            batch = group_items[start:start + LOCKSTEP_GROUP]
            specs = [RunSpec(it.experiment.recipe, LENET1998_RECIPES[it.experiment.recipe].replace(**it.overrides),
                             it.seed, d, label=it.key) for it, d in batch]
            for attempt in range(retries + 1):
                try:
                    log(f"  lockstep group of {len(specs)}: {', '.join(it.key for it, _ in batch)}")
                    recs = train_runs(specs, device=device, resume=True, data=data, log=lambda s: log("    " + s))
                    outcomes += [Outcome(it, d, rec) for (it, d), rec in zip(batch, recs)]
                    progress.finished("lenet1998", len(batch))
                    break
                except LenetError:
                    raise
                except Exception as e:  # noqa: BLE001 - reported and retried (resuming), never dropped
                    err = f"{type(e).__name__}: {e}"
                    log(f"  FAILED lockstep group (attempt {attempt + 1}): {err}\n{traceback.format_exc(limit=3)}")
                    if attempt == retries:
                        outcomes += [Outcome(it, d, None, err) for it, d in batch]
                        progress.finished("lenet1998", len(batch))
    return outcomes


def run_plan(plan: list[RunItem], out: Path, *, device: str = "auto", data_root=None, jobs: int = 1,
             retries: int = 1, readonly: bool = False, log=print) -> list[Outcome]:
    """Train what is not cached yet (or, with `readonly`, only collect what is) and return every outcome."""
    from lenet_repro.errors import ConfigError

    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"--retries must be a non-negative integer, got {retries!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs must be a positive integer, got {jobs!r}")
    out = Path(out)
    todo_modern, todo_1998, outcomes = [], [], []
    # identical runs requested by two experiments (e.g. the ablation baseline at full length and the
    # headline faithful run) are trained once and shared
    first_dir: dict[tuple, Path] = {}
    shared: list[tuple[RunItem, Path]] = []
    unique = []
    for it in plan:
        key = (it.experiment.family, it.experiment.recipe, records.config_hash(resolved_config(it)), it.seed)
        if key in first_dir:
            shared.append((it, first_dir[key]))
            continue
        first_dir[key] = run_dir(out, it)
        unique.append(it)
    for it in unique:
        d = run_dir(out, it)
        rec = _cached(d)
        if rec is not None:
            outcomes.append(Outcome(it, d, rec, cached=True))
        elif it.experiment.family == "modern":
            todo_modern.append((it, d))
        else:
            todo_1998.append((it, d))
    log(f"{len(plan)} runs ({len(shared)} shared): {len(outcomes)} cached, {len(todo_modern)} textbook and "
        f"{len(todo_1998)} faithful to train")
    if readonly:
        outcomes += [Outcome(it, d, None, "not run") for it, d in todo_modern + todo_1998]
        todo_modern, todo_1998 = [], []
    progress = Progress({"modern": len(todo_modern), "lenet1998": len(todo_1998)}, log=log)
    if todo_modern:
        outcomes += _run_modern(todo_modern, device, data_root, jobs, retries, log, progress)
    if todo_1998:
        outcomes += _run_lenet1998(todo_1998, device, data_root, retries, log, progress)
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
