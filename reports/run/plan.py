"""The experiment plan, declared as data: what `lenet report` trains, per profile.

Groups:
- textbook: the book's recipes and exercise variants (Fashion-MNIST; MNIST for that exercise);
- faithful: LeNet-5 1998 with and without distortions;
- j-sweep: the MAP constant j of Eq. 9 (the experiment behind the default), measured on a held-out
  10,000 of the training set, never on the test digits;
- distortion-sweep: the distortion ranges (not given in the paper) scaled together around the
  default, no distortions at all, and each distortion type switched off alone at the default factor,
  measured the same way on the held-out 10,000;
- readings: the factorial of the readings the paper allows of what it leaves open or contradicts
  (window sum/average x init 2.4/F_i, 2.4/sqrt(F_i) or Lush's 1/sqrt(F_i) x subsampling start drawn/Lush's constants x the
  coefficient's curvature sum x^2 / (sum x)^2), on the held-out 10,000; the defaults are chosen from it
  by the rule in reports/stats/selection.py, the paper's own diagnostics first, held-out error second;
- open-choices: the other readings of what the paper leaves open or contradicts, one at a time;
- fig6: LeNet-5 trained on the first 15,000 and 30,000 training digits, with and without distortions
  (Fig. 6; its 60,000 points are the faithful group's runs);
- comparison, comparison-holdout: the other classifiers of Fig. 9 (lenet1998/comparison/, reports/sections/comparison.py)
  on the test digits, and their open options on the held-out 10,000;
- ladder, ladder-back, alone-1998, alone-textbook: the ablation study between the faithful recipe and
  the textbook network on MNIST (reports/sections/ablations.py): forward and backward ladders, each change alone
  from either end.
Profiles scale the same plan: `smoke` (seconds, tiny subsets, for CI), `quick` (minutes on 2 CPU
cores), `full` (the real replication: every recipe at full length, >= 3 seeds for headline rows).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from lenet1998.config import FAITHFUL
from lenet1998.recipes import LENET1998_RECIPES
from lenet_repro.errors import ConfigError

from ..sections import ablations, comparison


@dataclass(frozen=True)
class Experiment:
    id: str  # unique, path-like: "<group>/<name>"
    group: str
    family: str  # modern | lenet1998 | comparison
    recipe: str
    label: str
    overrides: dict = field(default_factory=dict)  # recipe / LeNet5Config / comparison-row option overrides
    headline: bool = False  # gets the profile's headline seed count
    step: int | None = None  # position on the ablation ladder
    holdout: bool = False  # evaluate on held-out training patterns instead of the test set
    train_eval: str = "every-pass"  # lenet1998 RunSpec.train_eval: "last-pass" for the ablation study's rows
    train_size: int | None = None  # training digits (Fig. 6: 15,000 / 30,000); None = the profile's


J_VALUES = (0.1, 1.0, 3.0, 10.0, 30.0)
# All four distortion ranges (translation, scale, squeeze, shear) multiplied by one factor; 0 = none.
# The factors scale fixed ranges (not the current defaults), so the sweep's runs keep their cache keys
# whichever factor the default is set to.
DISTORTION_FACTORS = (0.0, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)  # issue 10: 0.25-1.0 in steps of 0.125
DISTORTION_TYPES = {"translation": "translate_px", "scaling": "scale_range", "squeezing": "squeeze_range",
                    "shearing": "shear_range"}  # each switched off alone at the default factor
DISTORTION_UNIT = {"translate_px": 2.0, "scale_range": 0.10, "squeeze_range": 0.10, "shear_range": 0.15}


def distortion_label(factor: float) -> str:
    if factor == 0:
        return "no distortions"
    o = distortion_overrides(factor)
    return (f"ranges x {factor:g}: +-{o['translate_px']:g} px, scale +-{100 * o['scale_range']:g} %, "
            f"squeeze +-{100 * o['squeeze_range']:g} %, shear +-{o['shear_range']:g}")


def distortion_overrides(factor: float) -> dict:
    """LeNet5Config overrides for the default distortion ranges scaled by `factor` (0: no distortions)."""
    if factor == 0:
        return {"distortions": False}
    return {"distortions": True, **{k: round(v * factor, 6) for k, v in DISTORTION_UNIT.items()}}


def default_distortion_factor() -> float | None:
    """The factor whose ranges are the current LeNet5Config defaults (None if no factor matches)."""
    for f in DISTORTION_FACTORS[1:]:
        over = distortion_overrides(f)
        if all(abs(getattr(FAITHFUL, k) - over[k]) < 1e-9 for k in DISTORTION_UNIT):
            return f
    return None


def sweep_default_id(group: str) -> str | None:
    """The experiment id of a held-out sweep's row that holds the current default."""
    if group == "j-sweep":
        return f"j-sweep/j={FAITHFUL.map_j:g}"
    f = default_distortion_factor()
    return f"distortion-sweep/x{f:g}" if group == "distortion-sweep" and f is not None else None


