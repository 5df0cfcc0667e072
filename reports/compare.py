"""`lenet compare`: your classifier in the paper's comparison (Sec. III-C, Figs. 9-12), on the same
10,000 MNIST test digits, under the same rules as every row of the report (reports/verdicts/).

    lenet compare --predictions preds.npy --name my-net             # 10,000 labels (or 10 scores a digit)
    lenet compare --model my_model.py:build --name my-net --seeds 3  # an nn.Module trained by a recipe
    lenet compare --model my_knn.py:build --name my-knn              # an object with fit / predict

    from reports.compare import compare_predictions
    result = compare_predictions(labels, "my-net", scores=None)
    result.verdict, result.vs_lenet5, result.write("compare/my-net")

What it gives (written to `--out` as compare.md, fig9.csv, fig9.tex, fig9.png / .pdf and digits.csv):

- the row's test error with THE ROW UNCERTAINTY (one fit: Clopper-Pearson; seeds: seeds + shared test
  digits), failed runs by THE FAILED-RUN RULE named and left out, and THE VERDICT RULE against a paper
  row (`--reference`, default the paper's LeNet-5, 0.95 %);
- against LeNet-5's recorded runs (the committed full report's `faithful/lenet5-1998` seeds): THE
  CHANGE RULE -- seed-matched pairs (paired t) when the model has >= 2 seeds shared with LeNet-5's,
  else one fixed fit against LeNet-5's row (changes.fixed_vs_row); and, digit by digit, the digits
  yours misses that LeNet-5 gets and the reverse (descriptive: digits are not the unit of a claim);
- Fig. 10 (the % of digits rejected, smallest top-two score difference first, to reach 0.5 % error)
  when 10 scores a digit are given or the model yields them;
- Figs. 11-12 for a torch module: multiply-adds per recognition (the convolutions' and matrix products'
  multiply-adds, torch.utils.flop_counter: the paper counts connections) and parameters;
- the Fig. 9 table and bar chart with your row beside the paper's 27 and ours.

Inputs (`--input`): `mnist` gives a module (N, 1, 28, 28) floats in [0, 1] and a fit/predict object
(N, 784); `paper` gives LeNet-5's input, 32x32 padded and scaled to [-0.1, 1.175]
(lenet1998.preprocessing.to_input): (N, 1, 32, 32), or (N, 1024) for fit/predict.

A module is trained by one of the textbook recipes (`--recipe`, default exercise-mnist: SGD, its rate,
batch and epochs, cross-entropy, reshuffled every epoch; modern/recipes.py) on the 60,000 MNIST training
digits, one run per seed under `--out`/runs/s<seed> (resumable: an interrupted comparison re-run with
the same command continues). The factory is called after the seed is set (with the seed, if it takes an
argument), so the module keeps its own, seeded, initialisation.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lenet_repro.errors import ConfigError, LenetError

N_TEST = 10_000
N_CLASSES = 10
LENET5 = "faithful/lenet5-1998"  # the recorded runs every model is compared with
DEFAULT_REFERENCE = "paper-fig9-lenet-5"
DEFAULT_RECIPE = "exercise-mnist"  # the textbook recipe on MNIST (d2l exercise 3)
RECORDS = Path(__file__).resolve().parent / "full"  # the committed full report: LeNet-5's and Fig. 9's runs
INPUTS = ("mnist", "paper")
REJECT_TARGET = 0.5  # Fig. 10: % rejected to reach 0.5 % error
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
MAX_SEEDS = 100


class ModelError(LenetError):
    """The user's factory, module or fit/predict object raised, or returned something unusable."""


# ---------------------------------------------------------------------------------------------------
# inputs: predictions files and model factories


@dataclass(frozen=True)
class Predictions:
    labels: np.ndarray  # (10000,) int64 in 0..9, test-set order
    scores: np.ndarray | None = None  # (10000, 10) float64, higher = more likely, or None


