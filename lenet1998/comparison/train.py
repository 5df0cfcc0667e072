"""`lenet train <row>` for the comparison classifiers of Fig. 9 (lenet1998/comparison/rows.py): fit on
the training digits, evaluate on the test digits (or, with --holdout N, on the last N training digits,
trained on the rest), and write a run record with the test error, the missed digits, the rejection
rate of Fig. 10 and the number of stored variables of Fig. 12.

The classical rows are deterministic given their options (except where a row is `stochastic`: the
seed then seeds its random choices, e.g. the K-means starts of the RBF network).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lenet_repro import datasets, provenance, records
from lenet_repro.cli_util import HelpFormatter, run_cli, summary
from lenet_repro.device import check_seed
from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.lock import dir_lock

from . import options as option_specs
from .rejection import reject_rate
from .rows import ROWS, Row, features, fit_options, get_row, input_of
from .rows import summary as row_summary

REJECT_TARGET = 0.5  # Fig. 10: % rejected to reach 0.5 % error
CHECKPOINT = "checkpoint.pt"  # a network row's state after its last finished pass
# rbf_network.fit seeds class c's K-means with seed * 10 + c, which torch takes up to 2**64 - 1
SEED_MAX = {"rbf_network": (2**64 - 1 - 9) // 10}


def resolve_options(row: Row, overrides: dict, n_train: int | None = None) -> dict:
    """The row's default options with `overrides` applied, each value checked against its declared spec
    (lenet1998/comparison/options.py: type, range or choices, cross rules; with `n_train`, the counts
    against the training digits): ConfigError, one line, for anything the row's code cannot use."""
    return option_specs.resolve(row, overrides, n_train)


def config_of(row: Row, opts: dict, train_subset: int | None, test_subset: int | None,
              holdout: int | None) -> dict:
    """A run's config as its record holds it (and the report's cache key)."""
    cfg = {"row": row.name, "input": input_of(row, opts), "options": opts, "train_subset": train_subset,
           "test_subset": test_subset, "holdout": holdout}
    if row.network:
        cfg["net"] = row.network
    return cfg


def train(name: str, *, options: dict | None = None, seed: int = 0, data_root=None, out_dir=None,
          train_subset: int | None = None, test_subset: int | None = None, holdout: int | None = None,
          resume: bool = False, overwrite: bool = False, log=print) -> dict:
    """Fit one row and return its run record (written to `out_dir` when given). A network row writes a
    checkpoint after every pass; `resume` continues it there (to the identical record) or returns the
    finished run's record."""
    row = get_row(name)
    check_seed(seed)
    if seed > SEED_MAX.get(option_specs.kind_of(row), seed):
        raise ConfigError(f"--seed {seed} is too large for row {row.name!r} (it seeds one generator per class "
                          f"from seed x 10 + class); use a seed from 0 to {SEED_MAX[option_specs.kind_of(row)]}")
    datasets.check_split("mnist", train_subset, test_subset, holdout)
    opts = resolve_options(row, options or {}, (train_subset or datasets.get_spec("mnist").train_images.count)
                           - (holdout or 0))
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite contradict each other (--resume continues the run in "
                          "--out-dir, --overwrite starts it over); pass one of them")
    config = config_of(row, opts, train_subset, test_subset, holdout)
    if out_dir is None:
        return _train(row, opts, config, seed, data_root, None, False, log)
    with dir_lock(out_dir, "--out-dir"), records.replacing([out_dir] if overwrite else ()):
        out = Path(out_dir)
        has_checkpoint = records.claim_out_dir(out, out / CHECKPOINT, resume, overwrite)
        if resume and (out / records.RESULT_NAME).exists():
            rec = records.read_record(out)
            if rec.get("config") != config or rec.get("seed") != seed:
                raise ConfigError(f"{out} holds a run of another config or seed; use another --out-dir, or "
                                  f"--overwrite to start over there")
            return rec
        return _train(row, opts, config, seed, data_root, out, has_checkpoint, log)