BASELINE = "ladder/00-faithful"

# The readings the paper allows of its open points, trained jointly (a full factorial: they interact --
# the literal init with a summed window and a positive coefficient is another network than with an
# averaged one). Each factor: (name, {label: overrides}).
READINGS: list[tuple[str, dict[str, dict]]] = [
    ("window", {"sum": {"subsampling": "sum"}, "average": {"subsampling": "average"}}),
    ("init", {"literal": {"init": "lecun"}, "sqrt": {"init": "lecun-sqrt"}, "lush": {"init": "lush"}}),
    ("start", {"drawn": {"subsampling_start": "drawn", "bias_init": "lecun"},
               "lush": {"subsampling_start": "lush", "bias_init": "zero"}}),
    ("curvature", {"squares": {"subsampling_curvature": "squares"},
                   "square-of-sum": {"subsampling_curvature": "square-of-sum"}}),
]


def reading_combinations() -> list[tuple[str, str, dict]]:
    """(id suffix, label, overrides) of every combination of READINGS, in a fixed order."""
    import itertools

    out = []
    for combo in itertools.product(*[list(levels.items()) for _, levels in READINGS]):
        over: dict = {}
        for _, o in combo:
            over.update(o)
        key = "-".join(label for label, _ in combo)
        label = ", ".join(f"{name} {lab}" for (name, _), (lab, _) in zip(READINGS, combo))
        out.append((key, label, over))
    return out

# The other readings of the paper's open or contradictory points (each alone, on the faithful default).
OPEN_CHOICES: list[tuple[str, str, dict]] = [
    ("subsampling-sum", "S2/S4 add the 4 inputs (Sec. II-B) instead of averaging (Sec. II-A)", {"subsampling": "sum"}),
    ("init-literal", "init U(-2.4/F_i, 2.4/F_i) taken literally", {"init": "lecun"}),
    ("bias-zero", "biases start at 0", {"bias_init": "zero"}),
    ("loss-mle", "MLE criterion (Eq. 8) instead of MAP", {"loss": "mle"}),
    ("hkk-consecutive", "h_kk on the first 500 patterns of the order", {"hkk_sampling": "consecutive"}),
    ("rbf-trainable", "RBF prototypes trainable", {"rbf_trainable": True}),
]

FIG6_SIZES = (15_000, 30_000)  # Sec. III-B: "15,000, 30,000, and 60,000 examples" (60,000: the faithful group)

TEXTBOOK = ["classic", "d2l-2nd", "zh-1st", "djl", "exercise-maxpool", "exercise-relu", "exercise-channels",
            "exercise-mnist"]


