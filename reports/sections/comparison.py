"""The comparison of Fig. 9 (Sec. III-C) as the report runs it: the rows in the figure's order, what
each one is in this package, the rows not reproduced (with the reason), and how the options the
paper leaves open are chosen.

Groups:
- comparison: every implemented row of lenet1998/comparison/rows.py, on the test digits, with its
  recorded default options; the stochastic rows (the networks, the RBF network's K-means) with the
  profile's comparison seeds, the deterministic ones with one;
- comparison-holdout: the option grids below, each value trained on the first 50,000 training digits
  and scored on the last 10,000 (never the test digits).

THE RULE (written down, and committed, before the held-out runs ran): for each option on a grid,
the value with the lowest held-out error wins (the mean over the held-out seeds); a tie (equal
error) goes to the value listed first, which is the reading taken before any run. Added with issue 17,
after these runs: a value on which a held-out seed failed (THE FAILED-RUN RULE, reports/verdicts/) is
disqualified, and the mean is over the good seeds (it changed no choice: the one grid value with failed
held-out seeds, 28x28-500-150-10 at 1 x LeNet-5's rates, had lost to 0.3 x already). A row with two
grids chooses them in the order listed: the first grid's runs hold the second's option at its first
reading, the second grid's runs hold the first's at its chosen value (the default). A network row's
pass count is read off its 20-pass held-out run at its chosen grid values (for LeNet-1 and LeNet-4,
which have no grid, their own 20-pass run): 10 passes if the held-out error after pass 10
is lower than after pass 20, else 20 (the paper's multilayer nets took "10 to 20 passes"; the
schedule of a pass does not depend on the run's length, so the first 10 passes of a 20-pass run
are the 10-pass run); LeNet-4 / K-NN, / local and the boosted LeNet-4 keep LeNet-4's count. The
winners are the defaults in rows.py; tests/test_comparison_report.py checks the committed records
still choose them. Options not on a grid keep the reading their module
docstring gives (ASSUMED there). The tangent distance got its grids with issue 18 (smoothing, then
the prefilter, then k), after its test-set fit at the module's readings missed 1.50 % against the paper's
1.1 % and an outside audit's held-out look at the smoothing (1.24 % at sigma 0.6, 2.47 % at 1.5). The SVM's kernel scale got its grid after its first test-set
fit, at the scale first read (1 / D), took 2 minutes, not the hour feared -- and missed 2.78 % of
the test digits against the paper's 1.1 %: said here because that look at the test digits is why
the grid exists; the scale itself is chosen on the held-out digits like every other option. So did
the pairwise classifier's unit (linear or tanh-squashed outputs summed), after its first test-set
fit missed 15.5 % against the paper's 7.6 %.

THE STEP-SIZE RULE (issue 18; written down, and committed, before the third held-out seed and the test-set
re-runs of the fully connected nets ran) replaces THE RULE for the `rate_scale` grids (STEP_SIZE_OPTIONS):

1. The paper's evidence first. App. C: in LeNet-5's first pass the effective rates "varied between
   approximately 7x10^-5 and 0.016". A value at which any held-out seed's largest pass-1 step (the
   record's rate_max) exceeds the paper's 0.016 (selection.PAPER_RATE_HIGH) is out: its steps are pinned
   at the cap eta / mu where the curvature estimate is near zero (weights fed by background pixels).
2. The held-out digits second. A value on which a held-out seed failed (THE FAILED-RUN RULE) is out, and a
   value needs STEP_MIN_SEEDS good held-out seeds to be chosen at all.
3. Of the values left, the one listed first (the largest step: the nearest to LeNet-5's own schedule) is
   kept unless a later one beats it by a gain beyond noise: THE CHANGE RULE on the seed-matched held-out
   errors (paired t, Holm over the grid's comparisons, p < ALPHA); then the resolved one with the lowest
   mean wins. If no value is left, nothing is chosen, and the report says so.

THE INPUT READING (issue 18): where the paper is silent or ambiguous about a row's input and the row
makes it an option (`input`: pairwise linear, SVM poly 4), the default is the MNIST web page's
preprocessing column (rows.MNIST_PAGE, the authors' own table of these rows), not a held-out choice; both
versions are run on the held-out digits and shown beside it (READING_OPTIONS). The option's grid comes
last, so the row's other grids are chosen at the page's input.
"""

