"""What every `--option KEY=VALUE` of a Fig. 9 row (lenet1998/comparison/rows.py) may be, declared once:
per classifier (the module of the row's fit function, or "network" for the online-SDLM networks of
train.py), each option's type, range or choices and a one-line meaning, read off the code that uses it
(the module named; its docstring gives the reading taken):

- types are strict: an integer where the code counts (never 3.0), a number where it scales (never a
  boolean: JSON's `true` is not 1), a boolean or a string where it switches; numbers must be finite;
- ranges are the ones the code can run and that mean what the record says (k = 0 neighbours is not a
  K-NN; a spring of 0 leaves the tangent-distance system singular);
- an option that is what makes its row (the LeNet-4 readouts, the boosting) is fixed at the row's value;
- combinations: the cross rules below (`_cross`) and, given the number of training digits, the
  counts that cannot exceed it (`resolve(..., n_train=...)`).

Every refusal is a ConfigError of one line naming the option, the value and what is allowed.
`check_data` checks what a row needs of its training digits once they are loaded. `parse` reads the
command line's KEY=VALUE items (JSON values, strictly: no NaN or Infinity, each key
once); `describe` writes a row's options for `lenet train <row> --help`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from lenet_repro.errors import ConfigError

from . import linear, pairwise, pca_quadratic
from .rows import INPUT_VERSIONS
from .virtual_svm import TRANSFORMS

N_TRAIN = 60_000  # MNIST's training digits: the most any count of training patterns can be
RIDGE_MAX = 1e9  # a larger ridge only pushes every weight to 0 (and a relative one overflows)


@dataclass(frozen=True)
class OptionSpec:
    type: type  # int, float (an int is accepted for it), bool or str
    meaning: str  # one line: what the option does, in the row's code
    low: float | None = None  # the smallest value allowed (None: no bound)
    high: float | None = None  # the largest value allowed (None: no bound)
    low_open: bool = False  # the value must be above `low`, not equal to it
    choices: tuple = ()  # the values a str option takes
    fixed: bool = False  # the option makes the row: only the row's own value
    counts_training: bool = False  # an int that cannot exceed the number of training digits

    def allowed(self, default=None) -> str:
        """The allowed values in words: "an integer from 1 to 60,000", "a finite number > 0", ..."""
        if self.fixed:
            return f"{json.dumps(default)} (fixed: it is what makes this row)"
        if self.choices:
            return "one of " + ", ".join(json.dumps(c) for c in self.choices)
        if self.type is bool:
            return "true or false"
        if self.type is int:
            high = "the number of training digits" if self.counts_training and self.high is None else (
                f"{self.high:,}" if self.high is not None else None)
            if self.low is not None and high is not None:
                more = " (and at most the number of training digits)" if self.counts_training and self.high else ""
                return f"an integer from {self.low:,} to {high}{more}"
            return f"an integer >= {self.low:,}" if self.low is not None else "an integer"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"<= {self.high:g}")
        if self.low is not None and self.high is not None and not self.low_open:
            return f"a finite number from {self.low:g} to {self.high:g}"
        return "a finite number" + (" " + " and ".join(parts) if parts else "")

    def check(self, row_name: str, key: str, value, default) -> None:
        """ConfigError (one line) unless `value` is allowed."""
        def refuse():
            raise ConfigError(f"option {key}={_show(value)} of row {row_name!r} is not allowed: {key} "
                              f"({self.meaning}) must be {self.allowed(default)}")

        if self.fixed:
            if value != default or type(value) is not type(default):
                refuse()
            return
        if self.type is bool:
            if not isinstance(value, bool):
                refuse()
            return
        if self.type is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                refuse()
            return
        if isinstance(value, bool) or not isinstance(value, (int, float) if self.type is float else int):
            refuse()
        if not math.isfinite(value):
            refuse()
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            refuse()
        if self.high is not None and value > self.high:
            refuse()


def _show(value) -> str:
    """A value as the command line writes it (JSON), for the error line."""
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def _ridge(meaning: str, positive: bool = False) -> OptionSpec:
    return OptionSpec(float, meaning, 0.0, RIDGE_MAX, low_open=positive)


INPUT = OptionSpec(str, "the input version the row trains and is tested on (rows.py: its default is the MNIST web "
                        "page's preprocessing column)", choices=INPUT_VERSIONS)


def _svm_kernel() -> dict[str, OptionSpec]:
    return {
        "degree": OptionSpec(int, "the polynomial kernel's degree", 1, 10),
        "C": OptionSpec(float, "the soft-margin penalty", 0.0, 1e9, low_open=True),
        "coef0": OptionSpec(float, "the kernel's constant term (>= 0 keeps the kernel positive "
                                   "semi-definite)", 0.0, 1e6),
        "gamma_scale": OptionSpec(float, "gamma = gamma_scale / the input's values per image", 0.0, 1e6,
                                  low_open=True),
    }


# option -> spec, per classifier: the module of the row's fit function (or "network")
SPECS: dict[str, dict[str, OptionSpec]] = {
    "linear": {  # linear.py: +-1 targets, by least squares or online gradient descent
        "ridge": _ridge("the ridge term on the summed squared error; 0 = plain least squares (minimum norm) or "
                        "no weight decay"),
        "method": OptionSpec(str, "the units and how they learn: least squares solved directly, or linear / tanh "
                                  "units by online gradient descent", choices=linear.METHODS),
        "rate": OptionSpec(float, "gradient descent's normalised step at pass 1 (LeNet-5's schedule after; below 2 "
                                  "keeps linear units stable; unused by least-squares)", 0.0, 2.0, low_open=True),
        "passes": OptionSpec(int, "gradient descent's passes through the training patterns (unused by "
                                  "least-squares)", 1, 1000),
    },
    "pairwise": {  # pairwise.py: 45 least-squares units i/j
        "ridge": _ridge("the ridge term of each unit's least-squares fit; 0 = plain least squares"),
        "unit": OptionSpec(str, "each unit's output in the votes: raw (linear) or squashed by tanh",
                           choices=pairwise.UNITS),
        "input": INPUT,
    },
    "knn": {  # knn.py
        "k": OptionSpec(int, "the number of nearest training images that vote", 1, counts_training=True),
    },
    "pca_quadratic": {  # pca_quadratic.py
        "k": OptionSpec(int, "the number of principal components; the classifier has 1 + k(k+1)/2 inputs (5,051 "
                             "at 100), whose normal equations fill memory beyond", 1, 100),
        "monomials": OptionSpec(str, "the products of the components fed to the linear classifier",
                                choices=pca_quadratic.MONOMIALS),
        "ridge": _ridge("the ridge term of the classifier's least-squares fit; 0 = plain least squares"),
    },
    "rbf_network": {  # rbf_network.py
        "per_class": OptionSpec(int, "RBF centres per class, by K-means on that class's digits (at most its "
                                     "number of training digits; the layer holds digits x 10 per_class values)",
                                1, 500),
        "width": OptionSpec(float, "each Gaussian's sigma as a multiple of its centre's RMS distance", 0.0, 1e3,
                            low_open=True),
        "ridge": _ridge("the second layer's ridge, relative to trace(A^T A) / features; 0 = none"),
        "epochs": OptionSpec(int, "passes of the online (adaptive) K-means over each class", 1, 100),
    },
    "tangent_distance": {  # tangent_distance.py
        "k": OptionSpec(int, "the nearest candidates by tangent distance that vote (at most prefilter)", 1,
                        counts_training=True),
        "prefilter": OptionSpec(int, "the Euclidean-nearest training images the tangent distance is computed "
                                     "to (memory: 200 test digits x prefilter x 14 tangent vectors at a time)",
                                1, 200),
        "coarse": OptionSpec(int, "candidates kept by the first Euclidean cut at 8x8 (0 = no 8x8 cut; "
                                  "else at least prefilter)", 0, N_TRAIN),
        "sigma": OptionSpec(float, "the Gaussian smoothing (pixels) of the images the tangent vectors are "
                                   "taken from", 0.0, 8.0, low_open=True),
        "spring": OptionSpec(float, "the spring term that keeps the two-sided distance's 14 x 14 system "
                                    "solvable", 0.0, 1e6, low_open=True),
    },
    "svm": {**_svm_kernel(), "input": INPUT},  # svm.py (scikit-learn's SVC): kernel (gamma u.v + coef0)^degree
    "reduced_set": {**_svm_kernel(),  # reduced_set.py: ten one-vs-rest SVMs, each replaced by its reduced set
                    "multiply_adds": OptionSpec(int, "the multiply-adds per recognition the reduced sets may cost "
                                                     "(vectors per classifier = this // (10 x pixels))", 1, 10**9)},
    "virtual_svm": {**_svm_kernel(),  # virtual_svm.py: ten one-vs-rest SVMs, refitted on virtual support vectors
                    "transforms": OptionSpec(str, "the copies made of each support vector for the second fit",
                                             choices=TRANSFORMS)},
    "network": {  # train.py: online SDLM on the layered kernel (convnets.py), readouts, boosting.py
        "passes": OptionSpec(int, "passes of online SDLM through the training patterns", 1, 1000),
        "distortions": OptionSpec(bool, "draw each pass's patterns from LeNet-5's pool of distorted copies"),
        "rate_scale": OptionSpec(float, "the paper's learning-rate schedule times this", 0.0, 1e3, low_open=True),
        "readout": OptionSpec(str, "the classifier on F5's outputs that replaces LeNet-4's output layer",
                              fixed=True),
        "k": OptionSpec(int, "the nearest training patterns (in F5's space) that vote", 1, counts_training=True),
        "neighbours": OptionSpec(int, "the nearest training patterns each local linear classifier is fitted "
                                      "on (memory: 500 test patterns x neighbours x 121 at a time)", 1, 2000,
                                 counts_training=True),
        "ridge": _ridge("the local fit's ridge, relative to trace(A^T A) / (d + 1); > 0 keeps each local "
                        "system solvable", positive=True),
        "boosting": OptionSpec(bool, "three LeNet-4s, the 2nd and 3rd trained on patterns filtered by the "
                                     "first two", fixed=True),
    },
}


def kind_of(row) -> str:
    """The SPECS table of a row: its fit function's module, or "network"."""
    return "network" if row.network else row.fit.__module__.rsplit(".", 1)[-1]


