"""The same plan on the local engine and on a real two-node Ray cluster on this machine: are the
records identical, and what does a Ray task cost beyond the training itself?

    python benchmarks/ray_vs_local.py [--profile smoke] [--cpus-per-node 2]

Starts the cluster like tests/test_ray.py (reports.run.engines.local_cluster: `ray start --head` plus a
joined node, every listener on 127.0.0.1, 2 CPUs each), runs `lenet report --profile P` into two
fresh folders, once per engine (the Ray engine ships the code to the cluster as the job's
working_dir), compares every number of every run record (all but wall times and provenance), checks
that every listener of the cluster was on the loopback and that teardown (by the cluster's own
process ids, never `ray stop`) left none of its processes, and writes
benchmarks/results/ray_vs_local.json. Overhead per unit = (Ray wall - local wall) / units; on this
2-core machine the two nodes share the same 2 cores, so Ray gains no parallelism here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lenet_repro.atomic import write_json  # noqa: E402
from lenet_repro.device import cpu_model  # noqa: E402
from reports.run.engines import is_running, listeners, local_cluster, on_loopback  # noqa: E402

from lenet_repro.records import numbers_of  # noqa: E402


def records(out: Path) -> dict:
    return {str(p.parent.relative_to(out)): numbers_of(json.loads(p.read_text()))
            for p in sorted(out.glob("runs/**/result.json"))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="smoke", choices=("smoke", "quick"))
    ap.add_argument("--cpus-per-node", type=int, default=2, choices=(1, 2, 4, 8))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray_vs_local.json"))
    args = ap.parse_args(argv)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    base = [sys.executable, "-m", "reports.report", "--profile", args.profile]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        subprocess.run([*base, "--out", f"{tmp}/local"], env=env, check=True, capture_output=True, cwd=ROOT)
        t_local = time.time() - t0
        t0 = time.time()
        with local_cluster(nodes=2, cpus_per_node=args.cpus_per_node) as cluster:
            t_cluster = time.time() - t0
            t0 = time.time()
            proc = subprocess.run([*base, "--out", f"{tmp}/ray", "--engine", "ray", "--address", cluster.address],
                                  env=env, check=True, capture_output=True, text=True, cwd=ROOT)
            t_ray = time.time() - t0
            pids = cluster.pids()  # its workers are still up: their listeners count too
            socks = listeners(pids)
        left = sorted(p for p in pids if is_running(p))  # teardown ended every one of them
        done = [ln for ln in proc.stdout.splitlines() if " on node " in ln]
        shipped = next((ln for ln in proc.stdout.splitlines() if ln.startswith("ray engine: shipping ")), "")
        nodes = sorted({ln.split(" on node ")[1].split()[0] for ln in done})
        a, b = records(Path(tmp) / "local"), records(Path(tmp) / "ray")
    result = {"profile": args.profile, "machine": cpu_model(), "cpus": os.cpu_count(), "runs": len(a),
              "units": len(done), "nodes_used": len(nodes), "identical": a == b and len(a) > 0,
              "local_wall_s": t_local, "ray_wall_s": t_ray, "cluster_start_s": t_cluster,
              "overhead_per_unit_s": (t_ray - t_local) / max(1, len(done)),
              "cpus_per_node": args.cpus_per_node,
              "shipped": shipped.removeprefix("ray engine: shipping ").split(" of ")[0],
              "listeners": len(socks), "listeners_beyond_loopback": [f"{h}:{p} ({n})" for h, p, _, n in socks
                                                                      if not on_loopback(h)],
              "processes_left_after_teardown": left,
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_json(args.out, result)
    print(json.dumps(result, indent=1))
    ok = result["identical"] and result["listeners"] > 0 and not result["listeners_beyond_loopback"] and not left
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
