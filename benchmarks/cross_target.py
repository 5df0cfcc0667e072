"""The same seed, two numeric environments, one machine: are the run records bit-identical?

    python benchmarks/cross_target.py [--recipe lenet5-1998-distortions] [--seed 0] [--passes 20]

Trains the same run twice in fresh processes: once with the C kernel built for x86-64-v3 (what an
AVX2-only machine runs) and torch's CPU kernels forced to their DEFAULT (no AVX) dispatch, once
with the kernel built for the newest target this CPU runs (x86-64-v4 = AVX-512 where present) and
torch's widest dispatch. Compares every number of the two run records (all but wall times) and
writes benchmarks/results/cross_target.json, from which the README's reproduction sentence is
generated (reports/render/readme.py, block "reproduction").
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

from lenet1998.fast import build as kbuild  # noqa: E402
from lenet_repro.atomic import write_json  # noqa: E402
from lenet_repro.records import numbers_of  # noqa: E402
from lenet_repro.device import cpu_model  # noqa: E402

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="lenet5-1998-distortions", choices=("lenet5-1998", "lenet5-1998-distortions"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cross_target.json"))
    args = ap.parse_args(argv)
    if args.passes < 1:
        ap.error("--passes must be positive")
    wide = "x86-64-v4" if kbuild.cpu_supports("x86-64-v4") else "x86-64-v3"
    combos = [("x86-64-v3", "default"), (wide, "avx512" if wide == "x86-64-v4" else "avx2")]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (target, cap) in enumerate(combos):
            out = Path(tmp) / f"run{i}"
            env = {**os.environ, kbuild.TARGET_ENV: target, "ATEN_CPU_CAPABILITY": cap}
            t0 = time.time()
            cmd = [sys.executable, "-m", "lenet1998.train", args.recipe, "--seed", str(args.seed),
                   "--passes", str(args.passes), "--out-dir", str(out)]
            subprocess.run(cmd, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            rec = json.loads((out / "result.json").read_text())
            runs.append({"kernel_target": rec["provenance"]["kernel"]["target"],
                         "torch_cpu_capability": rec["provenance"]["torch_cpu_capability"],
                         "numeric_build": rec["provenance"]["kernel"]["numeric_build"],
                         "test_misses": rec["final"]["test_misses"], "train_misses": rec["final"]["train_misses"],
                         "final_train_loss": rec["final"]["train_loss"], "wall_seconds": time.time() - t0,
                         "git_commit": rec["provenance"]["git_commit"], "git_dirty": rec["provenance"]["git_dirty"],
                         "_cmp": numbers_of(rec)})
    identical = runs[0]["_cmp"] == runs[1]["_cmp"]
    for r in runs:
        del r["_cmp"]
    result = {"recipe": args.recipe, "seed": args.seed, "passes": args.passes, "machine": cpu_model(),
              "identical": identical, "runs": runs, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_json(args.out, result)
    print(json.dumps(result, indent=1))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