def specs_of(row) -> dict[str, OptionSpec]:
    """{option: spec} for every option of `row` (ConfigError if one has none: the table is incomplete)."""
    table = SPECS.get(kind_of(row), {})
    missing = [k for k in row.options if k not in table]
    if missing:
        raise ConfigError(f"row {row.name!r}: options {missing} have no spec in lenet1998/comparison/options.py")
    return {k: table[k] for k in row.options}


def resolve(row, overrides: dict, n_train: int | None = None) -> dict:
    """The row's default options with `overrides` applied, every value checked against its spec and
    the cross rules; with `n_train` (the training digits the fit will see), the counts against it too."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"the options of row {row.name!r} must be a mapping of names to values, got "
                          f"{type(overrides).__name__}")
    specs = specs_of(row)
    unknown = sorted(set(overrides) - set(row.options))
    if unknown:
        raise ConfigError(f"row {row.name!r} has no options {unknown}; its options: "
                          f"{', '.join(f'{k}={_show(v)}' for k, v in row.options.items()) or 'none'}")
    out = dict(row.options)
    for k, v in overrides.items():
        specs[k].check(row.name, k, v, row.options[k])
        out[k] = v
    _cross(row, out, overrides)
    if n_train is not None:
        for k, spec in specs.items():
            if spec.counts_training and out[k] > n_train:
                raise ConfigError(f"option {k}={out[k]} of row {row.name!r} is not allowed: {k} ({spec.meaning}) "
                                  f"cannot exceed the {n_train:,} training digits of this run; lower it or "
                                  f"train on more digits")
    return out


def _cross(row, o: dict, overrides: dict) -> None:
    """The combinations a row's code cannot run (or that would not be the classifier the record names)."""
    kind = kind_of(row)

    def refuse(msg):
        raise ConfigError(f"row {row.name!r}: {msg}")

    if kind == "linear" and o["method"] == "least-squares":
        unused = sorted({"rate", "passes"} & set(overrides))
        if unused:
            refuse(f"option {unused[0]}={_show(overrides[unused[0]])} is unused by method=\"least-squares\" (a direct "
                   f"solution has no steps); drop it, or use method=\"linear-sgd\" or \"tanh-sgd\"")

    if kind == "tangent_distance":
        if o["k"] > o["prefilter"]:
            refuse(f"option k={o['k']} exceeds prefilter={o['prefilter']} (only the prefiltered candidates can "
                   f"vote); use k <= prefilter")
        if o["coarse"] and o["coarse"] < o["prefilter"]:
            refuse(f"option coarse={o['coarse']} keeps fewer candidates than prefilter={o['prefilter']}; use "
                   f"coarse >= prefilter, or coarse=0 for no 8x8 cut")
    if kind == "network" and o.get("boosting") and not o["distortions"]:
        refuse("option distortions=false: the boosted LeNet-4 trains on the distorted patterns (Sec. III-C.9); "
               "keep distortions true")


