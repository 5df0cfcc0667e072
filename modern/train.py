"""`lenet train <recipe>` for the textbook recipes: d2l's `train_ch6`, on in-memory tensors.

Metric definitions are the book's: "loss" and "train acc" are running means over the epoch's
minibatches (weighted by batch size), "test acc" is measured after the epoch in eval mode, and
examples/sec counts only the time spent in training steps.

A run with an out-dir is checkpointed after every epoch and `--resume` continues it exactly (the
same weights, metrics and misses as an uninterrupted run; only wall times differ), with the same
`--resume` / `--overwrite` rules as `lenet train lenet5-1998`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from lenet_repro import datasets, provenance, records
from lenet_repro.cli_util import HelpFormatter, run_cli, summary
from lenet_repro.device import AUTO_HELP, DEVICE_CHOICES, check_seed, resolve_device, seed_everything
from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.lock import dir_lock

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


CHECKPOINT = "checkpoint.pt"
MAX_EPOCHS = 1000  # the book trains 10; beyond this a run is a mistake, not an experiment
MAX_BATCH = 60_000  # the largest training split: a larger batch is the same one batch
SPLIT_KEYS = ("train_subset", "test_subset", "dry_run")  # config entries that choose the data, not the model


def _plain(obj):
    """JSON-shaped copy (tuples -> lists) so configs compare the same before and after a checkpoint."""
    return json.loads(json.dumps(obj, default=str))


def _validate(recipe: Recipe, seed: int, train_subset, test_subset, resume: bool, overwrite: bool) -> None:
    if isinstance(recipe.epochs, bool) or not isinstance(recipe.epochs, int) or not 1 <= recipe.epochs <= MAX_EPOCHS:
        raise ConfigError(f"--epochs must be a positive integer (at most {MAX_EPOCHS:,}), got {recipe.epochs}")
    if (isinstance(recipe.batch_size, bool) or not isinstance(recipe.batch_size, int)
            or not 1 <= recipe.batch_size <= MAX_BATCH):
        raise ConfigError(f"--batch-size must be a positive integer (at most {MAX_BATCH:,}), got {recipe.batch_size}")
    if not (isinstance(recipe.lr, (int, float)) and math.isfinite(recipe.lr) and recipe.lr > 0):
        raise ConfigError(f"--lr must be positive and finite, got {recipe.lr}")
    check_seed(seed)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite contradict each other (--resume continues the run in --out-dir, "
                          "--overwrite discards it); pass only one of them")
    datasets.check_split(recipe.dataset, train_subset, test_subset)


def train(recipe: Recipe, *, seed: int = 0, device: str = "auto", data_root=None,
          out_dir: str | Path | None = None, train_subset: int | None = None,
          test_subset: int | None = None, dry_run: bool = False, resume: bool = False,
          overwrite: bool = False, log=print, model=None, model_id: dict | None = None) -> dict:
    """Train one textbook recipe; return its run record (and write it when `out_dir` is given).

    `model` (a callable returning an nn.Module taking the recipe's (N, 1, 28, 28) [0, 1] input and giving
    10 logits) replaces the textbook network: it is built after the seed is set and keeps its own
    initialisation; the recipe gives the rest (SGD, rate, batch, epochs, cross-entropy, shuffling).
    `model_id` (JSON-able) then stands for the network in the record's config (`lenet compare`).

    With `out_dir`, the folder is locked for the whole run (lenet_repro/lock.py) and a checkpoint is
    written atomically after every epoch: weights, optimizer state, the data-order generator's state,
    the history and the times. `resume` continues from it with an outcome identical to an
    uninterrupted run (wall times aside); a checkpoint of another recipe, config, seed or data split
    is refused. Without `resume` an existing run there is an error, unless `overwrite` (start over).
    """
    _validate(recipe, seed, train_subset, test_subset, resume, overwrite)
    dev = resolve_device(device)
    if out_dir is None:
        return _train(recipe, seed, dev, data_root, None, train_subset, test_subset, dry_run, resume, overwrite, log,
                      model, model_id)
    with dir_lock(out_dir, "--out-dir"), records.replacing([out_dir] if overwrite else ()):
        return _train(recipe, seed, dev, data_root, Path(out_dir), train_subset, test_subset, dry_run, resume,
                      overwrite, log, model, model_id)


def _resume_state(ckpt: Path, recipe: Recipe, seed: int, config: dict, split: dict) -> dict:
    """The checkpoint at `ckpt`, checked to belong to this very run (ConfigError/RecordError otherwise)."""
    blob = records.load_checkpoint(ckpt)
    if blob.get("family") != "modern" or blob.get("recipe") != recipe.name:
        raise ConfigError(f"{ckpt} belongs to recipe {blob.get('recipe')!r}, not {recipe.name!r}; "
                          f"use another --out-dir or drop --resume")
    if "epochs_done" not in blob:
        raise ConfigError(f"{ckpt} was written by an older version without resume state; pass --overwrite to "
                          f"start over there, or choose another --out-dir")
    if blob.get("data", split) != split:
        raise ConfigError(f"{ckpt} was trained on a different data split {blob['data']} (now {split}); "
                          f"use the same --train-subset/--test-subset, or another --out-dir")
    model_part = {k: v for k, v in config.items() if k not in SPLIT_KEYS}
    saved = blob.get("model_config")
    saved_part = {k: v for k, v in saved.items() if k not in SPLIT_KEYS} if isinstance(saved, dict) else saved
    if _plain(saved_part) != _plain(model_part) or blob.get("seed") != seed:
        raise ConfigError(f"{ckpt} was made with a different config or seed; use another --out-dir, "
                          f"or --overwrite to start over there")
    records.checkpoint_fields(blob, ckpt, {"state_dict": dict, "epochs_done": int, "optimizer": dict,
                                           "data_generator": torch.Tensor, "torch_rng": torch.Tensor,
                                           "history": list, "train_seconds": (int, float)})
    if not 0 <= blob["epochs_done"] <= config["epochs"] or len(blob["history"]) != blob["epochs_done"]:
        raise RecordError(f"{ckpt}: malformed checkpoint: {blob['epochs_done']} epochs done of {config['epochs']} "
                          f"with {len(blob['history'])} rows of history; re-run with --overwrite to start over")
    return blob


def _train(recipe: Recipe, seed: int, dev: torch.device, data_root, out_dir: Path | None, train_subset,
           test_subset, dry_run: bool, resume: bool, overwrite: bool, log, model=None, model_id=None) -> dict:
    started, t_start = provenance.now_iso(), time.time()
    gen = seed_everything(seed)
    xtr, ytr, xte, yte = load_data(recipe.dataset, data_root, dev, train_subset, test_subset)
    if dry_run:
        xtr, ytr, xte, yte = xtr[:recipe.batch_size], ytr[:recipe.batch_size], xte[:256], yte[:256]

    if model is None:
        net = TextbookLeNet(recipe.net)
        init_weights(net, recipe.init)
    else:
        net = model()  # seeded above: its own initialisation
    net.to(dev)
    loss_fn = nn.CrossEntropyLoss()  # mean over the minibatch, as the book
    opt = torch.optim.SGD(net.parameters(), lr=recipe.lr)

    n, bs = len(xtr), recipe.batch_size
    epochs = 1 if dry_run else recipe.epochs
    steps_per_epoch = (n + bs - 1) // bs
    config = {**recipe.to_dict(), "epochs": epochs, "train_subset": train_subset,
              "test_subset": test_subset, "dry_run": dry_run}
    if model is not None:
        config.update(net=model_id or {"model": "custom"}, init="the module's own")
    split = {"dataset": recipe.dataset, "train": n, "test": len(yte)}
    history, train_seconds, done = [], 0.0, 0
    ckpt = out_dir / CHECKPOINT if out_dir is not None else None

    def save(final: dict | None = None) -> None:
        records.save_checkpoint(ckpt, family="modern", recipe=recipe.name, model_config=config,
                                state_dict=net.state_dict(), epoch=done, epochs_done=done, seed=seed, final=final,
                                optimizer=opt.state_dict(), data_generator=gen.get_state(),
                                torch_rng=torch.get_rng_state(), history=history, train_seconds=train_seconds,
                                data=split)

    if ckpt is not None:
        result = out_dir / records.RESULT_NAME
        if records.claim_out_dir(out_dir, ckpt, resume, overwrite):
            blob = _resume_state(ckpt, recipe, seed, config, split)
            records.load_weights(net, blob["state_dict"], ckpt)
            try:
                opt.load_state_dict(blob["optimizer"])
                gen.set_state(blob["data_generator"])
                torch.set_rng_state(blob["torch_rng"])
            except (ValueError, RuntimeError, KeyError, TypeError):
                raise RecordError(f"{ckpt}: malformed checkpoint: its optimizer or generator state does not fit; "
                                  f"re-run with --overwrite to start over") from None
            history, train_seconds, done = list(blob["history"]), float(blob["train_seconds"]), blob["epochs_done"]
            log(f"{recipe.name} s{seed}: resuming after epoch {done}/{epochs} from {ckpt}")
            if done >= epochs and result.exists():
                try:
                    rec = records.read_record(result)
                    log(f"{result}: the run is complete")
                    return rec
                except RecordError as e:
                    log(f"{e}; writing it again from the checkpoint")

    from tqdm.auto import tqdm

    bar = tqdm(total=epochs * steps_per_epoch, initial=done * steps_per_epoch, disable=not sys.stderr.isatty(),
               leave=False, unit="step")
    for epoch in range(done + 1, epochs + 1):
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
        done = epoch
        if ckpt is not None:
            save()  # before the log line: an interrupt from here on keeps this epoch
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
        "test_predictions_missed": pred[missed].cpu().tolist(),  # for THE FAILED-RUN RULE (reports/verdicts/)
        "provenance": prov,
    }
    if ckpt is not None:
        save(final=record["final"])
        record["checkpoint"] = CHECKPOINT
        path = records.write_record(out_dir, record)
        log(f"wrote {path}")
    return record


def build_parser() -> argparse.ArgumentParser:
    width = max(map(len, RECIPES))
    listing = "\n".join(f"  {n:<{width}}  {r.title}" for n, r in RECIPES.items())
    p = argparse.ArgumentParser(prog="lenet train", description=summary(__doc__), formatter_class=HelpFormatter,
                                epilog=f"the textbook recipes:\n{listing}\n\n`lenet train --help` lists every "
                                       f"recipe (the 1998 ones and the Fig. 9 rows too)")
    p.add_argument("recipe", help="a textbook recipe (listed below)")
    p.add_argument("--epochs", type=int, default=None, help=f"1 .. {MAX_EPOCHS:,}; default: the recipe's")
    p.add_argument("--lr", type=float, default=None, help="a finite number > 0; default: the recipe's")
    p.add_argument("--batch-size", type=int, default=None, help=f"1 .. {MAX_BATCH:,}; default: the recipe's")
    p.add_argument("--seed", type=int, default=0, help="0 .. 2**63 - 1")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help=AUTO_HELP)
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--out-dir", default=None, help="default: runs/<recipe>-s<seed>")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out-dir")
    p.add_argument("--overwrite", action="store_true",
                   help="start over even if --out-dir holds a run (deletes its checkpoint and result.json)")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images (1..60000)")
    p.add_argument("--test-subset", type=int, default=None, help="use only the first N test images (1..10000)")
    p.add_argument("--dry-run", action="store_true", help="one epoch on one batch: checks the wiring")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, lr=args.lr,
                                                        batch_size=args.batch_size)
        out = args.out_dir or f"runs/{recipe.name}-s{args.seed}"
        rec = train(recipe, seed=args.seed, device=args.device, data_root=args.data_root, out_dir=out,
                    train_subset=args.train_subset, test_subset=args.test_subset, dry_run=args.dry_run,
                    resume=args.resume, overwrite=args.overwrite)
        from .published import describe_book

        print(describe_book(rec))
        return 0

    return run_cli(body, prog="lenet train")


if __name__ == "__main__":
    sys.exit(main())
