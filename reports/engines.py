"""Engines that execute the plan's units of work: here (`local`, the default) or on a Ray cluster (`ray`).

A unit is what one worker does at once: a lockstep group of faithful runs (one process, all its
cores, K runs advanced together) or one textbook run. `execute_unit` trains a unit into given run
folders; both engines call it, so a unit computes the same numbers wherever it runs.

The Ray engine (`lenet report --engine ray --address HOST:PORT`) sends each unit to the cluster as a
task that asks for the cores it uses. No shared filesystem is assumed: the task trains in a
temporary folder on its node (resuming from the checkpoints the driver sends along) and returns the
files of its runs -- checkpoint, log, run record -- which the driver writes atomically into the
report's cache, record last. A task whose worker dies is retried by Ray (`--retries` times), then
listed as failed; nothing is lost or half-written, and interrupting the driver cancels the tasks, so
that running the same command again resumes from the cache. Every node must run the same code
(checked at connection: a fingerprint of the package sources and the kernel's numeric build) and
fetches the data itself if it lacks them.
"""

from __future__ import annotations

import hashlib
import concurrent.futures as cf
import contextlib
import io
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lenet_repro import atomic
from lenet_repro.errors import ConfigError, LenetError

from .plan import RunItem

ENGINES = ("local", "ray")
LOCKSTEP_GROUP = 8  # faithful runs trained together per unit (memory: ~250 MB each with distortions)
TASK_CPUS = 2  # cores one unit uses: the size of the machines this project is measured on
RUN_FILES = ("checkpoint.pt", "train.log", "result.json")  # result.json last: it marks a finished run
RAY_INSTALL_HINT = "pip install -e '.[ray]'"


@dataclass
class Unit:
    kind: str  # "lockstep" | "textbook" | "comparison"
    items: list[tuple[RunItem, Path]]  # (run, its folder in the report's cache)

    @property
    def name(self) -> str:
        first = self.items[0][0].key
        return first if len(self.items) == 1 else f"{first} +{len(self.items) - 1}"

    @property
    def family(self) -> str:
        return {"textbook": "modern", "lockstep": "lenet1998", "comparison": "comparison"}[self.kind]

    def cpus(self, task_cpus: int = TASK_CPUS) -> int:
        return max(1, min(task_cpus, len(self.items))) if self.kind == "lockstep" else task_cpus


def group_size(n_faithful: int, workers: int, cores: int = TASK_CPUS) -> int:
    """Lockstep group size for `workers` workers: enough units to keep every worker busy, at least
    `cores` runs per group (so that a group fills its worker) and at most LOCKSTEP_GROUP (memory).
    The group size changes no number: a lockstep member computes exactly its solo run."""
    if n_faithful == 0 or workers <= 1:
        return LOCKSTEP_GROUP
    return max(cores, min(LOCKSTEP_GROUP, math.ceil(n_faithful / workers)))


def make_units(todo_modern: list[tuple[RunItem, Path]], todo_1998: list[tuple[RunItem, Path]],
               group_size: int = LOCKSTEP_GROUP, todo_comparison: list[tuple[RunItem, Path]] = ()) -> list[Unit]:
    """Textbook and comparison runs one per unit; faithful runs in lockstep groups of the same data
    split, distortion runs first and among themselves (they need the most memory)."""
    from lenet1998.recipes import LENET1998_RECIPES

    units = [Unit("textbook", [x]) for x in todo_modern]
    splits = sorted({(it.train_subset, it.test_subset, it.holdout) for it, _ in todo_1998}, key=str)
    for split in splits:
        group = [(it, d) for it, d in todo_1998 if (it.train_subset, it.test_subset, it.holdout) == split]
        group.sort(key=lambda x: not (x[0].overrides.get("distortions", False)
                                      or LENET1998_RECIPES[x[0].experiment.recipe].distortions))
        units += [Unit("lockstep", group[i:i + group_size]) for i in range(0, len(group), group_size)]
    return units + [Unit("comparison", [x]) for x in todo_comparison]


# ---- one unit, wherever it runs ---------------------------------------------------------------------

def execute_unit(unit: Unit, device: str = "auto", data_root=None, threads: int = 0, log=print) -> list[dict]:
    """Train every run of `unit` into its folder (resuming what is there); return their run records."""
    if unit.kind == "textbook":
        it, d = unit.items[0]
        return [_textbook(it, d, device, data_root, threads)]
    if unit.kind == "comparison":
        it, d = unit.items[0]
        return [_comparison(it, d, data_root)]
    from lenet1998.data import load_mnist
    from lenet1998.recipes import LENET1998_RECIPES
    from lenet1998.train import RunSpec, train_runs

    it0 = unit.items[0][0]
    data = load_mnist(data_root, it0.train_subset, it0.test_subset, it0.holdout)
    specs = [RunSpec(it.experiment.recipe, LENET1998_RECIPES[it.experiment.recipe].replace(**it.overrides),
                     it.seed, d, label=it.key, train_eval=it.experiment.train_eval) for it, d in unit.items]
    return train_runs(specs, device=device, resume=True, data=data, log=log)


