"""The rows of Fig. 9 implemented so far, as data: the classifier, its input version, its options
(each with the reading taken) and the paper's number it is compared with (lenet_repro/references.py
`paper-fig9-<slug>`).

Input versions (Sec. III-A): "regular" = MNIST's 28x28 as distributed (784 values in [0, 1]);
"deslant" = lenet1998/inputs/deslant.py's deslanted and cropped 20x20 (400 values, the paper's
"[deslant]"); "deslant-28x28" = the same shear, not cropped (the 28x28 window centred on the sheared ink:
784 values; the MNIST web page's "deskewing"); "16x16" = lenet1998/inputs/sixteen.py's 16x16 (256 values).
Where the paper is silent or ambiguous about a row's input, the row follows the preprocessing column of
the MNIST web page (LeCun, Cortes & Burges, "The MNIST database of handwritten digits": the authors' own
table of these rows; MNIST_PAGE below), and where its input is an option (`input`), both versions are
measured on held-out digits and shown (reports/sections/comparison.py). A network row's input is its version's pixels scaled like LeNet-5's (background
-0.1, ink 1.175, Sec. II-B), flat for the fully connected nets, centred in the net's input field for
the convolutional ones (LeNet-1: the 16x16 image in 28x28, Sec. III-C.7; LeNet-4: 28x28 in 32x32).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from lenet_repro.errors import ConfigError

from . import knn, linear, pairwise, pca_quadratic, rbf_network, reduced_set, svm, tangent_distance, virtual_svm

INPUT_VERSIONS = ("regular", "deslant", "deslant-28x28", "16x16")
# The MNIST web page's preprocessing column for the rows whose input the paper leaves open (reference
# lenet_repro/data/references.csv "mnist-page"): row -> (the page's words, the input version taken)
MNIST_PAGE = {
    "pairwise-linear": ("pairwise linear classifier | deskewing | 7.6", "deslant-28x28"),
    "svm-poly-4": ("SVM deg 4 polynomial | deskewing | 1.1", "deslant-28x28"),
    "rs-svm-poly-5": ("Reduced Set SVM deg 5 polynomial | deskewing | 1.0", "deslant-28x28"),
    "dist-v-svm-poly-9": ("Virtual SVM deg-9 poly [distortions] | none | 0.8", "regular"),
}


@dataclass(frozen=True)
class Row:
    name: str  # `lenet train <name>`
    label: str  # as in Fig. 9
    reference: str  # the paper's number (lenet_repro/data/references.csv)
    input: str  # regular | deslant | 16x16
    fit: object  # (x, y, **options) -> a model with .scores(x), .predict(x), .parameters (None: a network)
    options: dict = field(default_factory=dict)  # defaults: an ASSUMED reading (module docstrings), or the
    # held-out winner of its grid (reports/sections/comparison.py THE RULE; tests/test_comparison_report.py checks it)
    stochastic: bool = False  # does the seed change the result?
    train_error: bool = True  # is the error on the training set meaningful (not for a nearest-neighbour rule)?
    network: str | None = None  # an online-SDLM network (convnets.net_by_name), trained by passes
    staged: bool = False  # a long fit that keeps its finished pieces in the run's checkpoint (stage.py)


def _net(name, label, ref, net, input="regular", distortions=False, passes=20, **readout):
    return Row(name, label, ref, input, None, {"passes": passes, "distortions": distortions, **readout}, stochastic=True,
               network=net, train_error="readout" not in readout)  # (a nearest-neighbour readout finds each
    # training digit itself)


def _mlp(name, label, ref, sizes, input="regular", distortions=False, passes=20, rate_scale=0.3):
    # rate_scale: the paper's schedule times this for a fully connected net (reports/sections/comparison.py THE STEP-SIZE
    # RULE: 1 x LeNet-5's rates is out on the paper's first-pass evidence; 0.3 is the first value left)
    return _net(name, label, ref, "-".join(map(str, sizes)), input, distortions, passes, rate_scale=rate_scale)


# Sec. III-C.1's "sigmoid units, linear units, gradient descent learning, and learning by directly solving
# linear systems": `method` a held-out reading (issue 18: tanh units by gradient descent won on both rows'
# held-out digits); rate and passes are gradient descent's (ASSUMED, linear.py)
LINEAR = {"ridge": 100.0, "method": "tanh-sgd", "rate": 0.05, "passes": 10}

ROWS: dict[str, Row] = {r.name: r for r in [
    Row("linear", "linear", "paper-fig9-linear", "regular", linear.fit, LINEAR),
    Row("deslant-linear", "[deslant] linear", "paper-fig9-deslant-linear", "deslant", linear.fit, LINEAR),
    Row("pairwise-linear", "pairwise linear", "paper-fig9-pairwise-linear", "deslant-28x28", pairwise.fit,
        {"ridge": 100.0, "unit": "tanh", "input": "deslant-28x28"}),
    Row("knn-euclidean", "K-NN Euclidean", "paper-fig9-k-nn-euclidean", "regular", knn.fit, {"k": 5},
        train_error=False),
    Row("deslant-knn-euclidean", "[deslant] K-NN Euclidean", "paper-fig9-deslant-k-nn-euclidean", "deslant", knn.fit,
        {"k": 3}, train_error=False),
    Row("pca-quadratic", "40 PCA + quadratic", "paper-fig9-40-pca-quadratic", "regular", pca_quadratic.fit,
        {"k": 40, "monomials": "linear-cross", "ridge": 0.0}),
    Row("rbf-linear", "1000 RBF + linear", "paper-fig9-1000-rbf-linear", "regular", rbf_network.fit,
        {"per_class": 100, "width": 0.5, "ridge": 1e-3, "epochs": 2}, stochastic=True),
    Row("tangent-distance", "[16x16] tangent distance", "paper-fig9-16x16-tangent-distance", "16x16",
        tangent_distance.fit, {"k": 1, "prefilter": 200, "coarse": 500, "sigma": 0.6, "spring": 0.01},
        train_error=False),
    Row("svm-poly-4", "SVM poly 4", "paper-fig9-svm-poly-4", "deslant-28x28", svm.fit,
        {"degree": 4, "C": 10.0, "coef0": 1.0, "gamma_scale": 10.0, "input": "deslant-28x28"}, train_error=False),
    Row("rs-svm-poly-5", "RS-SVM poly 5", "paper-fig9-rs-svm-poly-5", "deslant-28x28", reduced_set.fit,
        {"degree": 5, "C": 10.0, "coef0": 1.0, "gamma_scale": 10.0, "multiply_adds": reduced_set.PAPER_MULTIPLY_ADDS},
        train_error=False, staged=True),
    Row("dist-v-svm-poly-9", "[dist] V-SVM poly 9", "paper-fig9-dist-v-svm-poly-9", "regular", virtual_svm.fit,
        {"degree": 9, "C": 10.0, "coef0": 1.0, "gamma_scale": 10.0, "transforms": "shift-4"}, train_error=False,
        staged=True),
    _mlp("mlp-300", "28x28-300-10", "paper-fig9-28x28-300-10", (784, 300, 10)),
    _mlp("dist-mlp-300", "[dist] 28x28-300-10", "paper-fig9-dist-28x28-300-10", (784, 300, 10), distortions=True),
    _mlp("deslant-mlp-300", "[deslant 20x20] 28x28-300-10", "paper-fig9-deslant-20x20-28x28-300-10", (400, 300, 10),
         input="deslant"),
    _mlp("mlp-1000", "28x28-1000-10", "paper-fig9-28x28-1000-10", (784, 1000, 10)),
    _mlp("dist-mlp-1000", "[dist] 28x28-1000-10", "paper-fig9-dist-28x28-1000-10", (784, 1000, 10), distortions=True),
    _mlp("mlp-300-100", "28x28-300-100-10", "paper-fig9-28x28-300-100-10", (784, 300, 100, 10)),
    _mlp("dist-mlp-300-100", "[dist] 28x28-300-100-10", "paper-fig9-dist-28x28-300-100-10", (784, 300, 100, 10),
         distortions=True),
    _mlp("mlp-500-150", "28x28-500-150-10", "paper-fig9-28x28-500-150-10", (784, 500, 150, 10)),
    _mlp("dist-mlp-500-150", "[dist] 28x28-500-150-10", "paper-fig9-dist-28x28-500-150-10", (784, 500, 150, 10),
         distortions=True),
    _net("lenet1", "[16x16] LeNet-1", "paper-fig9-16x16-lenet-1", "lenet1", input="16x16"),
    _net("lenet4", "LeNet-4", "paper-fig9-lenet-4", "lenet4"),
    # Sec. III-C.8: "we replaced the last layer of LeNet-4 with a Euclidean Nearest Neighbor classifier, and
    # with the 'local learning' method": LeNet-4 trained as its own row (the same seed: the same network),
    # then its output layer replaced by a readout of F5's 120 outputs (knn.py, local_learning.py)
    _net("lenet4-knn", "LeNet-4 / K-NN", "paper-fig9-lenet-4-k-nn", "lenet4", readout="knn", k=5),
    _net("lenet4-local", "LeNet-4 / local", "paper-fig9-lenet-4-local", "lenet4", readout="local", neighbours=100,
         ridge=0.01),
    # Sec. III-C.9: three LeNet-4s, the second and third trained on patterns filtered by the first two (boosting.py)
    _net("dist-boosted-lenet4", "[dist] boosted LeNet-4", "paper-fig9-dist-boosted-lenet-4", "lenet4",
         distortions=True, boosting=True),
]}


INPUT_WORDS = {"regular": "MNIST's 28x28 pixels", "deslant": "deslanted 20x20 pixels",
               "deslant-28x28": "deslanted 28x28 pixels", "16x16": "16x16 pixels"}  # the module docstring's, for --help


def input_of(row: Row, opts: dict | None = None) -> str:
    """The input version a run of `row` with options `opts` trains on: its `input` option, else the row's."""
    return (opts or {}).get("input", row.input)