def experiments(group: str | None = None) -> list[Experiment]:
    """Every experiment of the plan, in plan order (only those of `group` if given)."""
    ex = [Experiment(f"textbook/{r}", "textbook", "modern", r, r, headline=(r == "classic")) for r in TEXTBOOK]
    ex += [
        Experiment("faithful/lenet5-1998", "faithful", "lenet1998", "lenet5-1998", "LeNet-5 (1998 recipe)",
                   headline=True),
        Experiment("faithful/lenet5-1998-distortions", "faithful", "lenet1998", "lenet5-1998-distortions",
                   "LeNet-5 trained with distortions", headline=True),
    ]
    ex += [Experiment(f"j-sweep/j={j:g}", "j-sweep", "lenet1998", "lenet5-1998", f"j = {j:g}",
                      {"map_j": j}, holdout=True) for j in sorted({*J_VALUES, FAITHFUL.map_j})]
    ex += [Experiment(f"distortion-sweep/x{f:g}", "distortion-sweep", "lenet1998", "lenet5-1998",
                      distortion_label(f), distortion_overrides(f), holdout=True)
           for f in DISTORTION_FACTORS]
    f0 = default_distortion_factor()
    if f0:
        ex += [Experiment(f"distortion-sweep/x{f0:g}-no-{name}", "distortion-sweep", "lenet1998", "lenet5-1998",
                          f"ranges x {f0:g} without {name}", {**distortion_overrides(f0), key: 0.0}, holdout=True)
               for name, key in DISTORTION_TYPES.items()]
    ex.append(Experiment("faithful/lenet5-lush-demo", "faithful", "lenet1998", "lenet5-lush-demo",
                         "LeNet-5 as LeCun's Lush demo trains it"))
    ex += [Experiment(f"fig6/{recipe.removeprefix('lenet5-1998')[1:] or 'plain'}-{n // 1000}k", "fig6", "lenet1998",
                      recipe, f"LeNet-5 on {n:,} training digits" + (" with distortions" if "dist" in recipe else ""),
                      train_size=n)
           for recipe in ("lenet5-1998", "lenet5-1998-distortions") for n in FIG6_SIZES]
    ex += [Experiment(f"readings/{key}", "readings", "lenet1998", "lenet5-1998", label, over, holdout=True)
           for key, label, over in reading_combinations()]
    ex += [Experiment(f"open-choices/{key}", "open-choices", "lenet1998", "lenet5-1998", label, over)
           for key, label, over in OPEN_CHOICES]
    # the ablation study (reports/sections/ablations.py); its first row is also the baseline of the open choices
    ex += [Experiment(r.id, r.group, "lenet1998", "lenet5-1998", r.label, ablations.overrides_of(r.applied),
                      headline=r.id in ablations.endpoint_seeds_ids(), step=r.step, train_eval="last-pass")
           for r in ablations.rows()]
    ex += [Experiment(i, ablations.XAVIER_GROUP, "lenet1998", "lenet5-1998", label, over, train_eval="last-pass")
           for i, label, over in ablations.XAVIER_ROWS]
    from lenet1998.comparison.rows import ROWS

    ex += [Experiment(f"comparison/{name}", "comparison", "comparison", name, row.label) for name, row in ROWS.items()]
    ex += [Experiment(i, "comparison-holdout", "comparison", name, f"{ROWS[name].label}, {', '.join(f'{k} = {v}' for k, v in o.items())}",
                      o, holdout=True) for i, name, o in comparison.holdout_experiments()]
    return [e for e in ex if group in (None, e.group)]


