"""`lenet train <recipe>` for the textbook recipes: d2l's `train_ch6`, on in-memory tensors.

Metric definitions are the book's: "loss" and "train acc" are running means over the epoch's
minibatches (weighted by batch size), "test acc" is measured after the epoch in eval mode, and
examples/sec counts only the time spent in training steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

from lenet_repro import datasets, provenance, records
from lenet_repro.cli_util import run_cli
from lenet_repro.device import DEVICE_CHOICES, resolve_device, seed_everything
from lenet_repro.errors import ConfigError

from .model import TextbookLeNet, init_weights
from .recipes import RECIPES, Recipe, get_recipe


def load_data(dataset: str, root=None, device: torch.device = torch.device("cpu"),
              train_subset: int | None = None, test_subset: int | None = None):
    """Whole splits as float tensors in [0, 1] (ToTensor scaling, no normalisation): (N, 1, 28, 28)."""
    out = []
    for split, limit in (("train", train_subset), ("test", test_subset)):
        x, y = datasets.load(dataset, split, root)
        if limit:
            x, y = x[:limit], y[:limit]
        out += [x.to(device).float().div_(255.0).unsqueeze(1), y.to(device)]
    return out


@torch.no_grad()
def evaluate_accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """d2l's `evaluate_accuracy_gpu`: fraction correct in eval mode."""
    net.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += (net(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / len(x)


def train(recipe: Recipe, *, seed: int = 0, device: str = "auto", data_root=None,
          out_dir: str | Path | None = None, train_subset: int | None = None,
          test_subset: int | None = None, dry_run: bool = False, log=print) -> dict:
    """Train one textbook recipe; return its run record (and write it when `out_dir` is given)."""
    if recipe.epochs < 1:
        raise ConfigError(f"--epochs must be a positive integer, got {recipe.epochs}")
    if recipe.batch_size < 1:
        raise ConfigError(f"--batch-size must be a positive integer, got {recipe.batch_size}")
    if not recipe.lr > 0:
        raise ConfigError(f"--lr must be positive, got {recipe.lr}")
    dev = resolve_device(device)
    started, t_start = provenance.now_iso(), time.time()
    gen = seed_everything(seed)
    xtr, ytr, xte, yte = load_data(recipe.dataset, data_root, dev, train_subset, test_subset)
    if dry_run:
        xtr, ytr, xte, yte = xtr[:recipe.batch_size], ytr[:recipe.batch_size], xte[:256], yte[:256]

    net = TextbookLeNet(recipe.net)
    init_weights(net, recipe.init)
    net.to(dev)
    loss_fn = nn.CrossEntropyLoss()  # mean over the minibatch, as the book
    opt = torch.optim.SGD(net.parameters(), lr=recipe.lr)

    n, bs = len(xtr), recipe.batch_size
    epochs = 1 if dry_run else recipe.epochs
    steps_per_epoch = (n + bs - 1) // bs
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs * steps_per_epoch, disable=not sys.stderr.isatty(), leave=False, unit="step")
    history, train_seconds = [], 0.0
    for epoch in range(1, epochs + 1):
        net.train()
        loss_sum, correct, seen, t_epoch = 0.0, 0, 0, 0.0
        perm = torch.randperm(n, generator=gen).to(dev)  # train shuffled each epoch
        for i in range(0, n, bs):
            t0 = time.perf_counter()
            idx = perm[i:i + bs]
            x, y = xtr[idx], ytr[idx]
            opt.zero_grad()
            y_hat = net(x)
            loss = loss_fn(y_hat, y)
            loss.backward()
            opt.step()
            with torch.no_grad():  # running means, as d2l's Accumulator
                loss_sum += loss.item() * len(y)
                correct += (y_hat.argmax(1) == y).sum().item()
                seen += len(y)
            t_epoch += time.perf_counter() - t0
            bar.update(1)
        train_seconds += t_epoch
        test_acc = evaluate_accuracy(net, xte, yte)
        row = {"epoch": epoch, "train_loss": loss_sum / seen, "train_acc": correct / seen,
               "test_acc": test_acc, "seconds": t_epoch, "examples_per_s": seen / t_epoch}
        history.append(row)
        bar.clear()
        log(f"epoch {epoch}/{epochs}: loss {row['train_loss']:.3f}, train acc {row['train_acc']:.3f}, "
            f"test acc {test_acc:.3f}, {row['examples_per_s']:.1f} examples/sec")
    bar.close()
    last = history[-1]
    ex_per_s = epochs * n / train_seconds
    log(f"loss {last['train_loss']:.3f}, train acc {last['train_acc']:.3f}, test acc {last['test_acc']:.3f}")
    log(f"{ex_per_s:.1f} examples/sec on {dev}")

    # misclassified test images, for paired tests in reports
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(xte[i:i + 1024]).argmax(1) for i in range(0, len(xte), 1024)])
    missed = (pred != yte).nonzero().flatten().cpu().tolist()

    config = {**recipe.to_dict(), "epochs": epochs, "train_subset": train_subset,
              "test_subset": test_subset, "dry_run": dry_run}
    prov = provenance.collect(dev)
    prov.update(started_at=started, finished_at=provenance.now_iso(), wall_seconds=time.time() - t_start,
                train_seconds=train_seconds)
    record = {
        "schema": records.SCHEMA,
        "run_id": f"{recipe.name}-s{seed}-{records.config_hash(config)}",
        "recipe": recipe.name,
        "family": "modern",
        "dataset": recipe.dataset,
        "config": config,
        "seed": seed,
        "metrics": history,
        "final": {"train_loss": last["train_loss"], "train_acc": last["train_acc"],
                  "test_acc": last["test_acc"], "test_error": 100.0 * (1 - last["test_acc"]),
                  "test_misses": len(missed), "test_n": len(yte), "examples_per_s": ex_per_s},
        "test_misses_idx": missed,
        "provenance": prov,
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        records.save_checkpoint(out_dir / "checkpoint.pt", family="modern", recipe=recipe.name,
                                model_config=record["config"], state_dict=net.state_dict(),
                                epoch=epochs, seed=seed, final=record["final"])
        record["checkpoint"] = "checkpoint.pt"
        path = records.write_record(out_dir, record)
        log(f"wrote {path}")
    return record


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lenet train", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("recipe", help=f"one of: {', '.join(RECIPES)} (or lenet5-1998)")
    p.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    p.add_argument("--lr", type=float, default=None, help="default: the recipe's")
    p.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--out-dir", default=None, help="default: runs/<recipe>-s<seed>")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-subset", type=int, default=None, help="use only the first N test images")
    p.add_argument("--dry-run", action="store_true", help="one epoch on one batch: checks the wiring")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, lr=args.lr,
                                                        batch_size=args.batch_size)
        out = args.out_dir or f"runs/{recipe.name}-s{args.seed}"
        rec = train(recipe, seed=args.seed, device=args.device, data_root=args.data_root, out_dir=out,
                    train_subset=args.train_subset, test_subset=args.test_subset, dry_run=args.dry_run)
        from .published import describe_book

        print(describe_book(rec))
        return 0

    return run_cli(body, prog="lenet train")


if __name__ == "__main__":
    sys.exit(main())
