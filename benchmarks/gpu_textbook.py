"""Textbook recipe throughput on a GPU beside the book's printed GPU figures.

    python benchmarks/gpu_textbook.py [--recipe classic] [--epochs 10]

Trains the recipe on `cuda` (it refuses to run without one) and writes benchmarks/results/gpu.json:
our examples/sec (training steps only, the book's definition) beside the distribution of the
book's printed examples/sec over its GPU builds (lenet_repro/data/d2l_lenet_printed_results.csv).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lenet_repro.atomic import write_json  # noqa: E402
from lenet_repro.references import book_builds  # noqa: E402
from modern.recipes import get_recipe  # noqa: E402
from modern.train import train  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="classic")
    ap.add_argument("--epochs", type=int, default=None)
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_textbook: no CUDA GPU here; run it on a machine with one", file=sys.stderr)
        return 1
    recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs)
    with tempfile.TemporaryDirectory() as d:
        rec = train(recipe, seed=0, device="cuda", out_dir=d)
    eps = book_builds()["examples_per_sec"]
    ours = rec["final"]["examples_per_s"]
    summary = (f"{args.recipe}: {ours:,.0f} examples/s (test acc {rec['final']['test_acc']:.3f}); the book's GPU "
               f"builds printed {eps.min():,.0f}-{eps.max():,.0f} (median {eps.median():,.0f}) examples/s")
    write_json(Path(__file__).resolve().parent / "results" / "gpu.json",
               {"device": rec["provenance"]["device_name"], "summary": summary, "record": rec})
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
