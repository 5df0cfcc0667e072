"""`lenet train lenet5-1998`: the paper's training recipe (Sec. III-B, Appendix C).

Online updates (batch size 1), the training patterns in one constant random order, 20 passes,
the per-pass global rate schedule, and SDLM step sizes eta / (mu + h_kk) with h_kk re-estimated
on 500 patterns before every pass. After every pass: test error, training error and a checkpoint;
`--resume` continues an interrupted run with an identical outcome (every random choice derives
from (seed, purpose, pass)).

Several runs can train in lockstep (`train_runs([...])`): each is still batch-1 online, and each
member's trajectory equals its solo run. The report generator uses this for seeds and ablations.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from lenet_repro import datasets, provenance, records
from lenet_repro.cli_util import HelpFormatter, int_range, run_cli, summary
from lenet_repro.device import AUTO_HELP, DEVICE_CHOICES, check_seed, resolve_device
from lenet_repro.errors import ConfigError, RecordError
from lenet_repro.lock import dir_locks

from .backends import Member, make_backend
from .config import LeNet5Config
from .data import MnistSplits, load_mnist
from .distortions import DistortedPool
from .evaluate import EvalResult, evaluate_params
from .fast.build import build_info as kernel_build_info
from .model import LeNet5
from .preprocessing import to_input
from .recipes import LENET1998_RECIPES, RECIPE_DESCRIPTIONS
from .sdlm import effective_rates
from .seeds import generator

CHECKPOINT = "checkpoint.pt"


@dataclass
class RunSpec:
    recipe: str
    config: LeNet5Config
    seed: int = 0
    out_dir: Path | None = None
    label: str = ""  # shown in the log (default: recipe and seed)
    # "every-pass": the final weights' training-set error after every pass (Fig. 5's curve); "last-pass":
    # only after the last (the report's ablation study, where the per-pass curve is the test error and
    # the on-the-fly running error: it saves an evaluation of 60,000 patterns per pass and run).
    # Observation only: the weights and every other number are the same either way.
    train_eval: str = "every-pass"

    @property
    def name(self) -> str:
        return self.label or f"{self.recipe} s{self.seed}"


@dataclass
class _Run:
    spec: RunSpec
    member: Member
    order: torch.Tensor  # the constant random order of the training patterns
    pool: DistortedPool | None
    hkk: torch.Tensor | None = None  # the last h_kk estimate (kept hkk_every passes)
    metrics: list = field(default_factory=list)
    rates: list = field(default_factory=list)  # per pass: spread of the effective rates
    done: int = 0  # passes completed
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    last_test: EvalResult | None = None
    record: dict | None = None

    @property
    def cfg(self) -> LeNet5Config:
        return self.spec.config


CAP_FRACTION = 0.9  # a rate "at the cap": eps_k >= 0.9 eta / mu, i.e. h_kk <= mu / 9 (almost no curvature)


def _rate_spread(model: LeNet5, eps: torch.Tensor, cap: float | None = None) -> dict:
    """min / median / max of the effective rates, overall and per parameter tensor; with `cap` (eta / mu,
    SDLM's largest rate) also the fraction of the rates at the cap, overall and per tensor."""
    slices = model.parameter_slices()
    per = {name: [float(eps[s].min()), float(eps[s].max())] for name, s in slices.items()}
    out = {"min": float(eps.min()), "median": float(eps.median()), "max": float(eps.max()), "per_parameter": per}
    if cap is not None:
        at = eps >= CAP_FRACTION * cap
        out["capped"] = float(at.float().mean())
        out["capped_per_parameter"] = {name: float(at[s].float().mean()) for name, s in slices.items()}
    return out


def _data_split(data: MnistSplits) -> dict:
    return {"train": len(data.train_labels), "test": len(data.test_labels), "holdout": data.holdout}


def _check_resume(run: _Run, blob: dict, path: Path, data: MnistSplits) -> None:
    spec = run.spec
    if blob.get("family") != "lenet1998" or blob.get("recipe") != spec.recipe:
        raise ConfigError(f"{path} belongs to recipe {blob.get('recipe')!r}, not {spec.recipe!r}; "
                          f"use another --out-dir or drop --resume")
    if blob.get("model_config") != spec.config.to_dict() or blob.get("seed") != spec.seed:
        raise ConfigError(f"{path} was made with a different config or seed; use another --out-dir, "
                          f"or --overwrite to start over there")
    if blob.get("data", _data_split(data)) != _data_split(data):
        raise ConfigError(f"{path} was trained on a different data split {blob['data']} (now {_data_split(data)}); "
                          f"use the same --train-subset/--test-subset/--holdout, or another --out-dir")


def _prepare(spec: RunSpec, data: MnistSplits, resume: bool, overwrite: bool, log) -> _Run:
    if spec.train_eval not in ("every-pass", "last-pass"):
        raise ConfigError(f"train_eval={spec.train_eval!r} is not one of every-pass, last-pass")
    cfg = spec.config
    model = LeNet5(cfg, generator=generator(spec.seed, "init"))
    n = len(data.train_labels)
    order = (torch.randperm(n, generator=generator(spec.seed, "order")) if cfg.pattern_order == "random"
             else torch.arange(n))  # "file": MNIST's own order, as Lush's demo walks it
    pool = DistortedPool(cfg, spec.seed, data.train_images, data.train_labels) if cfg.distortions else None
    run = _Run(spec, Member(cfg, model, model.get_flat()), order, pool)
    if spec.out_dir is None:
        return run
    ckpt = Path(spec.out_dir) / CHECKPOINT
    result = Path(spec.out_dir) / records.RESULT_NAME
    if records.claim_out_dir(spec.out_dir, ckpt, resume, overwrite):
        blob = records.load_checkpoint(ckpt)
        _check_resume(run, blob, ckpt, data)
        records.checkpoint_fields(blob, ckpt, {"state_dict": dict, "passes_done": int, "metrics": list,
                                               "rates": list, "train_seconds": (int, float),
                                               "eval_seconds": (int, float)})
        if not 0 <= blob["passes_done"] <= cfg.passes or len(blob["metrics"]) != blob["passes_done"]:
            raise RecordError(f"{ckpt}: malformed checkpoint: {blob['passes_done']} passes done of {cfg.passes} with "
                              f"{len(blob['metrics'])} rows of metrics; re-run with --overwrite to start over")
        records.load_weights(model, blob["state_dict"], ckpt)
        run.member.params = model.get_flat()
        run.done, run.metrics, run.rates = blob["passes_done"], blob["metrics"], blob["rates"]
        run.train_seconds, run.eval_seconds = blob["train_seconds"], blob["eval_seconds"]
        if cfg.hkk_every > 1 and run.done % cfg.hkk_every:  # resuming inside a set: its h_kk is needed
            h = blob.get("hkk")
            if not isinstance(h, torch.Tensor) or h.shape != run.member.params.shape:
                raise RecordError(f"{ckpt}: malformed checkpoint: no h_kk estimate to resume pass {run.done + 1} "
                                  f"with; re-run with --overwrite to start over")
            run.hkk = h.float().contiguous()
        log(f"{spec.name}: resuming after pass {run.done}/{cfg.passes} from {ckpt}")
        if run.done >= cfg.passes and result.exists():
            try:
                run.record = records.read_record(result)
            except RecordError as e:
                log(f"{spec.name}: {e}; writing it again from the checkpoint")
    return run


def _pass_data(run: _Run, data: MnistSplits, p: int) -> None:
    """Set this pass's patterns, order and h_kk sample on the run's member."""
    m, cfg = run.member, run.cfg
    if run.pool is None:
        m.images, m.labels, m.order = data.inputs("train", cfg.input_scaling), data.train_labels, run.order
        if cfg.pattern_order == "reshuffled":  # ablation: a fresh order every pass, as the book's DataLoader
            m.order = torch.randperm(len(m.labels), generator=generator(run.spec.seed, "order", p))
    else:
        images01, labels = run.pool.patterns(run.pool.pass_indices(p))
        m.images, m.labels = to_input(images01, cfg.input_scaling), labels
        m.order = torch.arange(len(labels))
    n = len(m.order)
    k = min(cfg.hkk_patterns, n)
    if cfg.hkk_sampling == "random":
        m.hkk_idx = torch.randperm(n, generator=generator(run.spec.seed, "hkk", p))[:k]
    else:
        m.hkk_idx = m.order[:k].clone()
    m.pass_index = p


def _checkpoint(run: _Run, data: MnistSplits, final: dict | None = None) -> None:
    """Self-describing checkpoint after every pass (atomic): weights, config, progress, metrics."""
    if run.spec.out_dir is None:
        return
    run.member.model.set_flat(run.member.params)
    records.save_checkpoint(
        Path(run.spec.out_dir) / CHECKPOINT, family="lenet1998", recipe=run.spec.recipe,
        model_config=run.cfg.to_dict(), state_dict=run.member.model.state_dict(), seed=run.spec.seed,
        passes_done=run.done, metrics=run.metrics, rates=run.rates, train_seconds=run.train_seconds,
        eval_seconds=run.eval_seconds, final=final, data=_data_split(data),
        **({"hkk": run.hkk.clone()} if run.hkk is not None and run.cfg.hkk_every > 1 else {}))


def train_runs(specs: list[RunSpec], *, device: str = "auto", backend: str = "auto", data_root=None,
               resume: bool = False, overwrite: bool = False, train_subset: int | None = None,
               test_subset: int | None = None, holdout: int | None = None, data: MnistSplits | None = None,
               log=print) -> list[dict]:
    """Train K runs together (K = 1 for a solo run); return their run records.

    Each run's `out_dir` is locked for the whole call (lenet_repro/lock.py): another lenet process
    on the same folder is refused with one line. `device="auto"`: see `engine_device`."""
    if not specs:
        return []
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite contradict each other (--resume continues the run in --out-dir, "
                          "--overwrite discards it); pass only one of them")
    for s in specs:
        check_seed(s.seed)
    dirs = [Path(s.out_dir).resolve() for s in specs if s.out_dir is not None]
    if len(set(dirs)) < len(dirs):
        raise ConfigError("two runs share one --out-dir; give each run its own")
    if data is None:
        datasets.check_split("mnist", train_subset, test_subset, holdout)
    dev = engine_device(device, backend)
    with dir_locks(dirs, "--out-dir"), records.replacing(dirs if overwrite else ()):
        return _train_runs(specs, dev, backend, data_root, resume, overwrite, train_subset, test_subset, holdout,
                           data, log)


def engine_device(device: str, backend: str) -> torch.device:
    """The one `--device auto` rule (lenet_repro.device): the CUDA GPU if present, except that the fast C
    kernel is CPU-only, so whenever this run uses it (`--backend fast`, or `auto` with the kernel built and
    no GPU named) auto is the CPU."""
    if backend not in ("auto", "fast", "reference"):
        raise ConfigError(f"unknown backend {backend!r}; use auto, fast or reference")
    from .fast import fast_available

    named = (device or "auto").lower()
    uses_fast = backend == "fast" or (backend == "auto" and named in ("auto", "cpu") and fast_available(notice=False))
    return resolve_device(named, cpu_only_engine=uses_fast)


def _train_runs(specs, dev, backend, data_root, resume, overwrite, train_subset, test_subset, holdout, data,
                log) -> list[dict]:
    started, t0 = provenance.now_iso(), time.time()
    data = data or load_mnist(data_root, train_subset, test_subset, holdout)
    runs = [_prepare(s, data, resume, overwrite, log) for s in specs]
    eng = make_backend(backend, dev, [s.config for s in specs], log)
    for r in runs:
        r.member.model.to(eng.device)
    group = len(runs)

    while True:
        active = [r for r in runs if r.done < r.cfg.passes and r.record is None]
        if not active:
            break
        for r in active:
            _pass_data(r, data, r.done)
        # h_kk before the pass, held fixed during it (App. C)
        # (every hkk_every passes; in between, the last estimate with this pass's eta)
        sdlm = [r for r in active if r.cfg.optimizer == "sdlm"]
        fresh = [r for r in sdlm if r.done % r.cfg.hkk_every == 0 or r.hkk is None]
        for r, h in zip(fresh, eng.hkk([r.member for r in fresh]) if fresh else []):
            r.hkk = h
        for r in sdlm:
            r.member.eps = effective_rates(r.hkk, r.cfg.rate(r.done), r.cfg.mu).float().contiguous()
        for r in active:
            if r.cfg.optimizer == "sgd":  # ablation: one rate for all parameters, same schedule shape
                r.member.eps = torch.full_like(r.member.params, r.cfg.sgd_rate_scale * r.cfg.rate(r.done))
        t_pass = time.time()
        results = eng.train_pass([r.member for r in active])
        pass_seconds = time.time() - t_pass
        for r, (loss_sum, running_errors) in zip(active, results):
            t_eval = time.time()
            test = evaluate_params(eng, r.cfg, r.member.model, r.member.params,
                                   data.inputs("test", r.cfg.input_scaling), data.test_labels)
            last_pass = r.done + 1 == r.cfg.passes
            train = (evaluate_params(eng, r.cfg, r.member.model, r.member.params,
                                     data.inputs("train", r.cfg.input_scaling), data.train_labels)
                     if r.spec.train_eval == "every-pass" or last_pass else None)
            r.eval_seconds += time.time() - t_eval
            r.train_seconds += pass_seconds
            n = len(r.member.order)
            row = {"pass": r.done + 1, "eta": r.cfg.rate(r.done), "train_loss": loss_sum / n,
                   "train_error_running": 100.0 * running_errors / n,
                   **({"train_error": train.error, "train_misses": train.misses} if train else {}),
                   "test_error": test.error, "test_misses": test.misses,
                   "seconds": pass_seconds, "examples_per_s": n / pass_seconds, "lockstep": group}
            if r.member.eps is not None and r.cfg.optimizer != "minibatch-sgd":
                sdlm_cap = r.cfg.rate(r.done) / r.cfg.mu if r.cfg.optimizer == "sdlm" else None
                spread = _rate_spread(r.member.model, r.member.eps, sdlm_cap)
                r.rates.append(spread)
                row.update(rate_min=spread["min"], rate_median=spread["median"], rate_max=spread["max"])
                if sdlm_cap is not None:
                    row.update(rate_capped=spread["capped"])
            r.metrics.append(row)
            r.done += 1
            r.last_test = test
            _checkpoint(r, data)
            log(f"{r.spec.name} pass {row['pass']:2d}/{r.cfg.passes}: eta {row['eta']:.5f} "
                f"loss {row['train_loss']:.4f} train err {row.get('train_error', row['train_error_running']):.2f}% test err {row['test_error']:.2f}% "
                f"({row['test_misses']} misses) {row['examples_per_s']:.0f} steps/s"
                + (f" x{group}" if group > 1 else ""))
            if r.done == 1 and r.rates:
                sp = r.rates[0]
                log(f"  effective rates in pass 1: {sp['min']:.2g} .. {sp['max']:.2g} "
                    f"(median {sp['median']:.2g}; the paper saw about 7e-5 .. 0.016)")

    out = []
    for r in runs:
        if r.record is None:
            r.record = _finish(r, data, eng, dev, started, t0, group)
        out.append(r.record)
    return out


def _finish(r: _Run, data: MnistSplits, eng, dev, started: str, t0: float, group: int) -> dict:
    cfg, m = r.cfg, r.member
    test = r.last_test or evaluate_params(eng, cfg, m.model, m.params, data.inputs("test", cfg.input_scaling),
                                          data.test_labels)
    last = r.metrics[-1]
    prov = provenance.collect(dev)
    prov.update(started_at=started, finished_at=provenance.now_iso(), wall_seconds=time.time() - t0,
                train_seconds=r.train_seconds, eval_seconds=r.eval_seconds, backend=eng.name,
                kernel=kernel_build_info() if eng.name == "fast" else None,
                lockstep_group=group)
    config = {**cfg.to_dict(), "train_subset": len(data.train_labels), "test_subset": len(data.test_labels),
              "holdout": data.holdout}
    record = {
        "schema": records.SCHEMA,
        "run_id": f"{r.spec.recipe}-s{r.spec.seed}-{records.config_hash(cfg.to_dict())}",
        "recipe": r.spec.recipe,
        "family": "lenet1998",
        "dataset": "mnist",
        "config": config,
        "seed": r.spec.seed,
        "metrics": r.metrics,
        "final": {"test_error": test.error, "test_misses": test.misses, "test_n": test.n,
                  "train_error": last["train_error"], "train_misses": last["train_misses"],
                  "train_n": len(data.train_labels), "train_loss": last["train_loss"],
                  "test_acc": 1 - test.error / 100, "train_acc": 1 - last["train_error"] / 100,
                  "examples_per_s": sum(x["examples_per_s"] for x in r.metrics) / len(r.metrics),
                  "evaluated_on": (f"holdout: the last {data.holdout} training patterns" if data.holdout
                                   else "the MNIST test set")},
        "test_misses_idx": test.missed_idx,
        "test_predictions_missed": test.missed_pred,
        "sdlm": {"pass1_rates": r.rates[0] if r.rates else None,
                 # per pass: the fraction of each tensor's rates at the cap eta / mu (h_kk ~ 0)
                 "capped_per_pass": [x["capped_per_parameter"] for x in r.rates if "capped_per_parameter" in x]},
        "provenance": prov,
    }
    if r.spec.out_dir is not None:
        _checkpoint(r, data, final=record["final"])
        record["checkpoint"] = CHECKPOINT
        records.write_record(r.spec.out_dir, record)
    return record


# ---------------------------------------------------------------------------------------------- CLI

def parse_bool(text: str) -> bool:
    """argparse type for BOOL options: true/false, 1/0, yes/no (any case); anything else is an error."""
    v = text.strip().lower()
    if v in ("1", "true", "yes"):
        return True
    if v in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean; use true/false, 1/0 or yes/no")


def parse_rates(text: str) -> tuple[float, ...]:
    """argparse type for --schedule: comma-separated numbers."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers, e.g. "
                                         f"0.0005,0.0002,0.0001") from None


# Upper bounds of the integer paper options on the command line, which LeNet5Config leaves open (it
# checks the lower ones, in its own one-line messages): beyond them a run only exhausts memory or time
# (a pool of 10^9 distorted copies) or overflows a generator's seed.
CLI_BOUNDS = {"passes": (1, 1000), "hkk_patterns": (1, 60_000), "hkk_every": (1, 1000), "distortion_copies": (0, 99),
              "minibatch_size": (1, 60_000), "rbf_code_seed": (0, 2**63 - 1)}


def _shown(value) -> str:
    """A default as the command line writes it: true/false, a rate schedule run-length encoded."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        runs = []
        for v in value:
            if runs and runs[-1][0] == v:
                runs[-1][1] += 1
            else:
                runs.append([v, 1])
        return ",".join(f"{v:g}" + (f" x{n}" if n > 1 else "") for v, n in runs)
    return "unset" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def paper_option_help(name: str) -> str:
    """--help of one paper option, from lenet1998/config.py: its choices (CHOICES) or range, its default
    in each 1998 recipe, and the reason written beside the field (config.field_notes)."""
    from .config import CHOICES, field_notes

    defaults = {r: getattr(cfg, name) for r, cfg in LENET1998_RECIPES.items()}
    first = next(iter(defaults.values()))
    others = [f"{r}: {_shown(v)}" for r, v in defaults.items() if v != first]
    parts = []
    if name in CHOICES:
        parts.append("one of " + ", ".join(CHOICES[name]))
    elif name in CLI_BOUNDS:
        parts.append(f"{CLI_BOUNDS[name][0]:,} .. {CLI_BOUNDS[name][1]:,}")
    parts.append(f"default {_shown(first)}" + (f" ({'; '.join(others)})" if others else ""))
    note = field_notes().get(name)
    text = "; ".join(parts) + (f". {note}" if note else "")
    return text.replace("%", "%%")  # argparse formats help strings with %


def build_parser() -> argparse.ArgumentParser:
    recipes = "\n".join(f"  {n:<24} {d}" for n, d in RECIPE_DESCRIPTIONS.items())
    p = argparse.ArgumentParser(prog="lenet train lenet5-1998", description=summary(__doc__),
                                formatter_class=HelpFormatter, epilog=f"the 1998 recipes:\n{recipes}")
    p.add_argument("recipe", choices=list(LENET1998_RECIPES), help="a 1998 recipe (listed below)")
    p.add_argument("--seed", type=int, default=0, help="0 .. 2**63 - 1")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                   help=AUTO_HELP + " (batch-1 online training is latency-bound: the C kernel beats a GPU); "
                        "with --backend reference, auto is the GPU if present")
    p.add_argument("--backend", default="auto", choices=("auto", "fast", "reference"),
                   help="fast = C kernel (CPU); reference = plain autograd (any device)")
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--out-dir", default=None, help="default: runs/<recipe>-s<seed>")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out-dir")
    p.add_argument("--overwrite", action="store_true",
                   help="start over even if --out-dir holds a run (deletes its checkpoint and result.json)")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images (1..60000)")
    p.add_argument("--test-subset", type=int, default=None, help="use only the first N test images (1..10000)")
    p.add_argument("--holdout", type=int, default=None,
                   help="evaluate on the last N training patterns instead of the test set (train on the rest)")
    p.add_argument("--dry-run", action="store_true", help="1 pass on 1,000 patterns: checks the wiring")
    g = p.add_argument_group("paper options (unset: the recipe's value; each option's field in lenet1998/config.py)")
    g.add_argument("--distortions", action="store_true", default=None, help=paper_option_help("distortions"))
    from .config import CHOICES

    for f in fields(LeNet5Config):
        if f.name in ("distortions", "schedule"):
            continue
        flag, t = "--" + f.name.replace("_", "-"), str(f.type)
        help_ = paper_option_help(f.name)
        if f.name == "subsampling_coef_init":
            g.add_argument(flag, type=float, default=None, metavar="FLOAT", help=help_)
        elif t == "bool":
            g.add_argument(flag, type=parse_bool, default=None, metavar="BOOL",
                           help="true/false, 1/0 or yes/no; " + help_)
        elif f.name in CHOICES:  # the value is checked by LeNet5Config (one line naming the choices)
            g.add_argument(flag, type=str, default=None, metavar="{" + ",".join(CHOICES[f.name]) + "}", help=help_)
        elif f.name in CLI_BOUNDS:
            lo, hi = CLI_BOUNDS[f.name]
            g.add_argument(flag, type=int_range(lo, hi, low_checked_later=True), default=None, metavar="INT",
                           help=help_)
        else:
            g.add_argument(flag, type={"int": int, "float": float}.get(t, str), default=None, metavar=t.upper(),
                           help=help_)
    g.add_argument("--schedule", type=parse_rates, default=None, metavar="R1,R2,...",
                   help="global rate per pass (the last one repeats); " + paper_option_help("schedule"))
    return p


def config_from_args(args) -> LeNet5Config:
    base = LENET1998_RECIPES[args.recipe]
    over = {f.name: getattr(args, f.name) for f in fields(LeNet5Config) if getattr(args, f.name, None) is not None}
    if args.dry_run:
        over["passes"] = 1
    return base.replace(**over)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        cfg = config_from_args(args)
        out = Path(args.out_dir or f"runs/{args.recipe}-s{args.seed}")
        sub_train = 1000 if args.dry_run else args.train_subset
        sub_test = 1000 if args.dry_run else args.test_subset
        (rec,) = train_runs([RunSpec(args.recipe, cfg, args.seed, out)], device=args.device, backend=args.backend,
                            data_root=args.data_root, resume=args.resume, overwrite=args.overwrite,
                            train_subset=sub_train, test_subset=sub_test, holdout=args.holdout)
        from .published import describe_paper

        print(describe_paper(rec))
        print(f"wrote {out / records.RESULT_NAME}")
        return 0

    return run_cli(body, prog="lenet train")


if __name__ == "__main__":
    sys.exit(main())