def _train(row, opts, config, seed, data_root, out: Path | None, has_checkpoint: bool, log) -> dict:
    train_subset, test_subset, holdout = config["train_subset"], config["test_subset"], config["holdout"]
    started, t0 = provenance.now_iso(), time.time()
    xtr, ytr = datasets.load("mnist", "train", data_root)
    if train_subset:
        xtr, ytr = xtr[:train_subset], ytr[:train_subset]
    if holdout:
        xte, yte, xtr, ytr = xtr[-holdout:], ytr[-holdout:], xtr[:-holdout], ytr[:-holdout]
    else:
        xte, yte = datasets.load("mnist", "test", data_root)
        if test_subset:
            xte, yte = xte[:test_subset], yte[:test_subset]
    if row.network:
        return _train_network(row, opts, config, seed, xtr, ytr, xte, yte, out, has_checkpoint, started, t0, log)
    option_specs.check_data(row, opts, ytr)  # before the fit: nothing the fit would stumble on reaches it
    t_in = time.time()
    version = input_of(row, opts)
    ftr, fte = features(xtr, version), features(xte, version)  # (N, D) float64
    input_seconds = time.time() - t_in
    torch.manual_seed(seed)
    t_fit = time.time()
    kw = fit_options(opts)
    if row.stochastic:
        kw["seed"] = seed
    if row.staged:  # a long fit: its finished pieces in the checkpoint, resumed from there (stage.py)
        from .stage import Stage

        kw["stage"] = Stage(out / CHECKPOINT if out is not None else None, config, seed, has_checkpoint)
        if kw["stage"].done:
            log(f"{row.name} s{seed}: resuming the fit after {', '.join(kw['stage'].done)} ({out / CHECKPOINT})")
    model = row.fit(ftr, ytr, **kw)
    before = kw["stage"].seconds_before if row.staged else 0.0  # a resumed fit: its earlier processes' pieces
    fit_seconds = time.time() - t_fit + before
    t_eval = time.time()
    scores = model.scores(fte)  # (N, 10)
    pred = scores.argmax(1)
    missed = (pred != yte).nonzero().flatten().tolist()
    final = {"test_error": 100.0 * len(missed) / len(yte), "test_misses": len(missed), "test_n": len(yte),
             "test_acc": 1 - len(missed) / len(yte), "reject_for_0_5": reject_rate(scores, yte, REJECT_TARGET),
             "parameters": model.parameters, "multiply_adds": model.multiply_adds,
             "evaluated_on": (f"holdout: the last {holdout} training patterns" if holdout else "the MNIST test set")}
    if row.train_error:
        tm = int((model.predict(ftr) != ytr).sum())
        final.update(train_error=100.0 * tm / len(ytr), train_misses=tm, train_n=len(ytr))
    else:
        final.update(train_n=len(ytr))
    if getattr(model, "details", None):  # what a staged fit keeps of itself (svm.OneVsRest)
        final["fit"] = model.details
    if getattr(model, "first", None) is not None:  # the machine before its reduced set / second fit
        first_missed = int((model.first.predict(fte) != yte).sum())
        final.update(first_stage_test_error=100.0 * first_missed / len(yte),
                     first_stage_multiply_adds=model.first.multiply_adds)
    eval_seconds = time.time() - t_eval
    log(f"{row.name}: test error {final['test_error']:.2f} % ({len(missed)} misses of {len(yte)}), "
        f"{final['reject_for_0_5']:.1f} % rejected for 0.5 % error, {model.parameters:,} variables; "
        f"fit {fit_seconds:.1f} s")
    prov = provenance.collect("cpu")
    prov.update(started_at=started, finished_at=provenance.now_iso(), wall_seconds=time.time() - t0 + before,
                train_seconds=fit_seconds, eval_seconds=eval_seconds, input_seconds=input_seconds)
    if before:
        prov["resumed_seconds"] = before  # of wall_seconds and train_seconds: the pieces earlier processes fitted
    record = {
        "schema": records.SCHEMA, "run_id": f"{row.name}-s{seed}-{records.config_hash(config)}", "recipe": row.name,
        "family": "comparison", "dataset": "mnist", "config": config, "seed": seed, "metrics": [],
        "final": final, "test_misses_idx": missed, "test_predictions_missed": pred[missed].tolist(),
        "provenance": prov,
    }
    if out is not None:
        path = records.write_record(out, record)
        log(f"wrote {path}")
    return record


