"""Engines that execute the plan's units of work: here (`local`, the default) or on a Ray cluster (`ray`).

A unit is what one worker does at once: a lockstep group of faithful runs (one process, all its
cores, K runs advanced together) or one textbook run. `execute_unit` trains a unit into given run
folders; both engines call it, so a unit computes the same numbers wherever it runs.

The Ray engine (`lenet report --engine ray --address HOST:PORT`, or `ray://HOST:PORT` for a driver
outside the cluster with Ray Client) sends each unit to the cluster as a task that asks for the
cores it uses. It ships this package's code with the job (a runtime_env working_dir: the four
packages without run caches, data or built kernels), so a node needs only the dependencies; each
node builds the C kernels itself and is checked at connection (it imported the shipped code, computes
with the same numeric build, has the kernels this machine has). Every task runs torch on the local
engine's thread count, so its records are the local engine's whatever the node's size. No shared
filesystem is assumed: the task trains in a temporary folder on its node (resuming from the
checkpoints the driver sends along) and returns the files of its runs -- checkpoint, log, run record
-- which the driver writes atomically into the report's cache, record last. A task whose worker dies
is retried by Ray (`--retries` times), then listed as failed; nothing is lost or half-written, and
interrupting the driver cancels the tasks, so that running the same command again resumes from the
cache. Each node fetches the data itself if it lacks them.

`local_cluster` starts a cluster on this machine for the tests and benchmarks: every listener on the
loopback, torn down by its own processes' ids.
"""

from __future__ import annotations

import hashlib
import concurrent.futures as cf
import contextlib
import importlib.util
import io
import ipaddress
import math
import os
import re
import shutil
import signal
import socket
import stat
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

PACKAGES = ("lenet_repro", "lenet1998", "modern", "reports")  # what a node needs of this repository
SHIP_SKIP_DIRS = ("__pycache__", "runs")  # byte code; run caches (reports/<profile>/runs and any other)
SHIP_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".o", ".tmp")  # built here: a node builds its own kernel
SHIP_MAX_FILE = 4 << 20  # bytes: a bigger file is data, not code
RAY_CLIENT_PORT = 10001  # Ray Client's default port on the head node
FORWARDED_ENV = ("LENET_NO_FAST", "LENET_KERNEL_TARGET")  # settings that decide a node's numbers, as here


def code_root() -> Path:
    """The folder holding this package's four top-level packages (the repository, or site-packages)."""
    return Path(__file__).resolve().parents[2]