from __future__ import annotations

from dataclasses import dataclass

from lenet1998.comparison.rows import ROWS

HOLDOUT = 10_000  # the last 10,000 training digits, as the other held-out sweeps
NETWORK_PASS_CHOICES = (10, 20)  # read off one 20-pass held-out run (THE RULE)
RATE_SCALES = (1.0, 0.3, 0.1)  # a fully connected net's schedule x this (LeNet-5's own schedule first)
STEP_SIZE_OPTIONS = ("rate_scale",)  # chosen by THE STEP-SIZE RULE, not THE RULE
STEP_MIN_SEEDS = 3  # good held-out seeds a value needs under THE STEP-SIZE RULE
READING_OPTIONS = ("input",)  # THE INPUT READING: the MNIST page's value, the held-out runs shown beside it

# option -> values, the reading taken before any run first
GRIDS: dict[str, dict[str, tuple]] = {
    # the unit / method (issue 18): least squares (the reading before any run) first
    "linear": {"ridge": (0.0, 1.0, 10.0, 100.0), "method": ("least-squares", "linear-sgd", "tanh-sgd")},
    "deslant-linear": {"ridge": (0.0, 1.0, 10.0, 100.0), "method": ("least-squares", "linear-sgd", "tanh-sgd")},
    "pairwise-linear": {"ridge": (0.0, 1.0, 10.0, 100.0),
                        "unit": ("linear", "tanh"),  # added after its first test-set fit (15.5 %, paper 7.6 %)
                        "input": ("deslant-28x28", "regular")},  # THE INPUT READING (the page's first)
    "knn-euclidean": {"k": (3, 1, 5)},  # k = 3 is the paper's for the deslanted K-NN
    "pca-quadratic": {"monomials": ("pairs", "linear-cross")},
    "rbf-linear": {"width": (1.0, 0.5, 2.0)},
    "svm-poly-4": {"gamma_scale": (1.0, 10.0, 100.0),  # gamma = scale / 784 (added after its first fit took 2 min)
                   "input": ("deslant-28x28", "regular")},  # THE INPUT READING (the page's first)
    "dist-v-svm-poly-9": {"transforms": ("shift-4", "shift-8")},  # Schoelkopf et al.'s one-pixel shifts first
    "lenet4-knn": {"k": (3, 1, 5)},
    "lenet4-local": {"neighbours": (200, 100, 400)},
    # issue 18: the module's readings first; the smoothing before the candidates (their cost grows with it)
    "tangent-distance": {"sigma": (0.9, 0.6, 0.3, 1.5), "prefilter": (50, 100, 200), "k": (1, 3, 5)},
    # the fully connected nets: added after their first held-out runs at LeNet-5's own rates left the
    # 500-150 nets at 13-20 % for most of the 20 passes (saturated units; the test digits not looked at)
    **{name: {"rate_scale": RATE_SCALES} for name, row in ROWS.items() if "rate_scale" in row.options},
}
EXPENSIVE = ("svm-poly-4", "rs-svm-poly-5", "dist-v-svm-poly-9", "tangent-distance")  # not in the quick profile
# the speed budget per run (minutes of wall time on the 2 cores: issue 12, the SVMs' of issue 18); the whole
# comparison group (both its groups): 6 h (issue 18)
BUDGET_MINUTES = {"svm-poly-4": 60, "rs-svm-poly-5": 60, "dist-v-svm-poly-9": 60, "tangent-distance": 30}
NETWORK_BUDGET_MINUTES, CLASSICAL_BUDGET_MINUTES, GROUP_BUDGET_HOURS = 10, 5, 6


@dataclass(frozen=True)
class Fig9Row:
    reference: str  # the paper's number: lenet_repro/data/references.csv
    ours: str | None  # an experiment id of the report, or None (not reproduced)
    why_not: str = ""  # for a row not reproduced: the reason


