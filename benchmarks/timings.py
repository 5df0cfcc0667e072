"""Time a whole command on this machine and record it (for the README's time and resource figures).

    python benchmarks/timings.py --name "make test (fresh clone)" -- bash .ci/run

Appends {name, command, wall_seconds, max_rss_mb, exit code, machine, commit, date} to
benchmarks/results/timings.json; `python -m reports.render.readme` renders the latest entry per name.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lenet_repro.atomic import write_json  # noqa: E402
from lenet_repro.device import cpu_model  # noqa: E402
from lenet_repro.provenance import git_commit  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "timings.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--cwd", default=".")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = [c for c in args.command if c != "--"]
    t0 = time.time()
    rc = subprocess.call(cmd, cwd=args.cwd)
    wall = time.time() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    commit, dirty = git_commit()
    entry = {"name": args.name, "command": " ".join(cmd), "wall_seconds": round(wall, 1), "max_rss_mb": round(rss),
             "exit_code": rc, "machine": f"{cpu_model()}, {os.cpu_count()} CPUs", "commit": commit,
             "dirty": dirty, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    entries = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    entries.append(entry)
    write_json(RESULTS, entries)
    print(f"{args.name}: {wall / 60:.1f} min, max RSS {rss:.0f} MB, exit {rc}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