def _sdlm(kernel, net, cfg, xte_in, yte, config: dict, name: str, seed: int, log, params: torch.Tensor, one_pass,
          hkk_generator, ckpt: Path | None, has_checkpoint: bool, tag: str = "", rate_scale: float = 1.0
          ) -> tuple[list, float, float]:
    """`cfg.passes` passes of online SDLM on `params` (in place), eta = the paper's schedule x `rate_scale`:
    before pass p, h_kk on 500 patterns drawn by `hkk_generator(p)` from `one_pass(p)` = (x, labels, order);
    after it, the test error and a checkpoint. Resumes from `ckpt` when `has_checkpoint`. Returns
    (per-pass metrics, train and eval seconds)."""
    passes = cfg.passes
    metrics, train_seconds, eval_seconds, first = [], 0.0, 0.0, 0
    if has_checkpoint:
        first, metrics, train_seconds, eval_seconds = _restore(ckpt, params, config, seed)
        log(f"{name}{tag} s{seed}: resuming after pass {first} of {passes} ({ckpt})")
    for p in range(first, passes):
        x, y, o = one_pass(p)
        hidx = torch.randperm(len(y), generator=hkk_generator(p))[:cfg.hkk_patterns].contiguous()
        eta = cfg.rate(p) * rate_scale
        eps = (eta / (cfg.mu + kernel.hkk(net, params, x, hidx, cfg.hkk_output_curvature))).contiguous()
        ts = time.time()
        loss, running = kernel.train_pass(net, params, eps, x, y, o.contiguous())
        train_seconds += time.time() - ts
        te = time.time()
        missed = (kernel.forward(net, params, xte_in).argmax(1) != yte).nonzero().flatten()
        eval_seconds += time.time() - te
        row_m = {"pass": p + 1, "eta": eta, "train_loss": loss / len(y), "train_error_running": 100.0 * running / len(y),
                 "test_error": 100.0 * len(missed) / len(yte), "test_misses": len(missed),
                 "rate_min": float(eps.min()), "rate_max": float(eps.max())}
        metrics.append(row_m)
        log(f"{name}{tag} s{seed} pass {p + 1:2d}/{passes}: loss {row_m['train_loss']:.4f} running train err "
            f"{row_m['train_error_running']:.2f}% test err {row_m['test_error']:.2f}%")
        if ckpt is not None:
            records.save_checkpoint(ckpt, family="comparison", recipe=name, model_config=config,
                                    state_dict={"params": params}, seed=seed, passes_done=p + 1, metrics=metrics,
                                    train_seconds=train_seconds, eval_seconds=eval_seconds)
    return metrics, train_seconds, eval_seconds


def _rate_scale(opts: dict) -> float:
    v = opts.get("rate_scale", 1.0)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ConfigError(f"rate_scale must be a positive number, got {v!r}")
    return float(v)


def _net_input(images, version: str, net) -> torch.Tensor:
    """The network input: the version's pixels mapped to background -0.1, ink 1.175 (Sec. II-B), float32,
    flat for a fully connected net, else the image centred in the net's input field (background around it):
    (N, D) or (N, 1, H, W)."""
    x = features(images, version)  # (N, D) float64 in [0, 1]
    if len(net.input_shape) == 3:
        side = int(round(len(x[0]) ** 0.5))
        _, h, w = net.input_shape
        top, left = (h - side) // 2, (w - side) // 2
        x = F.pad(x.reshape(len(x), 1, side, side), (left, w - side - left, top, h - side - top), value=0.0)
    return (-0.1 + 1.275 * x).float().contiguous()