def code_files(root: Path | None = None) -> list[Path]:
    """The files of the four packages under `root` that a node needs, relative to `root`, sorted: every
    regular file but byte code, built libraries, hidden files, run caches and files over SHIP_MAX_FILE."""
    root = Path(root) if root is not None else code_root()
    files = []
    for pkg in PACKAGES:
        for dirpath, dirnames, filenames in os.walk(root / pkg):  # symlinked folders are not followed
            dirnames[:] = sorted(d for d in dirnames if d not in SHIP_SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if name.startswith(".") or name.endswith(SHIP_SKIP_SUFFIXES) or p.is_symlink():
                    continue
                try:
                    st = p.stat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_size <= SHIP_MAX_FILE:
                    files.append(p.relative_to(root))
    return files


def code_fingerprint(root: Path | None = None) -> str:
    """Hash of the package sources (.py, the kernels' .c, the .csv tables) among `code_files(root)`:
    the driver compares it with what every node imported."""
    root = Path(root) if root is not None else code_root()
    h = hashlib.sha256()
    for rel in code_files(root):
        if rel.suffix in (".py", ".c", ".csv"):
            try:
                data = (root / rel).read_bytes()
            except OSError:
                continue
            h.update(rel.as_posix().encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:16]


def ship_code() -> tuple[Path, int, int]:
    """Copy `code_files()` into a fresh temporary folder (the job's working_dir, which Ray zips and sends
    to every node); return (folder, files, bytes)."""
    root = code_root()
    stage = Path(tempfile.mkdtemp(prefix="lenet-ship-"))
    n = size = 0
    try:
        for rel in code_files(root):
            dst = stage / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(root / rel, dst)
            except OSError:
                continue  # vanished since it was listed
            n += 1
            size += dst.stat().st_size
    except OSError as e:
        shutil.rmtree(stage, ignore_errors=True)
        raise ConfigError(f"cannot stage the code to ship to the Ray cluster in {stage} ({e.strerror}); "
                          f"free space in the temporary folder or set TMPDIR") from None
    return stage, n, size


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--engine ray needs Ray, which is not installed; {RAY_INSTALL_HINT}") from None
    return ray


_HOST_PORT = re.compile(r"\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<p6>\d+))?|(?P<host>[^:\[\]/\s]+)(?::(?P<port>\d+))?")


def parse_address(address: str) -> tuple[bool, str, int]:
    """(client, host, port) of an --address: HOST:PORT, the head node's GCS address (6379 by default),
    or ray://HOST[:PORT], a Ray Client server (port 10001 by default). Anything else: ConfigError."""
    scheme, sep, rest = address.partition("://")
    if sep and scheme != "ray":
        raise ConfigError(f"--address {address!r}: {scheme}:// is not a Ray cluster address; give the head node's "
                          f"HOST:PORT (e.g. 10.0.0.1:6379) or a Ray Client address ray://HOST:{RAY_CLIENT_PORT}")
    client, hostport = bool(sep), (rest.rstrip("/") if sep else address)
    m = _HOST_PORT.fullmatch(hostport)
    host = m and (m["v6"] or m["host"])
    port = m and (m["p6"] or m["port"])
    if host and not port and client:
        port = str(RAY_CLIENT_PORT)
    if not host or not port or not 0 < int(port) < 65536:
        raise ConfigError(f"--address {address!r} is not HOST:PORT; give the head node's address, e.g. 10.0.0.1:6379, "
                          f"a Ray Client address ray://HOST:{RAY_CLIENT_PORT}, or 'local' for a Ray instance on "
                          f"this machine")
    return client, host, int(port)


def _check_reachable(address: str, client: bool, host: str, port: int, timeout: float = 5.0) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        start = (f"`ray start --head` starts Ray Client's server on port {RAY_CLIENT_PORT} where Ray Client is "
                 f"installed (pip install 'ray[client]')") if client else f"start one with `ray start --head --port={port}`"
        raise ConfigError(f"no Ray cluster answers at {address} ({why}); {start}, or fix --address") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _loopback_kept(host: str):
    """Ray replaces a loopback node or cluster address by the machine's primary address
    (`services.resolve_ip_for_localhost`, ray-project/ray#26293 and #59110); a cluster bound to the
    loopback (local_cluster, `--address local`) does not listen there. For a loopback `host`, keep it."""
    services = None
    if _is_loopback(host):
        with contextlib.suppress(ImportError):
            from ray._private import services
    orig = getattr(services, "resolve_ip_for_localhost", None)
    if orig is None:
        yield
        return
    services.resolve_ip_for_localhost = lambda h: h
    try:
        yield
    finally:
        services.resolve_ip_for_localhost = orig


def _kernel_status() -> dict:
    """Build (if needed) and load both C kernels here: {kernel: None, or why it cannot}."""
    from lenet1998.fast.binding import load_kernel
    from lenet1998.fast.layered import load_layered_kernel

    out = {}
    for name, load in (("lenet5", load_kernel), ("layered", load_layered_kernel)):
        try:
            load()
            out[name] = None
        except Exception as e:  # noqa: BLE001 - BuildError, PathError, ConfigError: reported, not raised
            out[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    return out


def _node_probe() -> dict:
    """Run on a node: the code it imported (and from where), the kernels it built, its host."""
    from lenet1998.fast.build import numeric_build_id

    return {"fingerprint": code_fingerprint(), "code_root": str(code_root()), "numeric_build": numeric_build_id(),
            "kernels": _kernel_status(), "host": socket.gethostname(), "pid": os.getpid(),
            "python": sys.version.split()[0]}


def local_threads() -> int:
    """torch's intra-op thread count in this process: what the local engine trains with here."""
    import torch

    return torch.get_num_threads()


class RayEngine:
    """Connects to a cluster (or starts one on this machine for `address='local'`), ships this package's
    code to it (the job's runtime_env working_dir: a node needs only the dependencies) and runs units
    there, each task on `threads` torch threads (default: the local engine's here), so that the records
    are the local engine's whatever the nodes' size."""

    def __init__(self, address: str | None, retries: int = 1, task_cpus: int = TASK_CPUS, log=print,
                 threads: int | None = None):
        ray = self.ray = _import_ray()
        address = address or os.environ.get("RAY_ADDRESS")
        if not address:
            raise ConfigError("--engine ray needs --address HOST:PORT of a running cluster (or set RAY_ADDRESS); "
                              "`ray start --head` starts one, `--address local` runs Ray on this machine only")
        client, host, port = (False, LOOPBACK, 0) if address == "local" else parse_address(address)
        if address != "local":
            _check_reachable(address, client, host, port)
            if client and importlib.util.find_spec("grpc") is None:
                raise ConfigError(f"--address {address} is a Ray Client address, which needs Ray Client here "
                                  f"(pip install 'ray[client]'); or run the report on a node of the cluster with "
                                  f"--address HEAD:6379")
        self.threads, whose = (threads, "") if threads else (local_threads(), " (the local engine's)")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self.stage, n_files, n_bytes = ship_code()
        self.fingerprint = code_fingerprint(self.stage)
        env_vars = {"OMP_NUM_THREADS": str(self.threads),
                    **{k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}}
        runtime_env = {"working_dir": str(self.stage), "env_vars": env_vars}
        log(f"ray engine: shipping {n_files} files ({n_bytes / 1e6:.1f} MB) of {code_root()} to the cluster "
            f"(runtime_env working_dir; run caches, data, built kernels and files over "
            f"{SHIP_MAX_FILE >> 20} MB left out)")
        try:
            kwargs = dict(logging_level="ERROR", log_to_driver=False, configure_logging=True, runtime_env=runtime_env)
            with _loopback_kept(host):
                if address == "local":  # on the loopback only: nobody else can reach it
                    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, _node_ip_address=LOOPBACK, **kwargs)
                else:
                    ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
            shutil.rmtree(self.stage, ignore_errors=True)
            raise ConfigError(f"cannot join the Ray cluster at {address} ({str(e).splitlines()[0][:160]}); "
                              f"check the address and that the cluster runs Ray {ray.__version__}") from None
        except BaseException:
            shutil.rmtree(self.stage, ignore_errors=True)
            raise
        try:
            self.address, self.retries, self.log = address, retries, log
            nodes = [n for n in ray.nodes() if n.get("Alive")]
            max_cpus = max(int(n["Resources"].get("CPU", 0)) for n in nodes)
            if max_cpus < 1:
                raise ConfigError(f"the Ray cluster at {address} offers no CPUs; start nodes with --num-cpus")
            self.task_cpus = min(task_cpus, max_cpus)
            self.workers = max(1, int(sum(n["Resources"].get("CPU", 0) for n in nodes)) // self.task_cpus)
            self.node_info = self._check_nodes(nodes)
        except BaseException:
            self.close()
            raise
        log(f"ray engine: {len(nodes)} node(s), {int(sum(n['Resources'].get('CPU', 0) for n in nodes))} CPUs at "
            f"{address}; {self.task_cpus} CPU(s) and {self.threads} torch thread(s){whose} per task, "
            f"{retries} retr{'y' if retries == 1 else 'ies'} per task")

    def _check_nodes(self, nodes) -> list[dict]:
        """Every node imports the shipped code, builds the kernels this machine has, and so computes what
        this machine would."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from lenet1998.fast.build import numeric_build_id

        probe = self.ray.remote(num_cpus=0)(_node_probe)
        refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote()
                for n in nodes]
        try:
            got = self.ray.get(refs, timeout=600)  # a cold node unpacks the code and compiles two kernels
        except (self.ray.exceptions.RayError, TimeoutError) as e:
            why = (str(e).strip().splitlines() or [""])[-1][:200]
            raise ConfigError(f"a Ray node cannot run lenet-repro's shipped code ({type(e).__name__}: {why}); every "
                              f"node needs this package's dependencies (torch, numpy, ...; `make install` of this "
                              f"commit installs them)") from None
        here = _kernel_status()
        for n, g in zip(nodes, got):
            where = n["NodeManagerAddress"]
            if g["fingerprint"] != self.fingerprint:
                raise ConfigError(f"Ray node {where} imported other lenet-repro code (fingerprint {g['fingerprint']} "
                                  f"from {g['code_root']}, shipped {self.fingerprint}); remove the lenet-repro "
                                  f"installed on that node's Python path ahead of the job's working_dir")
            if g["numeric_build"] != numeric_build_id():
                raise ConfigError(f"Ray node {where} computes with another numeric build ({g['numeric_build']}); "
                                  f"this is a bug, report it")
            for kernel, err in g["kernels"].items():
                if err and here.get(kernel) is None:
                    raise ConfigError(f"Ray node {where} cannot build the {kernel} C kernel ({err}); install gcc "
                                      f"there (or set CC), so that it computes what this machine does")
        return got

    def run(self, units: list[Unit], device: str, data_root, on_done) -> None:
        """Submit every unit; call `on_done(unit, records | None, error | None)` as each finishes."""
        ray = self.ray
        task = ray.remote(_ray_task)
        refs = {}
        for u in units:
            payload = _payload(u)
            opts = dict(num_cpus=u.cpus(self.task_cpus), max_retries=self.retries, retry_exceptions=True,
                        name=f"lenet:{u.name}")
            refs[task.options(**opts).remote(payload, device, data_root, u.cpus(self.task_cpus), list(sys.argv),
                                             self.threads)] = u
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
        with contextlib.suppress(Exception):
            self.ray.shutdown()
        shutil.rmtree(self.stage, ignore_errors=True)


def _payload(u: Unit) -> dict:
    """The unit and the files its runs already have (checkpoints to resume from)."""
    files = []
    for _, d in u.items:
        ck = Path(d) / "checkpoint.pt"
        files.append({"checkpoint.pt": ck.read_bytes()} if ck.exists() else {})
    return {"unit": Unit(u.kind, [(it, Path(str(i))) for i, (it, _) in enumerate(u.items)]), "files": files}


def _ray_task(payload: dict, device: str, data_root, cpus: int, driver_argv: list[str], threads: int = 0) -> dict:
    """Runs on a Ray worker: train the unit in a temporary folder, return its runs' files."""
    import torch

    from lenet_repro import fetch
    from lenet_repro.datasets import resolve_data_root

    unit: Unit = payload["unit"]
    os.environ["LENET_THREADS"] = str(cpus)  # the kernel uses the cores the task asked for (no number depends on it)
    threads = threads or cpus
    torch.set_num_threads(threads)  # torch's results do depend on it: the driver's (local engine's) count
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
        execute_unit(Unit(unit.kind, items), device, root, threads, log=lambda s: print(s, file=logbuf, flush=True))
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

LOOPBACK = "127.0.0.1"  # exactly this: Ray binds its servers to the loopback only for 127.0.0.1 (else to *)
CLUSTER_ENV = "LENET_RAY_CLUSTER"  # every process of a local_cluster carries its token in its environment
# `ray` (the CLI) with the loopback rewrite turned off (see _loopback_kept): `ray start
# --node-ip-address=127.0.0.1` would otherwise register, and bind to, the machine's primary address.
_RAY_CLI = ("import sys\n"
            "from ray._private import services\n"
            "if hasattr(services, 'resolve_ip_for_localhost'):\n"
            "    services.resolve_ip_for_localhost = lambda host: host\n"
            "from ray.scripts.scripts import main\n"
            "sys.argv[0] = 'ray'\n"
            "sys.exit(main())\n")
_NODES_UP = ("import sys, time\n"
             "from ray._private import services\n"
             "services.resolve_ip_for_localhost = lambda host: host\n"
             "import ray\n"
             "ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False)\n"
             "for _ in range(120):\n"
             "    if sum(n['Alive'] for n in ray.nodes()) >= int(sys.argv[2]):\n"
             "        sys.exit(0)\n"
             "    time.sleep(0.5)\n"
             "sys.exit(1)\n")


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, session id) of a live process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[3])


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie has: it holds no socket, runs nothing)."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def listeners(pids) -> list[tuple[str, int, int, str]]:
    """(address, port, pid, process name) of every listening TCP socket and bound UDP socket of `pids`,
    from `ss -ltunpH` (or psutil where ss is missing)."""
    pids = set(pids)
    out = []
    ss = shutil.which("ss")
    if ss:
        text = subprocess.run([ss, "-ltunpH"], capture_output=True, text=True, timeout=30, check=True).stdout
        for line in text.splitlines():
            cols = line.split()
            if len(cols) < 6:
                continue
            host, _, port = cols[4].rpartition(":")
            for name, pid in re.findall(r'\("([^"]*)",pid=(\d+),', line):
                if int(pid) in pids:
                    out.append((host, int(port) if port.isdigit() else 0, int(pid), name))
        return out
    import psutil  # noqa: PLC0415 - only where ss is missing

    for c in psutil.net_connections(kind="inet"):
        if c.pid in pids and c.laddr and (c.status == psutil.CONN_LISTEN or (not c.raddr and c.type == socket.SOCK_DGRAM)):
            out.append((c.laddr.ip, c.laddr.port, c.pid, psutil.Process(c.pid).name()))
    return out