@dataclass(frozen=True)
class Profile:
    name: str
    headline_seeds: int
    other_seeds: int
    sweep_seeds: int = 1  # seeds for the held-out choices: the j and distortion sweeps, the readings, Fig. 9's grids
    distortion_seeds: int | None = None  # seeds for the distortion runs (None = headline_seeds)
    train_subset: int | None = None  # None = all 60,000
    test_subset: int | None = None  # None = all 10,000
    epochs: int | None = None  # textbook epochs (None = the recipe's)
    passes: int | None = None  # faithful passes (None = the paper's 20)
    ablation_passes: int | None = None  # passes for j-sweep / readings / open choices (None = as `passes`)
    ablation_seeds: int | None = None  # seeds per ablation-study row (None = other_seeds); endpoints: headline_seeds
    ablation_pass_scale: float | None = None  # ablation-study passes x this (at least 1); None = their own 20 / 10
    holdout: int = 10_000  # held-out training patterns for the j and distortion sweeps
    textbook_seeds: int | None = None  # seeds of the classic textbook row (None = headline_seeds)
    lush_seeds: int = 1  # seeds of the Lush-demo row
    fig6_seeds: int = 1  # seeds per Fig. 6 point (15,000 and 30,000 digits, with and without distortions)
    comparison_seeds: int = 1  # seeds of a stochastic Fig. 9 row (a deterministic one gets 1)
    grid_seeds: int | None = None  # seeds per value of a stochastic Fig. 9 row's held-out grid (None = sweep_seeds)
    comparison_rows: tuple[str, ...] | None = None  # the Fig. 9 rows run (None = all)
    only: tuple[str, ...] | None = None  # globs on experiment ids within `groups` (None = all of them)
    groups: tuple[str, ...] = ("textbook", "faithful", "j-sweep", "distortion-sweep", "fig6", "readings",
                               "open-choices", *ablations.GROUPS, ablations.XAVIER_GROUP, "comparison",
                               "comparison-holdout")
    note: str = ""


def _cheap_rows() -> tuple[str, ...]:
    """The Fig. 9 rows that fit in minutes: the classical ones but the SVM and the tangent distance."""
    from lenet1998.comparison.rows import ROWS

    return tuple(n for n, r in ROWS.items() if not r.network and n not in comparison.EXPENSIVE)


PROFILES = {
    "smoke": Profile("smoke", 1, 1, train_subset=500, test_subset=300, epochs=1, passes=1, ablation_passes=1,
                     ablation_pass_scale=0.0, holdout=100, comparison_rows=("linear", "knn-euclidean", "mlp-300"),
                     note="seconds: tiny subsets, one epoch/pass; checks the whole pipeline (CI)"),
    "quick": Profile("quick", 1, 1, passes=None, ablation_pass_scale=0.05, comparison_rows=_cheap_rows(),
                     groups=("textbook", "faithful", "fig6", "ladder", "comparison"),
                     only=("textbook/classic", "textbook/exercise-mnist", "faithful/lenet5-1998",
                           "faithful/lenet5-1998-distortions", "fig6/plain-15k", "ladder/*", "comparison/*"),
                     note="a coffee break (<= 15 min from a fresh clone on 2 cores, set-up included): every kind of "
                          "result in one small dose -- Table 1's classic row and the textbook recipe on MNIST, Table 2 "
                          "(LeNet-5 plain and with distortions, one seed, full length), Fig. 6's 15,000-digit point, "
                          "the forward ablation ladder at 1 pass a step (its numbers are not the study's), the "
                          "classical Fig. 9 rows that fit in minutes and their Figs. 10-12; the held-out sweeps, the "
                          "readings and the other ladders only in `full`"),
    "full": Profile("full", 10, 1, sweep_seeds=3, distortion_seeds=10, textbook_seeds=5, lush_seeds=3,
                    ablation_seeds=5, fig6_seeds=3, comparison_seeds=3, grid_seeds=3,
                    note="the replication: full length everywhere, 10 seeds for the headline rows (plain and with "
                         "distortions) and the ablation study's two endpoints, 5 for every other row of the ablation "
                         "study, for the classic textbook row and for the textbook recipe on MNIST, 3 for the Lush "
                         "demo, per Fig. 6 point, per stochastic Fig. 9 row and per held-out choice of the faithful network (the j "
                         "and distortion sweeps, the readings) and per value of a Fig. 9 row's held-out grid (THE STEP-SIZE RULE "
                         "needs 3)"),
}