def _train_network(row: Row, opts: dict, config: dict, seed: int, xtr, ytr, xte, yte, out: Path | None,
                   has_checkpoint: bool, started, t0, log) -> dict:
    """Online SDLM (App. C) for the networks of Fig. 9 (lenet1998/comparison/convnets.py), LeNet-5's recipe
    on the C kernel (lenet1998/fast/layered.c): the paper's schedule, h_kk on 500 random patterns before
    each pass, one constant random order; with `distortions`, each pass takes its patterns from LeNet-5's
    pool of distorted copies + the originals (lenet1998/distortions.py, the settled ranges)."""
    from lenet1998.config import FAITHFUL
    from lenet1998.distortions import DistortedPool
    from lenet1998.fast.build import LAYERED_SOURCE, BuildError, build_info
    from lenet1998.fast.layered import load_layered_kernel
    from lenet1998.seeds import generator

    from . import convnets

    passes = opts["passes"]
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
        raise ConfigError(f"passes must be a positive integer, got {passes!r}")
    cfg = FAITHFUL.replace(passes=passes, distortions=bool(opts["distortions"]))
    try:
        kernel = load_layered_kernel()
    except BuildError as e:
        raise ConfigError(f"the Fig. 9 networks train on the C kernel, which is not available ({e}); install gcc "
                          f"(or set CC) and run `python -m lenet1998.fast`") from None
    net = convnets.net_by_name(row.network)
    xte_in = _net_input(xte, row.input, net)
    pool = DistortedPool(cfg, seed, xtr, ytr) if cfg.distortions else None
    ytr = ytr.long().contiguous()
    holdout = config["holdout"]
    ckpt = out / CHECKPOINT if out is not None else None
    if opts.get("boosting"):
        from . import boosting

        nets, net_metrics, train_seconds, eval_seconds, set_classes, net_errors = boosting.train_three(
            lambda *a, **k: _sdlm(kernel, net, cfg, xte_in, yte, config, row.name, seed, log, *a, **k),
            kernel, net, pool, lambda imgs: _net_input(imgs, row.input, net), seed, out, has_checkpoint, log)
        ftr = _net_input(xtr, row.input, net)
        model = boosting.Boosted(kernel, net, nets)
        metrics = net_metrics[0]  # the record's per-pass metrics: net 1's (the [dist] LeNet-4 of this seed)
    else:
        xtr_in = None if pool else _net_input(xtr, row.input, net)
        order = torch.randperm(len(ytr), generator=generator(seed, "order"))

        def one_pass(p):
            if pool:
                imgs, labels = pool.patterns(pool.pass_indices(p))
                return _net_input(imgs, row.input, net), labels.long().contiguous(), torch.arange(len(labels))
            return xtr_in, ytr, order

        params = convnets.init_params(net, generator(seed, "init"))
        metrics, train_seconds, eval_seconds = _sdlm(kernel, net, cfg, xte_in, yte, config, row.name, seed, log,
                                                     params, one_pass, lambda p: generator(seed, "hkk", p), ckpt,
                                                     has_checkpoint, rate_scale=_rate_scale(opts))
        ftr = _net_input(xtr, row.input, net)  # the final weights on the (undistorted) training set
        model = _readout(opts, kernel, net, params, ftr, ytr)
    scores = model.scores(xte_in)
    pred = scores.argmax(1)
    missed = (pred != yte).nonzero().flatten().tolist()
    final = {"test_error": 100.0 * len(missed) / len(yte), "test_misses": len(missed), "test_n": len(yte),
             "test_acc": 1 - len(missed) / len(yte), "train_n": len(ytr), "reject_for_0_5": reject_rate(scores, yte, REJECT_TARGET),
             "parameters": model.parameters, "multiply_adds": model.multiply_adds,
             "evaluated_on": (f"holdout: the last {holdout} training patterns" if holdout else "the MNIST test set")}
    if row.train_error:
        tm = int((model.predict(ftr) != ytr).sum())
        final.update(train_error=100.0 * tm / len(ytr), train_misses=tm)
    if opts.get("boosting"):  # the filtered sets' sizes and each net's own test error
        final.update(net2_patterns=sum(set_classes[0]), net3_patterns=sum(set_classes[1]),
                     **{f"net{i + 1}_test_error": v for i, v in enumerate(net_errors)})
    prov = provenance.collect("cpu")
    prov.update(started_at=started, finished_at=provenance.now_iso(), wall_seconds=time.time() - t0,
                train_seconds=train_seconds, eval_seconds=eval_seconds, backend="layered-kernel",
                kernel=build_info(source=LAYERED_SOURCE))
    record = {
        "schema": records.SCHEMA, "run_id": f"{row.name}-s{seed}-{records.config_hash(config)}", "recipe": row.name,
        "family": "comparison", "dataset": "mnist", "config": config, "seed": seed, "metrics": metrics,
        "final": final, "test_misses_idx": missed, "test_predictions_missed": pred[missed].tolist(),
        "provenance": prov,
    }
    if opts.get("boosting"):  # each net as its own part (THE FAILED-RUN RULE checks every part, reports/verdicts/);
        # nets 2 and 3 with their filtered sets per class: what each could learn
        record["parts"] = [_part(f"net {k + 1}", m, p, yte, ([None] + set_classes)[k]) for k, (m, p) in
                           enumerate(zip(net_metrics, model.net_predictions(xte_in)))]
    train_txt = f", train error {final['train_error']:.2f} %" if "train_error" in final else ""
    log(f"{row.name}: test error {final['test_error']:.2f} % ({len(missed)} misses){train_txt}, "
        f"{final['reject_for_0_5']:.1f} % rejected for 0.5 % error")
    if out is not None:
        log(f"wrote {records.write_record(out, record)}")
    return record


