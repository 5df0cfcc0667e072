"""Evaluation: test error %, the number of misses, and the paper's figure beside them.

`lenet evaluate <checkpoint|name>` loads a checkpoint written by `lenet train lenet5-1998` (or a
shipped one: `lenet5`, `lenet5-distortions`) and evaluates it on the real MNIST test set.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import torch

from lenet_repro.cli_util import run_cli

from .loss import predict


@dataclass
class EvalResult:
    error: float  # percent
    misses: int
    n: int
    missed_idx: list[int]
    missed_pred: list[int]


def evaluate_params(backend, cfg, model, params: torch.Tensor, images: torch.Tensor,
                    labels: torch.Tensor) -> EvalResult:
    """Classify `images` with the given flat parameters through `backend.forward`."""
    out = backend.forward(cfg, model, params, images)
    pred = predict(out, cfg.output)
    wrong = (pred != labels.to(pred.device)).nonzero().flatten()
    return EvalResult(100.0 * len(wrong) / len(labels), len(wrong), len(labels), wrong.tolist(),
                      pred[wrong].tolist())


def evaluate_model(model, images: torch.Tensor, labels: torch.Tensor, backend: str = "auto") -> EvalResult:
    from .backends import make_backend

    eng = make_backend(backend, torch.device("cpu"), [model.config])
    return evaluate_params(eng, model.config, model, model.get_flat(), images, labels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lenet evaluate", description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", help="a checkpoint.pt, a run folder, or a shipped name (lenet5, lenet5-distortions)")
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--backend", default="auto", choices=("auto", "fast", "reference"))
    args = p.parse_args(argv)

    def body() -> int:
        from lenet_repro.references import get_reference

        from .data import load_mnist
        from .pretrained import load

        model, blob = load(args.checkpoint)
        data = load_mnist(args.data_root)
        res = evaluate_model(model, data.inputs("test", model.config.input_scaling), data.test_labels, args.backend)
        ref = get_reference("paper-lenet5-distortions" if model.config.distortions else "paper-lenet5")
        print(f"{args.checkpoint}: test error {res.error:.2f}% ({res.misses} misses of {res.n})")
        print(f"paper ({ref.source}): {ref.value:.2f}% (+-{ref.uncertainty:.1f}), "
              f"i.e. about {round(ref.value * res.n / 100)} misses")
        rec = blob.get("final") or {}
        if "test_misses" in rec:
            same = "same as" if rec["test_misses"] == res.misses else "DIFFERENT from"
            print(f"recorded at training time: {rec['test_misses']} misses ({same} now)")
        return 0

    return run_cli(body, prog="lenet evaluate")


if __name__ == "__main__":
    sys.exit(main())