def _textbook(item: RunItem, d: Path, device: str, data_root, threads: int) -> dict:
    import torch

    from lenet_repro.errors import path_error
    from modern.recipes import get_recipe
    from modern.train import train

    if threads:
        torch.set_num_threads(threads)
    recipe = get_recipe(item.experiment.recipe).with_overrides(**item.overrides)
    log_path = atomic.ensure_dir(d, "--out") / "train.log"
    try:
        f = open(log_path, "a")  # appended: a resumed run keeps the log of its first part
    except OSError as e:
        raise path_error(log_path, e, flag="--out") from None
    with f:
        return train(recipe, seed=item.seed, device=device, data_root=data_root, out_dir=d,
                     train_subset=item.train_subset, test_subset=item.test_subset, resume=True,
                     log=lambda s: print(s, file=f, flush=True))


def _comparison(item: RunItem, d: Path, data_root) -> dict:
    """One Fig. 9 row (lenet1998/comparison/train.py), resuming a network's checkpoint; its log in train.log."""
    from lenet1998.comparison.train import train
    from lenet_repro.errors import path_error

    log_path = atomic.ensure_dir(d, "--out") / "train.log"
    try:
        f = open(log_path, "a")
    except OSError as e:
        raise path_error(log_path, e, flag="--out") from None
    with f:
        return train(item.experiment.recipe, options=item.overrides, seed=item.seed, data_root=data_root, out_dir=d,
                     train_subset=item.train_subset, test_subset=item.test_subset, holdout=item.holdout,
                     resume=True, log=lambda s: print(s, file=f, flush=True))


# ---- here -----------------------------------------------------------------------------------------

class LocalEngine:
    """This machine: lockstep groups one after another (each on all cores), textbook runs one after
    another or in `jobs` processes. A unit that crashes is retried (`retries` times, resuming from its
    checkpoints), then reported failed; bad input (a LenetError) stops the report at once."""

    def __init__(self, jobs: int = 1, retries: int = 1, log=print):
        self.jobs, self.retries, self.log = jobs, retries, log

    def run(self, units: list[Unit], device: str, data_root, on_done) -> None:
        textbook = [u for u in units if u.kind == "textbook"]
        if self.jobs > 1 and len(textbook) > 1:
            self._pool(textbook, device, data_root, on_done)
            units = [u for u in units if u.kind != "textbook"]
        for u in units:
            for attempt in range(self.retries + 1):
                t0 = time.time()
                try:
                    if u.kind == "lockstep":
                        self.log(f"  lockstep group of {len(u.items)}: {', '.join(it.key for it, _ in u.items)}")
                    recs = execute_unit(u, device, data_root, log=lambda s: self.log("    " + s))
                except LenetError:
                    raise  # bad input (data, device): the user must fix it, retrying cannot help
                except Exception as e:  # noqa: BLE001 - a crash is reported, then retried (resuming)
                    err = f"{type(e).__name__}: {e}"
                    self.log(f"  FAILED {u.name} (attempt {attempt + 1}): {err}")
                    if attempt == self.retries:
                        on_done(u, None, err)
                    continue
                self.log(f"  done {u.name} ({time.time() - t0:.0f} s)")
                on_done(u, recs, None)
                break

    def _pool(self, units: list[Unit], device: str, data_root, on_done) -> None:
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        attempts = {id(u): 0 for u in units}
        pending = list(units)
        while pending:
            again = []
            with cf.ProcessPoolExecutor(max_workers=self.jobs) as pool:
                futs = {pool.submit(_textbook, u.items[0][0], Path(u.items[0][1]), device, data_root,
                                    threads): u for u in pending}
                for fut in cf.as_completed(futs):
                    u = futs[fut]
                    try:
                        rec = fut.result()
                    except LenetError:
                        raise
                    except Exception as e:  # noqa: BLE001
                        attempts[id(u)] += 1
                        err = f"{type(e).__name__}: {e}"
                        self.log(f"  FAILED {u.name} (attempt {attempts[id(u)]}): {err}")
                        if attempts[id(u)] <= self.retries:
                            again.append(u)
                        else:
                            on_done(u, None, err)
                        continue
                    self.log(f"  done {u.name}")
                    on_done(u, [rec], None)
            pending = again

    def close(self) -> None:
        pass