NOT_REPRODUCED: dict[str, str] = {}  # every row of Fig. 9 is run (issue 18); a row not run would say why here
# Where the paper contradicts itself or cannot be right, and the reading taken (rendered in the report)
CONTRADICTIONS = (
    "LeNet-4 (Sec. III-C.8): \"about 260,000 connections and about 17,000 free parameters\", but its 120-unit layer "
    "fully connected to 16 maps of 5x5 alone has 48,120 parameters. Reading taken: the architecture as the text "
    "describes it (convnets.lenet4): 262,306 connections, as the paper's, and 50,698 parameters, not its 17,000.",
    "The larger two-hidden-layer net: the text says 28x28-1000-150-10, Figs. 9, 11 and 12 say 500-150, and Fig. "
    "12's 469k variables are 500-150's 469,160 (1000-150 has 936,660). Reading taken: 28x28-500-150-10.",
    "RS-SVM poly 5: 1.0 % in Fig. 9, 1.1 % in the text. Reading taken: Fig. 9's 1.0 %, the number the MNIST web "
    "page gives too (\"Reduced Set SVM deg 5 polynomial | deskewing | 1.0\").",
    "LeNet-5's cost: Fig. 11 gives 401k multiply-adds, Sec. II-B 340,908 connections (one multiply-add each) and "
    "Fig. 12 60k variables. Reading taken: Sec. II-B's count, which the network built here reproduces layer by layer "
    "(lenet1998/model.py PAPER_COUNTS); the paper does not say what its 401k adds (the RBF's 840 connections and the "
    "squashing functions do not make up 60k).",
    "LeNet-1's 20 of 48 H2-H3 connections ([35]) are not listed; an assumed table (convnets.LENET1_H3_TABLE) "
    "gives exactly [35]'s 2,578 parameters and 98,442 connections. LeNet-4's C3 table is not given either "
    "(convnets.LENET4_C3_TABLE, 3 maps each).",
)
# Published measurements that bear on a row where ours and the paper's differ (cited, not ours)
OTHER_MEASUREMENTS = {
    "paper-fig9-k-nn-euclidean": "the MNIST web page (LeCun, Cortes & Burges) lists 3.09 % for K-NN with the L2 "
                                 "distance on the same files (K. Wilder, U. Chicago)",
    "paper-fig9-svm-poly-4": "the paper's own text (Sec. III-C.11) gives 1.4 % for a regular SVM (Burges & Schoelkopf "
                             "[63]); Fig. 9's 1.1 % is Cortes & Vapnik's, \"using a slightly different technique\"",
}
# Fig. 10's score per row (rejection.py rejects on the difference of the two top scores): what each of our
# classifiers' `scores` is, stated once (issue 18)
FIG10_SCORES = {
    "linear": "the ten outputs", "pairwise": "each class's summed unit outputs (Sec. III-C.1)",
    "knn": "the k neighbours' votes, ties to the nearer neighbour (knn.vote_scores)",
    "pca_quadratic": "the ten outputs", "rbf_network": "the ten outputs",
    "tangent_distance": "the k neighbours' votes by tangent distance, ties to the nearer (knn.vote_scores)",
    "svm": "the decision value of the one-vs-one classifier between the two top candidates",
    "reduced_set": "the ten one-vs-rest decision values", "virtual_svm": "the ten one-vs-rest decision values",
    "network": "the ten output units", "knn-readout": "the k neighbours' votes in F5's space (knn.vote_scores)",
    "local-readout": "the local linear classifier's ten outputs", "boosting": "the three nets' outputs summed "
                                                                              "(Sec. III-C.9)",
    "lenet1998": "minus the ten RBF penalties",
}
# Figs. 11-12: why ours differs from the paper's by more than 10 % (the convention or the model difference),
# per row; reports/sections/fig10_12.py puts each beside its row (tests check every > 10 % row has one)
COST_NOTES = {
    "paper-fig9-16x16-tangent-distance": "variables: ours stores each training digit's 7 precomputed tangent "
                                         "vectors beside it (60,000 x 256 x (1 + 7)), the paper's 25,000k is "
                                         "about the digits alone; multiply-adds: ours cuts to 500 candidates at "
                                         "8x8 and computes the tangent distance to the row's prefilter ones "
                                         "(tangent_distance.py), the "
                                         "paper's 20,000k is Simard's cascade, whose settings it does not give",
    "paper-fig9-svm-poly-4": "ours is one-vs-one (libsvm: 45 classifiers sharing one set of support vectors), the "
                             "paper's one-vs-rest (ten classifiers, each with its own)",
    "paper-fig9-dist-v-svm-poly-9": "ours counts each one-vs-rest classifier's own support vectors of its second fit",
    "paper-fig9-lenet-4-local": "ours stores 60,000 x 120 F5 features (the readout's input), the paper's 24,000k "
                                "matches 60,000 x 400 (S4's 16 x 5 x 5 outputs); ours counts a distance to each "
                                "and the local fit on the row's neighbours (local_learning.py)",
    "paper-fig9-lenet-4-k-nn": "ours stores 60,000 x 120 F5 features, the paper's 24,000k matches 60,000 x 400 "
                               "(S4's outputs)",
    "paper-fig9-lenet-4": "ours has 50,698 parameters where the text's 17,000 cannot hold its own 120-unit layer "
                          "(see the contradictions)",
    "paper-fig9-dist-boosted-lenet-4": "ours counts all three nets on every digit; the paper counts about 1.75 nets "
                                       "(\"about 1.75 times that of a single net\", Sec. III-C.9: the second and "
                                       "third run only on the digits the first is unsure of), shown beside; "
                                       "variables: three LeNet-4s of 50,698 (the paper's 51k = 3 x its 17k)",
    "paper-fig9-lenet-5": "ours is Sec. II-B's 340,908 connections; the paper's Fig. 11 gives 401k (see the "
                          "contradictions)",
    "paper-fig9-16x16-lenet-1": "ours is the assumed [35] network's 98,442 connections and 2,578 parameters; Fig. "
                                "12's 3k rounds the text's \"about 2600\"",
}
BOOSTED_NETS_PAPER = 1.75  # Sec. III-C.9: the boosted net's cost "about 1.75 times that of a single net"
# the rows the lenet1998 groups train (LeNet-5 itself)
OTHER_GROUPS = {"paper-fig9-lenet-5": "faithful/lenet5-1998",
                "paper-fig9-dist-lenet-5": "faithful/lenet5-1998-distortions"}


