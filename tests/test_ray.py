"""The Ray engine against real clusters started here (issues 9 and 19).

A cluster (reports.run.engines.local_cluster): `ray start --head` plus nodes joined to it with `ray start
--address`, all on 127.0.0.1 with Ray kept from rewriting it to the machine's primary address
(ray-project/ray#26293), so that every server binds to the loopback only; usage reporting off, no
dashboard. Each `ray start` runs in a session of its own and every process of the cluster carries the
cluster's token in its environment: teardown ends exactly those processes, by their ids (never `ray
stop`, which ends every Ray process on the machine, a user's own cluster included).

The tests check that every listener of a cluster (and of the driver) is on the loopback, that the
engine ships the code (a node imports the job's working_dir, not this checkout), that teardown ends
the cluster's processes and no other, that `ray://` addresses are one-line errors when they cannot
work, and that the records are the local engine's bit for bit, on 2-CPU nodes (the whole smoke
plan) and on 1-CPU nodes (part of it: torch runs on the local engine's thread count whatever the
node's size).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lenet_repro.records import numbers_of

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")

from reports import report  # noqa: E402
from reports.run.engines import (  # noqa: E402
    RayEngine, Unit, code_root, execute_unit, is_running, listeners, local_cluster, on_loopback)
from reports.run.plan import build_plan  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.data, pytest.mark.slow]

ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
REPORT = [sys.executable, "-m", "reports.report", "--profile", "smoke"]
ONLY = "textbook/*,alone-textbook/*,faithful/*,comparison/*"  # torch, kernel and Fig. 9 runs: 25 of the 116


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(nodes=2, cpus_per_node=2) as c:
        yield c
        if ray.is_initialized():
            ray.shutdown()


def _records(out: Path) -> dict[str, dict]:
    return {str(p.parent.relative_to(out)): numbers_of(json.loads(p.read_text()))
            for p in sorted(out.glob("runs/**/result.json"))}


def _report(out: Path, *args) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.time()
    proc = subprocess.run([*REPORT, "--out", str(out), *args], env=ENV, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, time.time() - t0


def _nodes_used(stdout: str) -> set[str]:
    return {line.split(" on node ")[1].split()[0] for line in stdout.splitlines() if " on node " in line}


def test_smoke_plan_on_two_nodes_equals_the_local_engine(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    _, t_local = _report(local)
    proc, t_ray = _report(remote, "--engine", "ray", "--address", cluster.address)
    assert len(_nodes_used(proc.stdout)) == 2, proc.stdout[-2000:]  # the units really ran on both nodes
    shipped = [ln for ln in proc.stdout.splitlines() if ln.startswith("ray engine: shipping ")]
    assert len(shipped) == 1 and " files (" in shipped[0] and " MB) of " in shipped[0], proc.stdout[:2000]
    a, b = _records(local), _records(remote)
    assert len(a) >= 30  # the whole smoke plan: textbook runs and lockstep groups
    assert a.keys() == b.keys() and a == b  # same seeds, same numbers, wherever they ran
    assert json.loads((remote / "failures.json").read_text()) == []
    print(f"smoke plan: local {t_local:.0f} s, ray {t_ray:.0f} s")


def test_every_listener_is_on_the_loopback_and_the_code_is_shipped(cluster):
    lines = []
    eng = RayEngine(cluster.address, log=lines.append)
    try:
        pids = cluster.pids()
        socks = listeners(pids | {os.getpid()})  # the cluster's processes, and this driver's
        assert all(g["pid"] in pids for g in eng.node_info)  # the workers are found as the cluster's own
    finally:
        eng.close()
    names = {name for _, _, _, name in socks}
    assert {"gcs_server", "raylet"} <= names and any(n.startswith("ray::") for n in names), socks
    assert any(port == cluster.port for _, port, _, _ in socks)  # the GCS, at the address the cluster gave
    assert len({pid for _, _, pid, name in socks if name == "raylet"}) == 2  # both nodes
    outside = [s for s in socks if not on_loopback(s[0])]
    assert not outside, f"listening beyond the loopback: {outside}"
    # the nodes imported the shipped working_dir (in the cluster's folder), not this checkout
    assert len(eng.node_info) == 2
    for g in eng.node_info:
        assert g["code_root"].startswith(cluster.temp_dir) and Path(g["code_root"]) != code_root(), g
        assert g["fingerprint"] == eng.fingerprint and g["kernels"] == {"lenet5": None, "layered": None}, g
    assert any(ln.startswith("ray engine: shipping ") for ln in lines), lines


def test_the_loopback_check_itself():
    assert all(on_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "[::ffff:127.0.0.1]", "[::1]", "127.0.0.1%lo"))
    assert not any(on_loopback(h) for h in ("*", "0.0.0.0", "[::]", "192.0.2.2", "[::ffff:10.0.0.1]", ""))


def test_teardown_ends_the_clusters_processes_by_pid_and_no_other(tmp_path):
    decoy_bin = tmp_path / "raylet"  # a process named like Ray's: `ray stop --force` would end it
    decoy_bin.symlink_to("/bin/sleep")
    decoy = subprocess.Popen([str(decoy_bin), "600"], start_new_session=True)
    try:
        with local_cluster(nodes=1, cpus_per_node=1) as c:
            pids = c.pids()
            assert decoy.pid not in pids
            assert len(pids) >= 3
            comms = {Path(f"/proc/{p}/comm").read_text().strip() for p in pids if Path(f"/proc/{p}/comm").exists()}
            assert {"gcs_server", "raylet"} <= comms, comms
            temp_dir = c.temp_dir
        assert c.pids() == set()
        left = [p for p in pids if is_running(p)]
        assert not left, f"cluster processes still running after teardown: {left}"
        assert not Path(temp_dir).exists()
        assert decoy.poll() is None  # untouched
    finally:
        decoy.send_signal(signal.SIGKILL)
        decoy.wait()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line(capsys, code, *needles) -> str:
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def test_ray_client_addresses_are_one_line_errors_when_they_cannot_work(capsys, tmp_path):
    out = tmp_path / "o"
    port = _closed_port()
    t0 = time.time()
    code = report.main(["--profile", "smoke", "--out", str(out), "--engine", "ray", "--address", f"ray://127.0.0.1:{port}"])
    _one_line(capsys, code, f"no Ray cluster answers at ray://127.0.0.1:{port}", "Ray Client", "fix --address")
    assert time.time() - t0 < 20
    code = report.main(["--profile", "smoke", "--out", str(out), "--engine", "ray", "--address", "http://127.0.0.1:8265"])
    _one_line(capsys, code, "http:// is not a Ray cluster address", "ray://HOST:10001")
    code = report.main(["--profile", "smoke", "--out", str(out), "--engine", "ray", "--address", "ray://"])
    _one_line(capsys, code, "is not HOST:PORT")
    import importlib.util

    if importlib.util.find_spec("grpc") is None:  # Ray Client is not installed: say so, do not hang on it
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen()
            addr = f"ray://127.0.0.1:{srv.getsockname()[1]}"
            t0 = time.time()
            code = report.main(["--profile", "smoke", "--out", str(out), "--engine", "ray", "--address", addr])
        _one_line(capsys, code, f"{addr} is a Ray Client address", "pip install 'ray[client]'")
        assert time.time() - t0 < 20
    assert not (out / "runs").exists()  # nothing trained, nothing written


def test_one_cpu_nodes_give_the_local_engines_records(tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    _report(local, "--only", ONLY)
    with local_cluster(nodes=2, cpus_per_node=1) as c:
        proc, _ = _report(remote, "--only", ONLY, "--engine", "ray", "--address", c.address)
    assert "1 CPU(s) and " in proc.stdout and len(_nodes_used(proc.stdout)) == 2, proc.stdout[-2000:]
    a, b = _records(local), _records(remote)
    assert len(a) >= 20 and {k.split("/")[1] for k in a} == {"textbook", "alone-textbook", "faithful", "comparison"}
    assert a.keys() == b.keys()
    for k in a:  # the fields that must agree, named first for a readable failure, then everything
        for field in ("test_error", "test_misses", "train_loss", "train_error"):
            assert a[k]["final"].get(field) == b[k]["final"].get(field), (k, field)
        assert a[k] == b[k], k


def _unit(tmp_path, name="kill"):
    (item,) = [it for it in build_plan("smoke") if it.experiment.id == "faithful/lenet5-1998"]
    item = type(item)(item.experiment, item.seed, {**item.overrides, "passes": 3}, 12_000, 2_000)
    return Unit("lockstep", [(item, tmp_path / name / "run")])


def _kill_first_task_worker(pids, stop_after: float = 120.0) -> int:
    """SIGKILL the Ray worker process (of this cluster) running a lenet task as soon as one appears."""
    t0 = time.time()
    while time.time() - t0 < stop_after:
        for pid in pids():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("ray::lenet:") or cmd.startswith("ray::_ray_task"):
                os.kill(pid, 9)
                return pid
        time.sleep(0.05)
    raise AssertionError("no Ray worker ran the task")


@pytest.mark.parametrize("retries", [1, 0])
def test_a_killed_worker_is_retried_then_listed_as_failed(cluster, tmp_path, retries):
    import threading

    unit = _unit(tmp_path, f"r{retries}")
    done = []
    eng = RayEngine(cluster.address, retries=retries, log=lambda s: None)
    try:
        killer = {}
        t = threading.Thread(target=lambda: killer.setdefault("pid", _kill_first_task_worker(cluster.pids)))
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
