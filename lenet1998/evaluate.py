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


MNIST_TRAIN, MNIST_TEST = 60_000, 10_000


@dataclass
class Split:
    """The evaluation split of a run, as `lenet1998.data.load_mnist` arguments, with a description."""
    train_subset: int | None
    test_subset: int | None
    holdout: int | None
    what: str

    @property
    def is_full_test_set(self) -> bool:
        return not self.holdout and not self.test_subset


FULL_TEST_SET = Split(None, None, None, f"the {MNIST_TEST:,} MNIST test digits")


def recorded_split(blob: dict, path="checkpoint") -> Split | None:
    """The split a checkpoint's run was evaluated on (its `data` entry: train/test counts and holdout),
    or None when the checkpoint does not record one (older versions)."""
    from lenet_repro.errors import RecordError

    data = blob.get("data")
    if data is None:
        return None
    if not (isinstance(data, dict) and all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool)
                                           and data[k] >= 0 for k in ("train", "test", "holdout"))):
        raise RecordError(f"{path}: malformed checkpoint: its 'data' entry {data!r} is not train/test/holdout "
                          f"counts; the file is damaged, re-run the training")
    n_train, n_test, holdout = data["train"], data["test"], data["holdout"]
    if holdout:
        first = n_train + holdout
        if holdout != n_test or first > MNIST_TRAIN:
            raise RecordError(f"{path}: malformed checkpoint: inconsistent 'data' entry {data!r}; re-run the training")
        return Split(first if first < MNIST_TRAIN else None, None, holdout,
                     f"the held-out last {holdout:,} of the first {first:,} MNIST training digits")
    if not 1 <= n_test <= MNIST_TEST:
        raise RecordError(f"{path}: malformed checkpoint: 'data' has {n_test} test digits; re-run the training")
    if n_test == MNIST_TEST:
        return FULL_TEST_SET
    return Split(None, n_test, None, f"the first {n_test:,} MNIST test digits")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="lenet evaluate", description=__doc__.splitlines()[0],
        epilog="By default a run is evaluated on the split it recorded (its --test-subset or --holdout), so the "
               "comparison with the number recorded at training time is like for like.")
    p.add_argument("checkpoint", help="a checkpoint.pt, a run folder, or a shipped name (lenet5, lenet5-distortions)")
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--backend", default="auto", choices=("auto", "fast", "reference"))
    p.add_argument("--full-test-set", action="store_true",
                   help="evaluate on all 10,000 test digits even if the run recorded a smaller or held-out split")
    args = p.parse_args(argv)

    def body() -> int:
        from lenet_repro.references import headline_reference

        from .data import load_mnist
        from .published import comparable_recipe
        from .pretrained import load

        model, blob = load(args.checkpoint)
        recorded = recorded_split(blob, args.checkpoint)
        split = FULL_TEST_SET if args.full_test_set or recorded is None else recorded
        data = load_mnist(args.data_root, split.train_subset, split.test_subset, split.holdout)
        res = evaluate_model(model, data.inputs("test", model.config.input_scaling), data.test_labels, args.backend)
        ref = headline_reference(comparable_recipe(model.config.to_dict()))
        name = "held-out error" if split.holdout else "test error"
        print(f"{args.checkpoint}: {name} {res.error:.2f}% ({res.misses} misses of {res.n}) on {split.what}")
        shipped = (blob.get("shipped") or {}) if isinstance(blob.get("shipped"), dict) else {}
        if shipped:
            print(f"shipped as {shipped.get('name')}: seed {shipped.get('seed')}, {shipped.get('chosen_from')}")
        print(f"{'paper' if ref.id.startswith('paper') else 'published'} ({ref.source}): {ref.value:.2f}% "
              f"(+-{ref.uncertainty:.1f}) on the 10,000 test digits, "
              f"i.e. about {round(ref.value * res.n / 100)} misses of {res.n}")
        rec = blob.get("final") or {}
        if isinstance(rec.get("test_misses"), int):
            if recorded is None and rec.get("test_n") != res.n:
                print(f"recorded at training time: {rec['test_misses']} misses of {rec.get('test_n')} on a split "
                      f"this checkpoint does not describe (not comparable with now)")
            elif recorded is not None and recorded != split:
                print(f"recorded at training time: {rec['test_misses']} misses of {rec.get('test_n')} on "
                      f"{recorded.what} (not comparable with now; drop --full-test-set to compare)")
            else:
                same = "same as" if rec["test_misses"] == res.misses else "DIFFERENT from"
                print(f"recorded at training time: {rec['test_misses']} misses on the same split ({same} now)")
        return 0

    return run_cli(body, prog="lenet evaluate")


if __name__ == "__main__":
    sys.exit(main())