def _table(path: Path) -> np.ndarray:
    """A .npy array, or a .csv / .txt table of numbers (comma- or whitespace-separated; one header line
    of names allowed)."""
    if path.suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, EOFError) as e:
            raise ConfigError(f"{path}: not a readable .npy array ({e}); save it with numpy.save") from None
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; give .npy, or .csv / .txt with one label a line") from None
    lines = [ln for ln in lines if ln]
    def numbers(ln):
        try:
            [float(c) for c in re.split(r"[,\s;]+", ln) if c]
            return True
        except ValueError:
            return False

    if len(lines) > 1 and not numbers(lines[0]) and numbers(lines[1]):
        lines = lines[1:]  # a header line of names
    rows = []
    for i, ln in enumerate(lines):
        cells = [c for c in re.split(r"[,\s;]+", ln) if c]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            raise ConfigError(f"{path}: line {i + 1} is not numbers ({ln[:40]!r}); give one label (0-9), or 10 "
                              f"scores, or a label and 10 scores a line") from None
    if not rows:
        raise ConfigError(f"{path}: holds no predictions; give {N_TEST:,} labels in test-set order")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ConfigError(f"{path}: its lines hold different numbers of values ({sorted(widths)}); give the same "
                          f"columns on every line")
    return np.asarray(rows, dtype=np.float64)