# ---- Ray ------------------------------------------------------------------------------------------

def code_fingerprint() -> str:
    """Hash of the package sources (and the kernel source): nodes must run the same code."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in ("lenet_repro", "lenet1998", "modern", "reports"):
        for p in sorted((root / pkg).rglob("*")):
            if p.suffix in (".py", ".c", ".csv") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--engine ray needs Ray, which is not installed; {RAY_INSTALL_HINT}") from None
    return ray


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"--address {address!r} is not HOST:PORT; give the head node's address, "
                          f"e.g. 10.0.0.1:6379 (or 'local' for a Ray instance on this machine)")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise ConfigError(f"no Ray cluster answers at {address} ({why}); start one with `ray start --head "
                          f"--port={port}` or fix --address") from None


def _node_probe() -> dict:
    """Run on a node: what code, kernel build and data it has."""
    from lenet1998.fast.build import numeric_build_id

    return {"fingerprint": code_fingerprint(), "numeric_build": numeric_build_id(), "host": socket.gethostname(),
            "python": sys.version.split()[0]}


class RayEngine:
    """Connects to a cluster (or starts one on this machine for `address='local'`) and runs units there."""

    def __init__(self, address: str | None, retries: int = 1, task_cpus: int = TASK_CPUS, log=print):
        ray = self.ray = _import_ray()
        address = address or os.environ.get("RAY_ADDRESS")
        if not address:
            raise ConfigError("--engine ray needs --address HOST:PORT of a running cluster (or set RAY_ADDRESS); "
                              "`ray start --head` starts one, `--address local` runs Ray on this machine only")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        kwargs = dict(logging_level="ERROR", log_to_driver=False, configure_logging=True)
        if address == "local":
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **kwargs)
        else:
            _check_reachable(address)
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise ConfigError(f"cannot join the Ray cluster at {address} ({str(e).splitlines()[0][:160]}); "
                                  f"check the address and that the cluster runs Ray {ray.__version__}") from None
        self.address, self.retries, self.log = address, retries, log
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        max_cpus = max(int(n["Resources"].get("CPU", 0)) for n in nodes)
        if max_cpus < 1:
            raise ConfigError(f"the Ray cluster at {address} offers no CPUs; start nodes with --num-cpus")
        self.task_cpus = min(task_cpus, max_cpus)
        self.workers = max(1, int(sum(n["Resources"].get("CPU", 0) for n in nodes)) // self.task_cpus)
        self._check_nodes(nodes)
        log(f"ray engine: {len(nodes)} node(s), {int(sum(n['Resources'].get('CPU', 0) for n in nodes))} CPUs at "
            f"{address}; {self.task_cpus} CPU(s) per task, {retries} retr{'y' if retries == 1 else 'ies'} per task")

    def _check_nodes(self, nodes) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = self.ray.remote(num_cpus=0)(_node_probe)
        refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote()
                for n in nodes]
        try:
            got = self.ray.get(refs, timeout=120)
        except self.ray.exceptions.RayError as e:
            raise ConfigError(f"a Ray node cannot import lenet-repro ({type(e).__name__}); install this "
                              f"package (same commit) on every node: pip install -e '.[ray]'") from None
        mine = _node_probe()
        for n, g in zip(nodes, got):
            if (g["fingerprint"], g["numeric_build"]) != (mine["fingerprint"], mine["numeric_build"]):
                raise ConfigError(f"Ray node {n['NodeManagerAddress']} runs other lenet-repro code (fingerprint "
                                  f"{g['fingerprint']}, here {mine['fingerprint']}); install the same commit on "
                                  f"every node")

    def run(self, units: list[Unit], device: str, data_root, on_done) -> None:
        """Submit every unit; call `on_done(unit, records | None, error | None)` as each finishes."""
        ray = self.ray
        task = ray.remote(_ray_task)
        refs = {}
        for u in units:
            payload = _payload(u)
            opts = dict(num_cpus=u.cpus(self.task_cpus), max_retries=self.retries, retry_exceptions=True,
                        name=f"lenet:{u.name}")
            refs[task.options(**opts).remote(payload, device, data_root, u.cpus(self.task_cpus), list(sys.argv))] = u
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    u = refs.pop(ref)
                    try:
                        res = ray.get(ref)
                    except ray.exceptions.RayError as e:  # the worker died more often than retried, or crashed
                        on_done(u, None, f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
                        continue
                    if res.get("lenet_error"):
                        raise LenetError(res["lenet_error"])  # bad input: the user must fix it, as locally
                    records = [_write_back(d, files) for (_, d), files in zip(u.items, res["files"])]
                    self.log(f"  done {u.name} on node {res['node_id'][:12]} (pid {res['pid']})")
                    on_done(u, records, None)
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        self.ray.shutdown()


def _payload(u: Unit) -> dict:
    """The unit and the files its runs already have (checkpoints to resume from)."""
    files = []
    for _, d in u.items:
        ck = Path(d) / "checkpoint.pt"
        files.append({"checkpoint.pt": ck.read_bytes()} if ck.exists() else {})
    return {"unit": Unit(u.kind, [(it, Path(str(i))) for i, (it, _) in enumerate(u.items)]), "files": files}


def _ray_task(payload: dict, device: str, data_root, cpus: int, driver_argv: list[str]) -> dict:
    """Runs on a Ray worker: train the unit in a temporary folder, return its runs' files."""
    from lenet_repro import fetch
    from lenet_repro.datasets import resolve_data_root

    unit: Unit = payload["unit"]
    os.environ["LENET_THREADS"] = str(cpus)  # the kernel uses the cores the task asked for
    sys.argv = driver_argv  # provenance records the command the user ran
    work = Path(tempfile.mkdtemp(prefix="lenet-ray-"))
    try:
        root = data_root if data_root and Path(data_root).exists() else None
        needed = {_dataset(it) for it, _ in unit.items}
        for name in sorted(needed):
            fetch.fetch(name, resolve_data_root(root), log=lambda s: None)
        items = []
        for (it, rel), files in zip(unit.items, payload["files"]):
            d = work / rel
            d.mkdir(parents=True)
            for name, blob in files.items():
                (d / name).write_bytes(blob)
            items.append((it, d))
        logbuf = io.StringIO()
        execute_unit(Unit(unit.kind, items), device, root, cpus if unit.kind == "textbook" else 0,
                     log=lambda s: print(s, file=logbuf, flush=True))
        out = []
        for _, d in items:
            if unit.kind == "lockstep":
                (d / "train.log").write_text(logbuf.getvalue())
            out.append({n: (d / n).read_bytes() for n in RUN_FILES if (d / n).exists()})
        import ray

        return {"files": out, "node_id": ray.get_runtime_context().get_node_id(), "pid": os.getpid(),
                "at": time.time()}
    except LenetError as e:
        return {"lenet_error": str(e)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _dataset(item: RunItem) -> str:
    """The dataset a run trains on (what its node must have)."""
    if item.experiment.family in ("lenet1998", "comparison"):
        return "mnist"
    from modern.recipes import get_recipe

    return get_recipe(item.experiment.recipe).with_overrides(**item.overrides).dataset


def _write_back(d: Path, files: dict) -> dict:
    """Write one run's files into the cache (each atomically, the record last); return its record."""
    from lenet_repro import records

    if "result.json" not in files:
        raise LenetError(f"a Ray task returned no run record for {d}; this is a bug, re-run the report")
    for name in RUN_FILES:
        if name in files:
            atomic.write_bytes(Path(d) / name, files[name])
    return records.read_record(d)


# ---- a cluster on this machine (tests, benchmarks) ------------------------------------------------

LOOPBACK = "127.0.0.2"  # Ray rewrites 127.0.0.1 to the primary address (ray-project/ray#26293); .2 it keeps


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = TASK_CPUS, host: str = LOOPBACK):
    """Start a head node plus `nodes - 1` nodes joined to it (`ray start`), all on the loopback address
    `host`, usage reporting and dashboard off; yield the address; stop every Ray process at the end."""
    ray_bin = str(Path(sys.executable).with_name("ray"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    tmp = tempfile.mkdtemp(prefix="lr-")  # short: Ray's socket paths must fit in 107 bytes
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    address = f"{host}:{port}"
    common = ["--node-ip-address", host, "--num-cpus", str(cpus_per_node), "--disable-usage-stats"]

    def ray_cli(*args, check=True):
        return subprocess.run([ray_bin, *args], env=env, capture_output=True, text=True, timeout=120, check=check)

    try:
        ray_cli("start", "--head", "--port", str(port), "--include-dashboard=false", "--temp-dir", tmp, *common)
        for _ in range(nodes - 1):
            ray_cli("start", "--address", address, *common)
        probe = "import ray; ray.init(address='%s', logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))"
        for _ in range(60):
            out = subprocess.run([sys.executable, "-c", probe % address], env=env, capture_output=True, text=True,
                                 timeout=60).stdout.strip()
            if out.endswith(str(nodes)):
                break
            time.sleep(1)
        else:
            raise RuntimeError(f"the {nodes}-node Ray cluster at {address} did not come up")
        yield address
    finally:
        ray_cli("stop", "--force", check=False)
        shutil.rmtree(tmp, ignore_errors=True)