def fit_options(opts: dict) -> dict:
    """The options the fit function takes (`input` chooses the features, not the fit)."""
    return {k: v for k, v in opts.items() if k != "input"}


def summary(row: Row) -> str:
    """One line for `lenet train --help`: the row's Fig. 9 label, its input, how it is fitted and the
    paper's number it is compared with (lenet_repro/data/references.csv). The options: options.describe."""
    from lenet_repro.references import get_reference

    how = (f"{row.network} trained by online SDLM" if row.network else f"{row.fit.__module__.rsplit('.', 1)[-1]}.py")
    return f"Fig. 9 \"{row.label}\" on {INPUT_WORDS[row.input]} ({how}); the paper: {get_reference(row.reference).value:g} %"


def get_row(name: str) -> Row:
    if name not in ROWS:
        raise ConfigError(f"unknown comparison row {name!r}; choose one of {', '.join(ROWS)}")
    return ROWS[name]


def features(images: torch.Tensor, version: str) -> torch.Tensor:
    """uint8 (N, 28, 28) or float [0, 1] -> (N, D) float64 in [0, 1] for an input version."""
    if version == "regular":
        x = images.double() / 255.0 if images.dtype == torch.uint8 else images.double()
        return x.reshape(len(images), -1)  # (N, 784)
    if version == "deslant":
        from lenet1998.inputs.deslant import deslant

        return deslant(images).reshape(len(images), -1).double()  # (N, 400)
    if version == "deslant-28x28":
        from lenet1998.inputs.deslant import deslant

        return deslant(images, size=28).reshape(len(images), -1).double()  # (N, 784)
    if version == "16x16":
        from lenet1998.inputs.sixteen import to_16x16

        return to_16x16(images).reshape(len(images), -1).double()  # (N, 256)
    raise ConfigError(f"unknown input version {version!r}; use one of {', '.join(INPUT_VERSIONS)}")