def check_data(row, opts: dict, labels) -> None:
    """What a row's code needs of its training digits (`labels`, (N,) int), checked once they are loaded
    and before the fit: the covariance of the PCA needs two digits, the RBF network's K-means `per_class`
    digits of every class, the SVM's one-vs-one scores (45 pairs) every one of the ten classes."""
    kind = kind_of(row)
    counts = [int((labels == c).sum()) for c in range(10)]
    if kind == "pca_quadratic" and len(labels) < 2:
        raise ConfigError(f"row {row.name!r} needs at least 2 training digits for the covariance of its PCA, got "
                          f"{len(labels)}; train on more digits (--train-subset)")
    if kind == "rbf_network" and min(counts) < opts["per_class"]:
        raise ConfigError(f"option per_class={opts['per_class']} of row {row.name!r} needs that many training digits "
                          f"of every class, but class {counts.index(min(counts))} has {min(counts)}; lower per_class "
                          f"or train on more digits (--train-subset)")
    if kind in ("svm", "reduced_set", "virtual_svm") and min(counts) == 0:
        raise ConfigError(f"row {row.name!r} needs training digits of all ten classes (its one-vs-one or "
                          f"one-vs-rest classifiers cover every class), but class {counts.index(0)} has none; train on more digits "
                          f"(--train-subset)")


