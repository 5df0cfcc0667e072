"""Published numbers to compare against: the paper's (typed from the paper, with its section or
figure) and the book's (derived from every printed line of every stored build).

`references.csv` (package data) is generated from this module by
`python -m lenet_repro.references --write`; a test checks that the committed file is current.

Book rows use *distinct* printed lines: many stored commits re-upload the same notebook output,
so identical (framework, loss, train acc, test acc, examples/sec) lines count once.

Each row names the recipe of ours it is compared with (`recipe`); that column is the only mapping from
a recipe to its published numbers (`reference_for`, `headline_reference`). This module holds the numbers
only; the rule that compares a run with them is THE VERDICT RULE in reports/verdicts/published.py.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:  # pandas builds the table from the book's CSVs (the [report] extra); reading it needs only csv
    import pandas as pd

DATA = Path(__file__).resolve().parent / "data"
BOOK_PRINTED = DATA / "d2l_lenet_printed_results.csv"
BOOK_PLOTS = DATA / "d2l_lenet_v1_plot_readings.csv"
REFERENCES_CSV = DATA / "references.csv"

PAPER = "LeCun, Bottou, Bengio & Haffner 1998"


# The direction of each metric of the table: errors and losses are better when lower.
LOWER_IS_BETTER = {"test_error": True, "train_error": True, "train_loss": True, "test_acc": False,
                   "train_acc": False}


@dataclass(frozen=True)
class Reference:
    id: str
    source: str
    dataset: str
    recipe: str  # the recipe of ours that it should be compared with ("" = context only)
    metric: str  # test_error / train_error (%), or test_acc / train_acc / train_loss (fraction)
    value: float  # the point value (for spreads: the median build)
    uncertainty: float  # +- quoted or assumed; 0 for spreads
    low: float  # spread over builds (min), or value - uncertainty
    high: float
    n_builds: int  # builds behind a spread; 1 for a single printed number; 0 for the paper
    kind: str  # "paper" (value +- uncertainty), "spread" (min..max over builds), "single", or "ours" (our own
    #            recorded row: value = mean, uncertainty = sd, n_builds = seeds, low..high = prediction interval)
    note: str = ""

    test_n: int = 0  # digits the published number was measured on (its binomial error); 0: not a rate on digits
    sigmas: float = 1.0  # how many standard errors `uncertainty` is (QMNIST quotes two-sigma bars)


def _paper(id, source, metric, value, recipe="", note="", u=0.1):
    n = 10_000 if metric == "test_error" else 60_000  # the MNIST test set / the training set
    return Reference(id, f"{PAPER}, {source}", "mnist", recipe, metric, value, u, round(value - u, 6),
                     round(value + u, 6), 0, "paper", note, n)


# The quoted uncertainty of the paper's error rates is "about 0.1 %" (Fig. 9 caption).
FIG9 = [  # (label, test error %)
    ("linear", 12.0), ("[deslant] linear", 8.4), ("pairwise linear", 7.6), ("K-NN Euclidean", 5.0),
    ("[deslant] K-NN Euclidean", 2.4), ("40 PCA + quadratic", 3.3), ("1000 RBF + linear", 3.6),
    ("[16x16] tangent distance", 1.1), ("SVM poly 4", 1.1), ("RS-SVM poly 5", 1.0),
    ("[dist] V-SVM poly 9", 0.8), ("28x28-300-10", 4.7), ("[dist] 28x28-300-10", 3.6),
    ("[deslant 20x20] 28x28-300-10", 1.6), ("28x28-1000-10", 4.5), ("[dist] 28x28-1000-10", 3.8),
    ("28x28-300-100-10", 3.05), ("[dist] 28x28-300-100-10", 2.50), ("28x28-500-150-10", 2.95),
    ("[dist] 28x28-500-150-10", 2.45), ("[16x16] LeNet-1", 1.7), ("LeNet-4", 1.1),
    ("LeNet-4 / K-NN", 1.1), ("LeNet-4 / local", 1.1), ("LeNet-5", 0.95), ("[dist] LeNet-5", 0.8),
    ("[dist] boosted LeNet-4", 0.7),
]


def _slug(label: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in label)
    return "-".join(p for p in keep.split("-") if p)


def paper_references() -> list[Reference]:
    rows = [
        _paper("paper-lenet5", "Sec. III-C.2 and Fig. 9", "test_error", 0.95, "lenet5-1998",
               "LeNet-5, no distortions, 20 passes; stable after about 10 passes"),
        _paper("paper-lenet5-train", "Sec. III-C.2", "train_error", 0.35, "lenet5-1998",
               "training error after 19 passes"),
        _paper("paper-lenet5-distortions", "Sec. III-C.2, Fig. 8 and Fig. 9", "test_error", 0.8,
               "lenet5-1998-distortions", "540,000 affine-distorted copies + 60,000 originals; 82 misses"),
        # LeCun's later Lush demo of LeNet-5 (gblearn2/demos/lenet5.lsh) re-run on all of MNIST by QMNIST;
        # its README quotes "two-sigma error bars"
        Reference("qmnist-lush-lenet5", "QMNIST (Yadav & Bottou 2019), README: the Lush LeNet-5 demo trained on "
                  "MNIST, tested on MNIST10K", "mnist", "lenet5-lush-demo", "test_error", 0.82, 0.2, 0.62, 1.02, 0,
                  "paper", "two-sigma error bar; three sets of 10 passes at 1e-4, 1e-5, 1e-6, h_kk on 1,000 "
                  "digits before each set", 10_000, 2.0),
        Reference("mnist-web-lenet5-huge-distortions", "MNIST web page table (not the paper)", "mnist", "",
                  "test_error", 0.85, 0.1, 0.75, 0.95, 0, "paper", "context only", 10_000),
    ]
    rows += [_paper(f"paper-fig9-{_slug(label)}", "Fig. 9", "test_error", v, note=label) for label, v in FIG9]
    return rows


@lru_cache(maxsize=1)
def book_builds() -> pd.DataFrame:
    """Distinct printed result lines of the classic recipe, one per build."""
    import pandas as pd

    d = pd.read_csv(BOOK_PRINTED)
    return d.drop_duplicates(["lang", "framework", "loss", "train_acc", "test_acc", "examples_per_sec"])


@lru_cache(maxsize=1)
def book_plot_readings() -> pd.DataFrame:
    import pandas as pd

    d = pd.read_csv(BOOK_PLOTS)
    return d.drop_duplicates(["lang", "framework", "val_acc_by_epoch"])


def _spread(id, source, recipe, metric, s: pd.Series, note="") -> Reference:
    return Reference(id, source, "fashion-mnist", recipe, metric, float(s.median()), 0.0,
                     float(s.min()), float(s.max()), int(s.count()), "spread", note)


# Single printed numbers have no spread of their own. We borrow twice the build-to-build standard
# deviation of the classic recipe's test accuracy over all distinct builds (an assumption, stated).
def _single(id, source, recipe, metric, value, note) -> Reference:
    sd = float(book_builds()["test_acc"].std())
    u = round(2 * sd, 4)
    return Reference(id, source, "fashion-mnist", recipe, metric, value, u, round(value - u, 6),
                     round(value + u, 6), 1, "single",
                     f"{note}; tolerance = 2 x sd of the classic recipe's builds ({sd:.4f}), an assumption")


def book_references() -> list[Reference]:
    b = book_builds()
    src = "d2l (all stored builds, d2l_lenet_printed_results.csv)"
    rows = [
        _spread("d2l-classic-test-acc", src, "classic", "test_acc", b["test_acc"]),
        _spread("d2l-classic-train-acc", src, "classic", "train_acc", b["train_acc"]),
        _spread("d2l-classic-train-loss", src, "classic", "train_loss", b["loss"]),
    ]
    for (lang, fw), g in b.groupby(["lang", "framework"]):
        ed = "d2l-en 0.7-0.17" if lang == "en" else "d2l-zh 2.0"
        rows.append(_spread(f"d2l-{lang}-{fw}-classic-test-acc", f"{ed}, {fw} builds", "classic",
                            "test_acc", g["test_acc"]))
    p = book_plot_readings()
    rows.append(_spread("d2l-2nd-val-acc", "d2l-en 1.0.x plots read at epoch 10 (d2l_lenet_v1_plot_readings.csv)",
                        "d2l-2nd", "test_acc", p["val_acc_ep10"], "plot readings, not printed lines"))
    rows.append(_single("d2l-zh1-test-acc", "d2l-zh 1st edition (gluonbook), one stored build, epoch 5",
                        "zh-1st", "test_acc", 0.754, "printed: loss 0.6704, train acc 0.733"))
    rows.append(_single("d2l-zh1-train-acc", "d2l-zh 1st edition (gluonbook), one stored build, epoch 5",
                        "zh-1st", "train_acc", 0.733, "printed: loss 0.6704, test acc 0.754"))
    rows.append(_single("d2l-java-test-acc", "D2L-Java (seed page, not verified in a stored build)",
                        "djl", "test_acc", 0.731, "printed: loss 0.565, train acc 0.781, 1729.2 examples/s"))
    return rows


def all_references() -> list[Reference]:
    return paper_references() + book_references()


def references_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([asdict(r) for r in all_references()])


@lru_cache(maxsize=1)
def load_references() -> dict[str, Reference]:
    """The shipped table (package data), keyed by id.

    Read with the csv module (each column converted to its field's type), not pandas, so that the trainers
    and `lenet check` need no pandas (it is in the [report] extra); the values are those pandas reads."""
    types = {f.name: {"float": float, "int": int}.get(str(f.type), str) for f in fields(Reference)}
    with resources.files("lenet_repro").joinpath("data/references.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["id"]: Reference(**{k: types[k](v) for k, v in r.items()}) for r in rows}


def get_reference(ref_id: str) -> Reference:
    refs = load_references()
    if ref_id not in refs:
        close = [k for k in refs if ref_id.split("-")[0] in k][:6]
        raise ConfigError(f"unknown reference id {ref_id!r}; known ids include {', '.join(close or list(refs)[:6])} "
                          f"(see lenet_repro/data/references.csv)")
    return refs[ref_id]


def reference_for(recipe: str, metric: str) -> Reference | None:
    """The row compared with `recipe` on `metric`: the first such row of the table (the table lists each
    recipe's row over all builds before its per-framework breakdown), or None."""
    return next((r for r in load_references().values() if r.recipe == recipe and r.metric == metric), None)


def headline_reference(recipe: str) -> Reference | None:
    """The recipe's published test-set number (test error for the paper, test accuracy for the book)."""
    return reference_for(recipe, "test_error") or reference_for(recipe, "test_acc")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    df = references_frame()
    if "--write" in argv:
        from . import atomic

        atomic.write_text(REFERENCES_CSV, df.to_csv(index=False))
        print(f"wrote {REFERENCES_CSV} ({len(df)} rows)")
    else:
        print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