def _part(name: str, metrics: list, pred: torch.Tensor, labels: torch.Tensor,
          train_per_class: list[int] | None = None) -> dict:
    """One component of a run (a boosted net), as much of a record as THE FAILED-RUN RULE reads: its per-pass
    metrics and its own misses on the evaluation digits, and (when given) the patterns per class 0-9 it was
    trained on (records.validate_record checks it)."""
    missed = (pred != labels).nonzero().flatten().tolist()
    part = {"name": name, "metrics": metrics,
            "final": {"test_error": 100.0 * len(missed) / len(labels), "test_misses": len(missed),
                      "test_n": len(labels), "test_acc": 1 - len(missed) / len(labels)},
            "test_misses_idx": missed, "test_predictions_missed": pred[missed].tolist()}
    if train_per_class is not None:
        part["train_per_class"] = list(train_per_class)
    return part


class _NetModel:
    """A trained network read out by its own output layer (or, `readout`, by a classifier on one layer's
    outputs), with the Fig. 11-12 counts of what recognition computes and stores."""

    def __init__(self, kernel, net, params, readout=None, layer=None):
        self.kernel, self.net, self.params, self.readout, self.layer = kernel, net, params, readout, layer

    def _features(self, x):
        return self.kernel.forward(self.net, self.params, x, features=self.layer)[1].double()

    def scores(self, x):
        if self.readout is None:
            return self.kernel.forward(self.net, self.params, x).double()
        return self.readout.scores(self._features(x))

    def predict(self, x):
        return self.scores(x).argmax(1)

    @property
    def parameters(self) -> int:
        if self.readout is None:
            return self.net.param_count
        return self.net.param_count - self._output_layer_params + self.readout.parameters

    @property
    def multiply_adds(self) -> int:
        if self.readout is None:
            return self.net.connections
        return self.net.connections - self._output_layer_params + self.readout.multiply_adds

    @property
    def _output_layer_params(self) -> int:
        last = self.net.placed[-1]  # a FULL layer: its connections are its parameters
        return last.end - last.w_offset


def _readout(opts: dict, kernel, net, params, ftr, ytr) -> _NetModel:
    """The network itself, or LeNet-4's output layer replaced (Sec. III-C.8) by K-NN or local learning on
    the layer before it, fitted on the (undistorted) training patterns' features."""
    kind = opts.get("readout")
    if kind is None:
        return _NetModel(kernel, net, params)
    from . import knn, local_learning

    layer = len(net.placed) - 2  # F5, the 120 units under the output layer
    feats = kernel.forward(net, params, ftr, features=layer)[1].double()
    if kind == "knn":
        r = knn.fit(feats, ytr, k=opts["k"])
    elif kind == "local":
        r = local_learning.fit(feats, ytr, neighbours=opts["neighbours"], ridge=opts["ridge"])
    else:
        raise ConfigError(f"readout must be knn or local, got {kind!r}")
    return _NetModel(kernel, net, params, r, layer)