def on_loopback(host: str) -> bool:
    """Whether a socket address as `ss` prints it ("127.0.0.1", "[::ffff:127.0.0.1]", "[::1]",
    "127.0.0.1%lo", "*", "0.0.0.0") is on the loopback only."""
    h = host.strip("[]").split("%", 1)[0]
    if h.lower().startswith("::ffff:") and "." in h:
        h = h[7:]
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


class LocalCluster:
    """A Ray cluster of `nodes` nodes on this machine (`ray start --head` plus `nodes - 1` joined nodes),
    every listener on the loopback (127.0.0.1, which Ray is kept from rewriting), usage reporting and
    dashboard off, its own temporary folder. Each `ray start` runs in a session of its own and every
    process of the cluster carries this cluster's token in its environment: `pids()` finds them and
    `stop()` ends exactly them (never `ray stop`, which would end every Ray process on the machine)."""

    def __init__(self, nodes: int = 2, cpus_per_node: int = TASK_CPUS, host: str = LOOPBACK):
        self.nodes, self.cpus_per_node, self.host = nodes, cpus_per_node, host
        self.token = f"{os.getpid()}-{time.time_ns()}"
        self.temp_dir = tempfile.mkdtemp(prefix="lr-")  # short: Ray's socket paths must fit in 107 bytes
        self.env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        tmp = os.path.join(self.temp_dir, "tmp")  # the tasks' temporary folders: removed with the cluster,
        os.mkdir(tmp)                             # also those of a worker killed mid-task
        self.env.update({"RAY_USAGE_STATS_ENABLED": "0", CLUSTER_ENV: self.token, "TMPDIR": tmp})
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        self.port = port
        self.address = f"{host}:{port}"
        self.sessions: list[int] = []  # pids of the `ray start` processes = the session ids of their nodes

    def _ray(self, *args) -> None:
        proc = subprocess.Popen([sys.executable, "-c", _RAY_CLI, *args], env=self.env, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.sessions.append(proc.pid)
        try:
            out, _ = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise RuntimeError(f"`ray {' '.join(args[:2])}` did not finish in 180 s") from None
        if proc.returncode != 0:
            raise RuntimeError(f"`ray {' '.join(args)}` failed ({proc.returncode}): {out.strip()[-1500:]}")

    def start(self) -> LocalCluster:
        common = ["--node-ip-address", self.host, "--num-cpus", str(self.cpus_per_node), "--disable-usage-stats"]
        self._ray("start", "--head", "--port", str(self.port), "--include-dashboard=false", "--temp-dir",
                  self.temp_dir, *common)
        for _ in range(self.nodes - 1):
            self._ray("start", "--address", self.address, *common)
        env = {k: v for k, v in self.env.items() if k != CLUSTER_ENV}  # a driver, not part of the cluster
        up = subprocess.run([sys.executable, "-c", _NODES_UP, self.address, str(self.nodes)], env=env,
                            capture_output=True, text=True, timeout=180)
        if up.returncode != 0:
            raise RuntimeError(f"the {self.nodes}-node Ray cluster at {self.address} did not come up: "
                               f"{up.stderr.strip()[-1500:]}")
        return self

    def pids(self) -> set[int]:
        """Every live process of this cluster: those in the sessions of its `ray start`s, and any other
        that carries its token (a process that left the session)."""
        mine, marker = set(), f"{CLUSTER_ENV}={self.token}".encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            pid = int(entry)
            st = _proc_stat(pid)
            if st is None or st[0] in ("Z", "X"):
                continue
            if st[1] in self.sessions:
                mine.add(pid)
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        mine.add(pid)
            except OSError:
                continue
        return mine

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM every process of this cluster (and any it starts meanwhile), SIGKILL what is left after
        `grace` seconds (the GCS server takes its time), remove the cluster's folder."""
        t0, signalled = time.time(), {}
        while time.time() - t0 < grace + 15:
            pids = self.pids()
            if not pids:
                break
            sig = signal.SIGTERM if time.time() - t0 < grace else signal.SIGKILL
            for pid in pids:
                if signalled.get(pid) != sig:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, sig)
                    signalled[pid] = sig
            time.sleep(0.1)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = TASK_CPUS, host: str = LOOPBACK):
    """Start a LocalCluster, yield it (its `.address` is what `--address` takes), stop it at the end."""
    cluster = LocalCluster(nodes, cpus_per_node, host)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