def read_predictions(path: str | Path) -> Predictions:
    """Predicted labels (and optionally scores) of the 10,000 MNIST test digits, in test-set order, from a
    .npy, .csv or .txt file: one column of labels, 10 columns of scores (the label is their argmax), or a
    label and 10 scores. ConfigError (one line) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; give a .npy, .csv or .txt file of {N_TEST:,} predicted labels")
    if path.suffix not in (".npy", ".csv", ".txt"):
        raise ConfigError(f"{path}: unknown kind {path.suffix or '(none)'}; give .npy, .csv or .txt")
    a = _table(path)
    if a.dtype.kind not in "biuf":
        raise ConfigError(f"{path}: holds {a.dtype} values, not numbers; give labels 0-9 (and scores)")
    a = a.astype(np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] not in (1, N_CLASSES, N_CLASSES + 1):
        raise ConfigError(f"{path}: has shape {a.shape}; give (N,) labels, (N, 10) scores or (N, 11) label + scores")
    if len(a) != N_TEST:
        raise ConfigError(f"{path}: holds {len(a):,} predictions; the MNIST test set has {N_TEST:,} digits "
                          f"(one a line, in test-set order)")
    labels = scores = None
    if a.shape[1] in (1, N_CLASSES + 1):
        col = a[:, 0]
        bad = ~np.isfinite(col) | (col != np.round(col)) | (col < 0) | (col > N_CLASSES - 1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ConfigError(f"{path}: prediction {i + 1} is {col[i]!r}, not a label 0-9; give integer labels "
                              f"0-9 in test-set order")
        labels = col.astype(np.int64)
    if a.shape[1] >= N_CLASSES:
        scores = a[:, -N_CLASSES:]
        if not np.isfinite(scores).all():
            i = int(np.argmax(~np.isfinite(scores).all(axis=1)))
            raise ConfigError(f"{path}: the scores of digit {i + 1} are not all finite (NaN or inf); give finite "
                              f"scores, higher = more likely")
        if labels is None:
            labels = scores.argmax(axis=1).astype(np.int64)
    return Predictions(labels, scores)


def load_factory(spec: str):
    """`path/to/file.py:factory` -> the callable (ConfigError for a bad spec, a missing file or name)."""
    file, sep, attr = spec.rpartition(":")
    if not sep or not file or not attr.isidentifier():
        raise ConfigError(f"--model {spec!r} must look like path/to/file.py:factory")
    path = Path(file)
    if path.suffix != ".py" or not path.is_file():
        raise ConfigError(f"--model {spec!r}: {path} is not a Python file; give path/to/file.py:factory")
    mod_name = f"lenet_compare_user_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
    try:
        s = importlib.util.spec_from_file_location(mod_name, path)
        mod = importlib.util.module_from_spec(s)
        sys.modules[mod_name] = mod
        s.loader.exec_module(mod)
    except Exception as e:  # the user's file: one line, whatever it raised
        raise ModelError(f"--model {spec!r}: importing {path} raised {type(e).__name__}: {e}") from None
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise ConfigError(f"--model {spec!r}: {path} has no callable {attr!r}")
    return fn


def _call_factory(factory, seed: int, spec: str):
    try:
        takes_seed = len(inspect.signature(factory).parameters) > 0
    except (TypeError, ValueError):
        takes_seed = False
    try:
        return factory(seed) if takes_seed else factory()
    except Exception as e:
        raise ModelError(f"--model {spec!r}: the factory raised {type(e).__name__}: {e}") from None


def file_digest(spec: str) -> str:
    return hashlib.sha256(Path(spec.rpartition(":")[0]).read_bytes()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------
# runs: one record per seed, in the run-record shape the verdict layer reads


def prediction_record(labels: np.ndarray, truth: np.ndarray, name: str, seed: int = 0, source: str = "",
                      config: dict | None = None) -> dict:
    """A run record (the fields the verdict layer reads) of one set of predictions of the test digits."""
    missed = np.flatnonzero(labels != truth)
    n = len(truth)
    return {"recipe": name, "family": "compare", "dataset": "mnist", "seed": int(seed),
            "config": {"source": source, **(config or {})}, "metrics": [],
            "final": {"test_error": 100.0 * len(missed) / n, "test_misses": int(len(missed)), "test_n": int(n),
                      "test_acc": 1.0 - len(missed) / n},
            "test_misses_idx": missed.tolist(), "test_predictions_missed": labels[missed].tolist()}


def test_labels(data_root=None) -> np.ndarray:
    from lenet_repro import datasets

    return datasets.load("mnist", "test", data_root)[1].numpy()


@dataclass
class Run:
    record: dict
    scores: np.ndarray | None = None  # (10000, 10)


@dataclass
class Costs:
    multiply_adds: int
    parameters: int


def module_costs(net, input_kind: str) -> Costs:
    """Figs. 11-12 of a torch module: multiply-adds of one recognition (torch.utils.flop_counter counts 2 per
    multiply-add of every convolution and matrix product) and its parameters."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    side = 32 if input_kind == "paper" else 28
    was = net.training
    net.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            net(torch.zeros(1, 1, side, side))
    except Exception as e:
        raise ModelError(f"the module's forward on one (1, 1, {side}, {side}) input raised {type(e).__name__}: {e}") from None
    finally:
        net.train(was)
    return Costs(int(fc.get_total_flops() // 2), int(sum(p.numel() for p in net.parameters())))


def _paper_front():
    import torch.nn as nn

    from lenet1998.preprocessing import to_input

    class PaperInput(nn.Module):
        """(N, 1, 28, 28) in [0, 1] -> LeNet-5's (N, 1, 32, 32) input (lenet1998.preprocessing.to_input)."""

        def forward(self, x):
            return to_input(x[:, 0])

    return PaperInput()


def train_module(spec: str, factory, *, recipe: str = DEFAULT_RECIPE, seeds=(0,), input_kind: str = "mnist",
                 out: Path, data_root=None, device: str = "auto", train_subset: int | None = None,
                 epochs: int | None = None, overwrite: bool = False, log=print) -> tuple[list[Run], Costs]:
    """Train the factory's nn.Module by a textbook recipe on MNIST (modern/train.py), one run per seed in
    `out`/runs/s<seed>; its scores on the test digits from the saved weights (softmax of its logits)."""
    import torch
    import torch.nn as nn

    from lenet_repro import records
    from modern import train as modern_train
    from modern.recipes import get_recipe

    r = get_recipe(recipe).with_overrides(dataset="mnist", epochs=epochs)

    def build(seed):
        net = _call_factory(factory, seed, spec)
        if not isinstance(net, nn.Module):
            raise ModelError(f"--model {spec!r}: the factory returned a {type(net).__name__}, not an nn.Module "
                             f"(or an object with fit and predict)")
        return nn.Sequential(_paper_front(), net) if input_kind == "paper" else net

    probe = build(seeds[0])
    costs = module_costs(probe, "mnist")  # the front's padding counts nothing
    digest = file_digest(spec)
    runs = []
    _, _, xte, yte = modern_train.load_data("mnist", data_root, torch.device("cpu"))
    for seed in seeds:
        d = Path(out) / "runs" / f"s{seed}"
        model_id = {"model": spec.rpartition(":")[2], "file_sha256": digest, "input": input_kind,
                    "parameters": costs.parameters}
        resume = (d / modern_train.CHECKPOINT).exists() and not overwrite
        try:
            rec = modern_train.train(r, seed=seed, device=device, data_root=data_root, out_dir=d,
                                     train_subset=train_subset, resume=resume, overwrite=overwrite, log=log,
                                     model=lambda s=seed: build(s), model_id=model_id)
        except LenetError:
            raise
        except Exception as e:  # the user's module: one line
            raise ModelError(f"--model {spec!r}: training seed {seed} raised {type(e).__name__}: {e}") from None
        net = build(seed)
        blob = records.load_checkpoint(d / modern_train.CHECKPOINT)
        records.load_weights(net, blob["state_dict"], d / modern_train.CHECKPOINT)
        net.eval()
        with torch.no_grad():
            logits = torch.cat([net(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
        scores = torch.softmax(logits.double(), 1).numpy()
        runs.append(Run(rec, scores if np.isfinite(scores).all() else None))
    return runs, costs


def _features(x, input_kind: str) -> np.ndarray:
    from lenet1998.preprocessing import to_input

    if input_kind == "paper":
        return to_input(x).reshape(len(x), -1).double().numpy()
    return (x.double() / 255.0).reshape(len(x), -1).numpy()


def fit_predict(spec: str, factory, *, seeds=(0,), input_kind: str = "mnist", out: Path, data_root=None,
                train_subset: int | None = None, overwrite: bool = False, log=print) -> list[Run]:
    """An object with fit(X, y) and predict(X) (scikit-learn style): fitted on the MNIST training digits,
    asked for the test digits' labels and, through predict_proba or decision_function when it has one and
    it gives 10 columns, their scores (Fig. 10). Each seed's record and scores are kept in `out`/runs/s<seed>
    (a re-run reads them instead of fitting again)."""
    import json

    from lenet_repro import atomic, datasets, provenance

    xtr, ytr = datasets.load("mnist", "train", data_root)
    xte, yte = datasets.load("mnist", "test", data_root)
    if train_subset:
        datasets.check_split("mnist", train_subset, None)
        xtr, ytr = xtr[:train_subset], ytr[:train_subset]
    truth = yte.numpy()
    digest = file_digest(spec)
    runs = []
    for seed in seeds:
        d = Path(out) / "runs" / f"s{seed}"
        config = {"model": spec.rpartition(":")[2], "file_sha256": digest, "input": input_kind,
                  "train_subset": train_subset, "kind": "fit/predict"}
        rec_path, sc_path = d / "result.json", d / "scores.npy"
        if rec_path.exists() and not overwrite:
            try:
                rec = json.loads(rec_path.read_text())
            except ValueError:
                rec = None
            if rec and rec.get("config") == {"source": "fit/predict", **config}:
                log(f"{rec_path}: fitted already (the same file and settings); --overwrite fits again")
                runs.append(Run(rec, np.load(sc_path) if sc_path.exists() else None))
                continue
        obj = _call_factory(factory, seed, spec)
        if not (callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict", None))):
            raise ModelError(f"--model {spec!r}: the factory returned a {type(obj).__name__}, which has no fit and "
                             f"predict (nor is it an nn.Module)")
        log(f"fitting {config['model']} (seed {seed}) on {len(ytr):,} training digits")
        try:
            obj.fit(_features(xtr, input_kind), ytr.numpy())
            f_te = _features(xte, input_kind)
            pred = np.asarray(obj.predict(f_te))
            scores = None
            for how in ("predict_proba", "decision_function"):
                if callable(getattr(obj, how, None)):
                    s = np.asarray(getattr(obj, how)(f_te), dtype=np.float64)
                    if s.shape == (len(truth), N_CLASSES) and np.isfinite(s).all():
                        scores = s
                        break
        except Exception as e:
            raise ModelError(f"--model {spec!r}: fit/predict raised {type(e).__name__}: {e}") from None
        if pred.shape != truth.shape or not np.isin(pred, np.arange(N_CLASSES)).all():
            raise ModelError(f"--model {spec!r}: predict returned {pred.shape} values that are not all labels 0-9; "
                             f"it must return one label a test digit")
        rec = prediction_record(pred.astype(np.int64), truth, config["model"], seed, "fit/predict", config)
        rec["provenance"] = provenance.collect("cpu")
        atomic.make_dirs(d, "--out")
        if scores is not None:
            with atomic.atomic_path(sc_path, "--out") as tmp:
                np.save(tmp, scores)
                if not str(tmp).endswith(".npy"):  # numpy appends .npy to a name without it
                    Path(str(tmp) + ".npy").replace(tmp)
        atomic.write_text(rec_path, json.dumps(rec, indent=1), flag="--out")
        runs.append(Run(rec, scores))
    return runs


# ---------------------------------------------------------------------------------------------------
# the comparison


@dataclass
class Result:
    name: str
    runs: list[Run]
    good: list[dict]
    failed: list[tuple[dict, object]]
    estimate: object | None  # verdicts.Estimate of the good runs
    reference: object  # lenet_repro.references.Reference
    judgement: object | None  # verdicts.Judgement against it
    vs_lenet5: object | None  # verdicts.Paired (yours - LeNet-5)
    vs_how: str  # "seed-matched pairs" or "one fixed fit against LeNet-5's seeds"
    change: str  # THE CHANGE RULE's phrase
    lenet5_seeds: int
    digits: dict = field(default_factory=dict)  # digit-matched counts
    reject: float | None = None  # Fig. 10, mean over the good runs with scores
    costs: Costs | None = None
    outcomes: list = field(default_factory=list)  # the recorded runs of the report (Fig. 9 rows)

    @property
    def verdict(self) -> str:
        return self.judgement.outcome if self.judgement else ("all runs failed" if self.failed else "-")

    def summary(self) -> dict | None:
        e = self.estimate
        if e is None:
            return None
        errs = [r["final"]["test_error"] for r in self.good]
        sd = float(np.std(errs, ddof=1)) if len(errs) > 1 else 0.0
        return {"mean": e.value, "sd": sd, "lo": e.lo, "hi": e.hi, "n": len(errs), "interval": e.how, "estimate": e}

    def write(self, out: str | Path) -> list[Path]:
        return write_outputs(self, Path(out))


def recorded_outcomes(records_dir: Path = RECORDS, data_root=None):
    """The committed full report's Fig. 9 and LeNet-5 runs, read from its cache (nothing is trained)."""
    from .stats import rowruns
    from .run.plan import build_plan
    from .run.runner import run_plan

    rowruns.DATA_ROOT[0] = data_root
    plan = build_plan("full", only="comparison/*,faithful/*")
    return [o for o in run_plan(plan, records_dir, readonly=True, log=lambda *a, **k: None) if o.record]


def digit_counts(missed: set[int], lenet: dict[int, dict]) -> dict:
    """Digit by digit against LeNet-5's seeds (descriptive): per LeNet-5 seed, the digits only yours misses
    and only LeNet-5 misses (mean over its seeds); the digits yours misses that no LeNet-5 seed misses, and
    those every LeNet-5 seed misses that yours gets."""
    sets = [set(r["test_misses_idx"]) for r in lenet.values()]
    if not sets:
        return {}
    any_l, all_l = set().union(*sets), set.intersection(*sets)
    return {"seeds": len(sets),
            "only_yours_per_seed": float(np.mean([len(missed - s) for s in sets])),
            "only_lenet5_per_seed": float(np.mean([len(s - missed) for s in sets])),
            "yours_only_vs_every_seed": len(missed - any_l), "every_lenet5_seed_only": len(all_l - missed),
            "both_every_seed": len(missed & all_l)}


def reject_pct(scores: np.ndarray, truth) -> float | None:
    """Fig. 10 of one run (lenet1998/comparison/rejection.py, the paper's rule); None without labels."""
    import torch

    from lenet1998.comparison.rejection import reject_rate

    if truth is None:
        return None
    return reject_rate(torch.as_tensor(scores), torch.as_tensor(np.asarray(truth)), REJECT_TARGET)


def compare_runs(runs: list[Run], name: str, *, reference: str = DEFAULT_REFERENCE, costs: Costs | None = None,
                 outcomes=None, data_root=None) -> Result:
    """THE FAILED-RUN RULE, THE ROW UNCERTAINTY, THE VERDICT RULE against `reference` and THE CHANGE RULE
    against LeNet-5's recorded runs, for the runs of one user model."""
    from lenet_repro.references import get_reference

    from .stats import rowruns
    from .verdicts import change_verdict, fixed_vs_row, judge, paired, row_estimate

    rowruns.DATA_ROOT[0] = data_root
    ref = get_reference(reference)
    if ref.kind != "paper" or ref.metric != "test_error" or ref.dataset != "mnist":
        raise ConfigError(f"--reference {reference}: not a paper's MNIST test error; give a paper row such as "
                          f"{DEFAULT_REFERENCE} or paper-fig9-k-nn-euclidean")
    outcomes = recorded_outcomes(data_root=data_root) if outcomes is None else outcomes
    split = rowruns.split([r.record for r in runs])
    est = row_estimate(split.good) if split.good else None
    judgement = judge(ref, est.value, est) if est is not None else None
    lenet = rowruns.of(outcomes, LENET5, holdout=False).good_by_seed()
    vs, how = None, ""
    mine = {r["seed"]: r for r in split.good}
    if len(mine) >= 2 and len(set(mine) & set(lenet)) >= 2:
        vs, how = paired(mine, lenet), "seed-matched pairs (paired t)"
    elif len(split.good) == 1 and lenet:
        vs = fixed_vs_row(split.good[0]["test_misses_idx"], int(split.good[0]["final"]["test_n"]), lenet)
        how = "one fixed fit against LeNet-5's seeds"
    elif split.good and lenet:
        how = "no seeds shared with LeNet-5's recorded runs"
    if not split.good:
        how = "no run left to compare (every run failed)"
    elif not lenet:
        how = f"no LeNet-5 runs recorded ({LENET5} in {RECORDS})"
    change = change_verdict(vs, vs.p) if vs is not None else how
    digits = digit_counts(set(split.good[0]["test_misses_idx"]), lenet) if len(split.good) == 1 else {}
    good_ids = {id(r) for r in split.good}
    rej = [reject_pct(r.scores, rowruns.labels_of(r.record)) for r in runs
           if id(r.record) in good_ids and r.scores is not None]
    reject = float(np.mean(rej)) if rej and None not in rej else None
    return Result(name, runs, split.good, split.failed, est, ref, judgement, vs, how, change, len(lenet), digits,
                  reject, costs, outcomes)


def compare_predictions(labels, name: str, scores=None, **kw) -> Result:
    """The Python twin of `lenet compare --predictions`: `labels` (10,000 ints, test-set order), optional
    `scores` (10,000 x 10)."""
    labels = np.asarray(labels)
    if labels.shape != (N_TEST,):
        raise ConfigError(f"labels of shape {labels.shape}; give {N_TEST:,} labels in test-set order")
    truth = test_labels(kw.get("data_root"))
    rec = prediction_record(labels.astype(np.int64), truth, name, 0, "predictions")
    return compare_runs([Run(rec, None if scores is None else np.asarray(scores, dtype=np.float64))], name, **kw)


# ---------------------------------------------------------------------------------------------------
# outputs


def fig9_frame(result: Result):
    """The Fig. 9 table (reports/sections/fig9.py `numeric`) with the user's row last."""
    import pandas as pd

    from .sections import fig9
    from .verdicts import reference_se

    df = fig9.numeric(result.outcomes)
    s = result.summary()
    row = {"classifier": f"yours: {result.name}", "paper_pct": None, "paper_se": None,
           "ours_pct": None if s is None else round(s["mean"], 4),
           "ours_sd": None if s is None or s["n"] < 2 else round(s["sd"], 4),
           "ci_low": None if s is None else round(s["lo"], 4), "ci_high": None if s is None else round(s["hi"], 4),
           "runs": 0 if s is None else s["n"], "failed": len(result.failed),
           "verdict": f"{result.verdict} (vs {result.reference.note}, {result.reference.value:g} +- "
                      f"{reference_se(result.reference):.2f} %)",
           "reference": "yours"}
    return pd.concat([df, pd.DataFrame([row])], ignore_index=True)


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def markdown(result: Result) -> str:
    from .verdicts import format_p

    s, r = result.summary(), result.reference
    lines = [f"# {result.name} in the paper's comparison", "",
             "Generated by `lenet compare` (reports/compare.py); the rules are the report's "
             "(reports/verdicts/). The MNIST test set, 10,000 digits.", ""]
    if s is None:
        lines.append(f"No run to compare: {len(result.failed)} of {len(result.runs)} failed.")
    else:
        per_seed = ", ".join(f"s{x['seed']}: {x['final']['test_error']:.2f} ({x['final']['test_misses']} misses)"
                             for x in result.good)
        lines += [f"- test error **{s['mean']:.2f} %** ({per_seed}), 95 % interval {s['lo']:.2f} .. {s['hi']:.2f} "
                  f"({s['interval']})",
                  f"- against {r.note} ({r.value:g} %, {r.source}): **{result.verdict}**"]
    for rec, why in result.failed:
        lines.append(f"- seed {rec['seed']} FAILED ({why}): left out of the mean, the interval and the bar")
    v = result.vs_lenet5
    if v is not None:
        lines.append(f"- against our LeNet-5 ({result.lenet5_seeds} recorded seeds, {LENET5}), {result.vs_how}, {v.n} "
                     f"{'pairs' if 'pairs' in result.vs_how else 'seeds'}: "
                     f"{v.diff:+.2f} points, 95 % CI {_pct(v.low)} .. {_pct(v.high)}, p {format_p(v.p)}: "
                     f"**{result.change}**")
    elif s is not None:
        lines.append(f"- against our LeNet-5: {result.change}")
    dg = result.digits
    if dg:
        lines.append(f"- digit by digit (descriptive): per LeNet-5 seed, {dg['only_yours_per_seed']:.1f} digits only "
                     f"yours misses and {dg['only_lenet5_per_seed']:.1f} only LeNet-5 misses; {dg['yours_only_vs_every_seed']} "
                     f"digits yours misses that no LeNet-5 seed misses, {dg['every_lenet5_seed_only']} that every "
                     f"LeNet-5 seed misses and yours gets (digits.csv)")
    elif v is not None:
        lines.append(f"- digit by digit (descriptive, summed over the pairs): {v.only_this} digits only yours misses, "
                     f"{v.only_ref} only LeNet-5 misses (McNemar p {format_p(v.mcnemar_p)}, digits as the unit: "
                     f"not a verdict)")
    lines.append(f"- Fig. 10: {'%.2f %% of the digits rejected to reach 0.5 %% error' % result.reject if result.reject is not None else 'no scores given (-)'}")
    if result.costs:
        lines.append(f"- Figs. 11-12: {result.costs.multiply_adds:,} multiply-adds per recognition, "
                     f"{result.costs.parameters:,} parameters")
    lines += ["", "## Fig. 9 with your row", "", "CSV and LaTeX: `fig9.csv`, `fig9.tex`; the figure: `fig9.png`, "
              "`fig9.pdf`.", ""]
    df = fig9_frame(result)
    lines.append(df.drop(columns=["paper_se"]).to_markdown(index=False))
    return "\n".join(lines) + "\n"


def digits_frame(result: Result):
    """Every digit yours or any LeNet-5 seed misses: index, label, your prediction, LeNet-5 seeds missing it."""
    import pandas as pd

    from .stats import rowruns

    lenet = rowruns.of(result.outcomes, LENET5, holdout=False).good_by_seed()
    counts: dict[int, int] = {}
    for rec in lenet.values():
        for i in rec["test_misses_idx"]:
            counts[i] = counts.get(i, 0) + 1
    rows = []
    truth = rowruns.labels_of(result.good[0]) if result.good else None
    if result.good and len(result.good) == 1:
        rec = result.good[0]
        pred = dict(zip(rec["test_misses_idx"], rec["test_predictions_missed"]))
        for i in sorted(set(pred) | set(counts)):
            rows.append({"digit": i, "label": None if truth is None else int(truth[i]),
                         "yours": pred.get(i, None if truth is None else int(truth[i])), "yours_missed": i in pred,
                         "lenet5_seeds_missed": counts.get(i, 0), "lenet5_seeds": len(lenet)})
    return pd.DataFrame(rows)


def write_outputs(result: Result, out: Path) -> list[Path]:
    """compare.md, and the report's own Fig. 9 artefacts (reports/render/artefacts.py: the table and the figure) with
    the user's row added, and digits.csv."""
    from lenet_repro import atomic

    from .render import artefacts
    from .sections import fig9

    atomic.make_dirs(out, "--out")
    paths = [out / "compare.md"]
    atomic.write_text(paths[0], markdown(result), flag="--out")
    table = artefacts.write_table(fig9_frame(result), out / "fig9", fig9.latex, caption=f"The paper's Fig. 9, ours and "
                                  f"{result.name}: test error on the 10,000 MNIST test digits.", label="tab:fig9-compare")
    if table:
        paths += [table, table.with_suffix(".tex")]
    dg = digits_frame(result)
    if not dg.empty:
        atomic.write_text(out / "digits.csv", dg.to_csv(index=False), flag="--out")
        paths.append(out / "digits.csv")
    s = result.summary()
    fig = artefacts.get("fig9").build(result.outcomes, out / "fig9.png", None,
                                      extra=(f"yours: {result.name}", s) if s else None)
    if fig:
        paths += [fig, fig.with_suffix(".pdf")]
    return paths


# ---------------------------------------------------------------------------------------------------
# the command


def build_parser() -> argparse.ArgumentParser:
    from lenet_repro.cli_util import HelpFormatter, int_range, summary
    from modern.recipes import RECIPES

    p = argparse.ArgumentParser(prog="lenet compare", description=summary(__doc__), formatter_class=HelpFormatter,
                                epilog="exit codes: 0 done (whatever the verdict), 2 bad input")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--predictions", nargs="+", metavar="FILE",
                     help="10,000 predicted labels in test-set order (.npy, .csv, .txt; 1 label, 10 scores, or a label "
                          "and 10 scores a line); several files: one per seed, seeds 0, 1, ...")
    src.add_argument("--model", metavar="FILE.py:FACTORY",
                     help="a factory returning an nn.Module (trained by --recipe) or an object with fit / predict")
    p.add_argument("--name", required=True, help="your row's name (letters, digits, . _ + -; at most 64)")
    p.add_argument("--out", default=None, help="default: compare/<name>")
    p.add_argument("--reference", default=DEFAULT_REFERENCE, help="the paper row THE VERDICT RULE compares with")
    p.add_argument("--recipe", default=DEFAULT_RECIPE, choices=list(RECIPES),
                   help="--model nn.Module: the textbook recipe that trains it (its rate, batch, epochs) on MNIST")
    p.add_argument("--input", default="mnist", choices=INPUTS,
                   help="what the model sees: MNIST's 28x28 in [0, 1], or the paper's 32x32 LeNet-5 input")
    p.add_argument("--seeds", type=int_range(1, MAX_SEEDS), default=1, help=f"--model: seeds 0 .. N-1, 1 .. {MAX_SEEDS}")
    p.add_argument("--epochs", type=int_range(1, 1000), default=None, help="--model nn.Module: override the recipe's")
    p.add_argument("--train-subset", type=int_range(1, 60_000), default=None,
                   help="--model: fit on the first N training digits only (1 .. 60000); the test set stays whole")
    p.add_argument("--device", default="auto", help="--model nn.Module: auto, cpu or cuda")
    p.add_argument("--data-root", default=None, help="default: $LENET_DATA_ROOT or ~/.cache/lenet-repro/data")
    p.add_argument("--overwrite", action="store_true", help="--model: train / fit again instead of reading the runs")
    return p


def main(argv: list[str] | None = None) -> int:
    from lenet_repro.cli_util import run_cli

    p = build_parser()
    args = p.parse_args(argv)
    if not NAME.match(args.name):
        p.error(f"--name {args.name!r}: use letters, digits and . _ + - (at most 64, starting with a letter or digit)")
    if args.predictions and any(x is not None for x in (args.epochs, args.train_subset)):
        p.error("--epochs and --train-subset train a --model; predictions are already made")

    def body() -> int:
        out = Path(args.out or f"compare/{args.name}")
        from lenet_repro.lock import dir_lock

        with dir_lock(out, "--out"):
            costs = None
            if args.predictions:
                truth = test_labels(args.data_root)
                runs = []
                for seed, f in enumerate(args.predictions):
                    pr = read_predictions(f)
                    runs.append(Run(prediction_record(pr.labels, truth, args.name, seed, f"predictions {f}"),
                                    pr.scores))
            else:
                import torch.nn as nn

                factory = load_factory(args.model)
                probe = _call_factory(factory, 0, args.model)
                if isinstance(probe, nn.Module):
                    runs, costs = train_module(args.model, factory, recipe=args.recipe, seeds=range(args.seeds),
                                               input_kind=args.input, out=out, data_root=args.data_root,
                                               device=args.device, train_subset=args.train_subset,
                                               epochs=args.epochs, overwrite=args.overwrite)
                else:
                    runs = fit_predict(args.model, factory, seeds=range(args.seeds), input_kind=args.input, out=out,
                                       data_root=args.data_root, train_subset=args.train_subset,
                                       overwrite=args.overwrite)
            result = compare_runs(runs, args.name, reference=args.reference, costs=costs, data_root=args.data_root)
            paths = result.write(out)
            print(markdown(result).split("\n## ")[0].rstrip())
            print(f"wrote {', '.join(str(x) for x in paths)}")
        return 0

    return run_cli(body, prog="lenet compare", error_code=2)


if __name__ == "__main__":
    sys.exit(main())