def fig9_rows() -> list[Fig9Row]:
    """Every row of Fig. 9, in the figure's order (the order of the references table)."""
    from lenet_repro.references import load_references

    by_ref = {r.reference: f"comparison/{r.name}" for r in ROWS.values()}
    out = []
    for ref in load_references().values():
        if not ref.id.startswith("paper-fig9-"):
            continue
        ours = by_ref.get(ref.id) or OTHER_GROUPS.get(ref.id)
        why = NOT_REPRODUCED.get(ref.id, "" if ours else "not implemented yet")
        out.append(Fig9Row(ref.id, ours, why))
    return out


def holdout_experiments() -> list[tuple[str, str, dict]]:
    """(id, row, options) of the held-out runs: every grid value (the grid's own option first in the
    options), and one 20-pass run per network row without a grid."""
    out = []
    for name, grid in GRIDS.items():
        opts = list(grid)
        for g, opt in enumerate(opts):
            later = {o: grid[o][0] for o in opts[g + 1:]}  # the grids after this one: at their first readings
            if ROWS[name].network:
                later["passes"] = 20  # a network's grid runs are 20-pass runs, whatever its pass count
            out += [(f"comparison-holdout/{name}/{opt}={v}", name, {opt: v, **later}) for v in grid[opt]]
    for name, row in ROWS.items():
        if row.network and not {"readout", "boosting"} & set(row.options) and name not in GRIDS:
            out.append((f"comparison-holdout/{name}/passes=20", name, {"passes": 20}))  # LeNet-1, LeNet-4
    return out


def pass_source(name: str, chosen: dict) -> dict | None:
    """The options of the held-out run whose curve decides a network row's pass count: the run at the
    chosen values of its grid (None while those are not chosen), or its 20-pass run if it has no grid."""
    row = ROWS[name]
    if not row.network or {"readout", "boosting"} & set(row.options):
        return None
    if name not in GRIDS:
        return {"passes": 20}
    if any((name, opt) not in chosen for opt in GRIDS[name]):
        return None
    return {**{opt: chosen[(name, opt)] for opt in GRIDS[name]}, "passes": 20}