@dataclass(frozen=True)
class RunItem:
    experiment: Experiment
    seed: int
    overrides: dict  # experiment overrides + the profile's length/subset settings
    train_subset: int | None
    test_subset: int | None
    holdout: int | None = None

    @property
    def key(self) -> str:
        return f"{self.experiment.id}/s{self.seed}"


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


def build_plan(profile: str | Profile, seeds: int | None = None, only: str | None = None) -> list[RunItem]:
    """The runs of a profile. `seeds` overrides the seed counts; `only` is a glob on experiment ids."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if seeds is not None and seeds < 1:
        raise ConfigError(f"--seeds must be a positive integer, got {seeds}")
    items = []
    for ex in experiments():
        if ex.group not in prof.groups:
            continue
        if prof.only is not None and not any(fnmatch.fnmatch(ex.id, pat) for pat in prof.only):
            continue
        if only and not any(fnmatch.fnmatch(ex.id, pat.strip()) or pat.strip() in ex.id
                            for pat in only.split(",")):
            continue
        if ex.family == "comparison" and prof.comparison_rows is not None and ex.recipe not in prof.comparison_rows:
            continue
        if ex.family == "comparison":
            from lenet1998.comparison.rows import ROWS

            stochastic = ROWS[ex.recipe].stochastic
            grid = prof.grid_seeds or prof.sweep_seeds
            n = (seeds or (prof.comparison_seeds if ex.group == "comparison" else grid)) if stochastic else 1
        elif ex.group in ("j-sweep", "distortion-sweep", "readings"):
            n = seeds or prof.sweep_seeds
        elif ex.group == "fig6":
            n = seeds or prof.fig6_seeds
        elif ex.recipe.endswith("distortions") and prof.distortion_seeds:
            n = seeds or prof.distortion_seeds
        elif ex.recipe == "lenet5-lush-demo":
            n = seeds or prof.lush_seeds
        elif ex.family == "modern" and (ex.headline or ex.recipe == "exercise-mnist") and prof.textbook_seeds:
            n = seeds or prof.textbook_seeds  # (exercise-mnist: beside the ablation study's textbook end)
        elif ex.group in (*ablations.GROUPS, ablations.XAVIER_GROUP) and not ex.headline:
            n = seeds or prof.ablation_seeds or prof.other_seeds
        else:
            n = seeds or (prof.headline_seeds if ex.headline else prof.other_seeds)
        over = dict(ex.overrides)
        if ex.family == "comparison":
            from lenet1998.comparison.rows import ROWS

            if ROWS[ex.recipe].network and prof.passes:
                over["passes"] = prof.passes
        elif ex.family == "modern":
            if prof.epochs:
                over["epochs"] = prof.epochs
        elif ex.group in (*ablations.GROUPS, ablations.XAVIER_GROUP):
            if prof.ablation_pass_scale is not None:
                own = LENET1998_RECIPES[ex.recipe].replace(**over).passes
                over["passes"] = max(1, round(own * prof.ablation_pass_scale))
        else:
            passes = prof.passes if ex.group in ("faithful", "fig6") else (prof.ablation_passes or prof.passes)
            if passes and not (ex.recipe == "lenet5-lush-demo" and prof.passes is None):
                over["passes"] = passes  # (the Lush demo keeps its own 30 passes at full length)
        train = prof.train_subset
        if ex.train_size:  # a fraction of the training set: of the profile's subset when it has one
            train = ex.train_size * prof.train_subset // 60_000 if prof.train_subset else ex.train_size
        # (a comparison row checks that a held-out run names no test subset; the 1998 runs' keys keep theirs)
        test = None if ex.holdout and ex.family == "comparison" else prof.test_subset
        items += [RunItem(ex, s, over, train, test, prof.holdout if ex.holdout else None) for s in range(n)]
    if only and not items:
        raise ConfigError(f"--only {only!r} matches no experiment; ids look like textbook/classic, "
                          f"faithful/lenet5-1998, ladder/03-avgpool, alone-1998/softmax, j-sweep/j=10, distortion-sweep/x1")
    return items
