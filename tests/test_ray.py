"""The Ray engine against a real two-node cluster started here (issue 9).

The cluster: `ray start --head` plus a second node joined to it with `ray start --address`, both on
127.0.0.2 (a loopback address: Ray rewrites 127.0.0.1 itself to the machine's primary address,
ray-project/ray#26293, so 127.0.0.2 keeps every node's traffic on the loopback device), usage
reporting off, no dashboard, each node offering 2 CPUs. Every Ray process the tests start is
stopped at the end (`ray stop --force`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lenet_repro.records import numbers_of

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")

from reports.engines import RayEngine, Unit, execute_unit, local_cluster  # noqa: E402
from reports.plan import build_plan  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.data, pytest.mark.slow]

ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(nodes=2, cpus_per_node=2) as address:
        yield address
        if ray.is_initialized():
            ray.shutdown()


def _records(out: Path) -> dict[str, dict]:
    return {str(p.parent.relative_to(out)): numbers_of(json.loads(p.read_text()))
            for p in sorted(out.glob("runs/**/result.json"))}


def test_smoke_plan_on_two_nodes_equals_the_local_engine(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    base = [sys.executable, "-m", "reports.report", "--profile", "smoke"]
    t0 = time.time()
    subprocess.run([*base, "--out", str(local)], env=ENV, check=True, capture_output=True, text=True, timeout=900)
    t_local = time.time() - t0
    t0 = time.time()
    proc = subprocess.run([*base, "--out", str(remote), "--engine", "ray", "--address", cluster], env=ENV,
                          capture_output=True, text=True, timeout=900)
    t_ray = time.time() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    nodes = {line.split(" on node ")[1].split()[0] for line in proc.stdout.splitlines() if " on node " in line}
    assert len(nodes) == 2, proc.stdout[-2000:]  # the units really ran on both nodes
    a, b = _records(local), _records(remote)
    assert len(a) >= 30  # the whole smoke plan: textbook runs and lockstep groups
    assert a.keys() == b.keys() and a == b  # same seeds, same numbers, wherever they ran
    assert json.loads((remote / "failures.json").read_text()) == []
    print(f"smoke plan: local {t_local:.0f} s, ray {t_ray:.0f} s")


def _unit(tmp_path, name="kill"):
    (item,) = [it for it in build_plan("smoke") if it.experiment.id == "faithful/lenet5-1998"]
    item = type(item)(item.experiment, item.seed, {**item.overrides, "passes": 3}, 12_000, 2_000)
    return Unit("lockstep", [(item, tmp_path / name / "run")])


def _kill_first_task_worker(stop_after: float = 120.0) -> int:
    """SIGKILL the Ray worker process running a lenet task as soon as one appears; return its pid."""
    t0 = time.time()
    while time.time() - t0 < stop_after:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("ray::lenet:") or cmd.startswith("ray::_ray_task"):
                os.kill(int(pid), 9)
                return int(pid)
        time.sleep(0.05)
    raise AssertionError("no Ray worker ran the task")


@pytest.mark.parametrize("retries", [1, 0])
def test_a_killed_worker_is_retried_then_listed_as_failed(cluster, tmp_path, retries):
    import threading

    unit = _unit(tmp_path, f"r{retries}")
    done = []
    eng = RayEngine(cluster, retries=retries, log=lambda s: None)
    try:
        killer = {}
        t = threading.Thread(target=lambda: killer.setdefault("pid", _kill_first_task_worker()))
        t.start()
        eng.run([unit], "auto", None, lambda u, recs, err: done.append((recs, err)))
        t.join()
    finally:
        eng.close()
    assert killer["pid"] > 0
    ((recs, err),) = done
    run_dir = unit.items[0][1]
    if retries:
        assert err is None and recs[0]["final"]["test_n"] == 2000
        ref_dir = tmp_path / "local" / "run"
        (ref,) = execute_unit(Unit("lockstep", [(unit.items[0][0], ref_dir)]), log=lambda s: None)
        assert numbers_of(recs[0]) == numbers_of(ref)  # the retried task computed the same run
    else:
        assert recs is None and "WorkerCrashedError" in err, err
        assert not (run_dir / "result.json").exists()  # nothing half-written, nothing claimed