def _no_constant(name: str):
    raise ValueError(name)


def parse(items: list[str]) -> dict:
    """--option KEY=VALUE items -> {key: value}: VALUE is JSON (10, 0.5, true, "tanh") or else a bare
    string (tanh). NaN, Infinity and a key given twice are refused (ConfigError, one line)."""
    out = {}
    for it in items:
        key, sep, text = it.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--option {it!r} must look like KEY=VALUE (e.g. ridge=10)")
        if key in out:
            raise ConfigError(f"--option {key} is given twice ({key}={_show(out[key])} and {it}); give each "
                              f"option once")
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except ValueError as e:  # json.JSONDecodeError is a ValueError; so is a NaN / Infinity refused above
            if str(e) in ("NaN", "Infinity", "-Infinity"):
                raise ConfigError(f"--option {it}: {str(e)} is not a value an option takes; give a finite "
                                  f"number") from None
            value = text
        if isinstance(value, float) and not math.isfinite(value):  # 1e999 parses to inf
            raise ConfigError(f"--option {it}: the number overflows to infinity; give a finite number")
        out[key] = value
    return out


def describe(row) -> list[str]:
    """One line per option of `row`: name=default, type, what is allowed, what it means."""
    lines = []
    for k, spec in specs_of(row).items():
        d = row.options[k]
        lines.append(f"{k}={_show(d)}  ({spec.type.__name__}; {spec.allowed(d)}): {spec.meaning}")
    return lines