def _restore(ckpt: Path, params: torch.Tensor, config: dict, seed: int) -> tuple[int, list, float, float]:
    """Load a network's checkpoint into `params`: (passes done, metrics, train and eval seconds so far)."""
    blob = records.load_checkpoint(ckpt)
    if blob.get("family") != "comparison" or blob.get("model_config") != config or blob.get("seed") != seed:
        raise ConfigError(f"{ckpt} was made by another row, config or seed; use another --out-dir, or "
                          f"--overwrite to start over there")
    records.checkpoint_fields(blob, ckpt, {"state_dict": dict, "passes_done": int, "metrics": list,
                                           "train_seconds": (int, float), "eval_seconds": (int, float)})
    w = blob["state_dict"].get("params")
    if (not isinstance(w, torch.Tensor) or w.shape != params.shape or w.dtype != params.dtype
            or len(blob["metrics"]) != blob["passes_done"]):
        raise RecordError(f"{ckpt}: malformed checkpoint (its weights or metrics do not fit {config['row']}); "
                          f"re-run with --overwrite")
    params.copy_(w)
    return blob["passes_done"], blob["metrics"], blob["train_seconds"], blob["eval_seconds"]


def _epilog(row: Row | None) -> str:
    """`--help`'s list: the row's options (from their specs), or every row with one line."""
    if row is not None:
        lines = option_specs.describe(row) or ["(none)"]
        return (f"{row.name}: {row_summary(row)}\n\nits options (--option KEY=VALUE, the value in JSON):\n"
                + "\n".join(f"  {ln}" for ln in lines))
    width = max(map(len, ROWS))
    return ("the rows (`lenet train <row> --help`: its options):\n"
            + "\n".join(f"  {n:<{width}}  {row_summary(r)}" for n, r in ROWS.items()))


def build_parser(row: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `row` (a known row name), its --help lists that row's options."""
    p = argparse.ArgumentParser(prog="lenet train", description=summary(__doc__), formatter_class=HelpFormatter,
                                epilog=_epilog(ROWS.get(row)))
    p.add_argument("row", choices=list(ROWS), metavar="row", help="a Fig. 9 row (listed below)")
    p.add_argument("--seed", type=int, default=0, help="0 .. 2**63 - 1 (only the stochastic rows use it)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="override one of the row's options (a JSON value: 10, 0.5, true, \"tanh\"; each key once), "
                        "e.g. --option ridge=10")
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--out-dir", default=None, help="default: runs/<row>-s<seed>")
    p.add_argument("--overwrite", action="store_true", help="fit again even if --out-dir holds a result")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted network run in --out-dir (or reuse its finished record)")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-subset", type=int, default=None, help="use only the first N test images")
    p.add_argument("--holdout", type=int, default=None,
                   help="evaluate on the last N training images instead of the test set (fit on the rest)")
    return p


def parse_options(items: list[str]) -> dict:
    """--option KEY=VALUE items -> {key: value} (options.parse: JSON values, no NaN/Infinity, each key once)."""
    return option_specs.parse(items)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)

    def body() -> int:
        out = args.out_dir or f"runs/{args.row}-s{args.seed}"
        rec = train(args.row, options=parse_options(args.option), seed=args.seed, data_root=args.data_root,
                    out_dir=out, train_subset=args.train_subset, test_subset=args.test_subset,
                    holdout=args.holdout, resume=args.resume, overwrite=args.overwrite)
        from lenet_repro.references import get_reference

        ref = get_reference(get_row(args.row).reference)
        print(f"{args.row}: test error {rec['final']['test_error']:.2f} % (the paper, Fig. 9: {ref.value:g} %)")
        return 0

    return run_cli(body, prog="lenet train")


if __name__ == "__main__":
    sys.exit(main())
