"""The ablation study as data: every difference between LeNet-5 (1998) and the textbook LeNet, and the
rows built from them (issue 11).

The two endpoints:
- the 1998 end: the faithful recipe (lenet1998/config.py's defaults: the network of Sec. II-B, SDLM,
  20 passes, App. A's init as settled, the paper's input scaling, one constant random order);
- the textbook end: the d2l classic network and recipe on MNIST, exactly `lenet train exercise-mnist`
  (modern/recipes.py): sigmoid, plain average pooling, dense C3, FC 120-84-10 with softmax
  cross-entropy, Xavier weights with torch's default biases, minibatch SGD at lr 0.9, batch 256,
  10 epochs reshuffled each epoch, inputs in [0, 1] (zero padding). `textbook_config` derives it from
  the book's recipe, and tests/test_ablations.py checks that the two code paths compute the same
  function.

Each row is a *set of changes* applied to the faithful config (in CHANGES order), so that two rows with
the same set are the same runs (reports/run/runner.py trains them once):
- `ladder`: forward, 1998 -> textbook, one change per step (CHANGES order);
- `ladder-back`: backward, textbook -> 1998, one change reverted per step (BACKWARD order: another
  order, so that its rows are other networks than the forward ladder's);
- `ladder-back-tanh-first`: the first backward order tried (TANH_FIRST), kept because it shows where
  the book's learning rate breaks: the scaled tanh at lr 0.9 sits at chance;
- `alone-1998`: each change alone on the faithful network;
- `alone-textbook`: each change alone reverted on the textbook network.
The orders keep every ladder step off the degenerate points: the softmax output comes before the
sigmoid going forward (a sigmoid cannot reach the -1 of the RBF codes), and going backward the optimizer
comes back before the scaled tanh and the scaled tanh before the RBF output; the sigmoid against the
RBF codes and the scaled tanh at the book's lr 0.9 are measured alone (alone-1998/sigmoid,
alone-textbook/sigmoid) and in ladder-back-tanh-first.

"minibatch" requires "sgd" (minibatch SGD replaces online plain SGD): a set holding it holds "sgd" too,
so "sgd" alone reverted at the textbook end is online SDLM.
"""

from __future__ import annotations

from dataclasses import dataclass

from lenet_repro.errors import ConfigError


@dataclass(frozen=True)
class Change:
    key: str
    what: str  # the aspect, as the user asks about it
    old: str  # the 1998 side
    new: str  # the textbook side
    overrides: dict  # LeNet5Config overrides that make the change (1998 -> textbook)
    requires: tuple[str, ...] = ()


# Forward order (1998 -> textbook). Values: modern/recipes.py CLASSIC for the textbook side.
CHANGES: list[Change] = [
    Change("softmax", "output and loss", "10 Euclidean RBF units on the 7x12 codes + MAP (Eq. 9)",
           "F6 -> linear 10 + softmax cross-entropy", {"output": "linear", "loss": "cross_entropy"}),
    Change("dense-c3", "C3 connections", "Table I (60 of 96 map pairs)", "dense (all 96)", {"c3_table": "dense"}),
    Change("avgpool", "what follows the 2x2 window", "trainable coefficient + bias, squashed",
           "plain average pooling", {"subsampling": "avgpool"}),
    Change("sigmoid", "squashing function", "1.7159 tanh(2a/3)", "logistic sigmoid", {"activation": "sigmoid"}),
    Change("unit-input", "input scaling", "background -0.1, ink 1.175", "[0, 1]", {"input_scaling": "unit"}),
    Change("sgd", "optimizer", "online SDLM (eta / (mu + h_kk))", "online plain SGD (rate 2 eta)",
           {"optimizer": "sgd"}),
    Change("minibatch", "optimizer", "online (batch 1)", "minibatch SGD: batch 256, lr 0.9 (x the schedule's shape)",
           {"optimizer": "minibatch-sgd", "minibatch_size": 256, "minibatch_lr": 0.9}, requires=("sgd",)),
    Change("constant-rate", "learning-rate schedule", "the paper's per-pass decrease (App. C)", "constant",
           {"schedule": (0.0005,)}),
    Change("xavier", "initialisation", "U(+-2.4/sqrt(F_i)), biases alike",
           "Xavier weights (the book's fans), torch's default biases", {"init": "d2l"}),
    Change("reshuffle", "pattern order", "one constant random order", "reshuffled every pass",
           {"pattern_order": "reshuffled"}),
    Change("10-passes", "number of passes", "20", "10", {"passes": 10}),
]
BY_KEY = {c.key: c for c in CHANGES}
ALL = frozenset(BY_KEY)
# Backward order (the order in which the textbook end's changes are reverted). The optimizer goes back
# before the squashing function: the book's minibatch SGD at lr 0.9 with the scaled tanh sits at chance
# (alone-textbook/sigmoid, and TANH_FIRST below), and the scaled tanh before the RBF output.
BACKWARD = ["xavier", "minibatch", "sgd", "sigmoid", "softmax", "10-passes", "reshuffle", "constant-rate",
            "dense-c3", "avgpool", "unit-input"]
# The first backward order tried, kept as a record of the degeneracy it ran into: the scaled tanh back
# at step 2 while minibatch SGD still runs at lr 0.9 -- at chance from there until the optimizer returns.
TANH_FIRST = ["xavier", "sigmoid", "softmax", "dense-c3", "avgpool", "unit-input", "10-passes", "reshuffle",
              "constant-rate", "minibatch", "sgd"]
assert sorted(BACKWARD) == sorted(BY_KEY) == sorted(TANH_FIRST)

GROUPS = ("ladder", "ladder-back", "alone-1998", "alone-textbook", "ladder-back-tanh-first")
ENDPOINT_1998 = "ladder/00-faithful"
ENDPOINT_TEXTBOOK = f"ladder/{len(CHANGES):02d}-{CHANGES[-1].key}"
REFERENCE_END = {"ladder": ENDPOINT_1998, "alone-1998": ENDPOINT_1998, "ladder-back": ENDPOINT_TEXTBOOK,
                 "alone-textbook": ENDPOINT_TEXTBOOK, "ladder-back-tanh-first": ENDPOINT_TEXTBOOK}


def overrides_of(applied: frozenset[str] | set[str]) -> dict:
    """The LeNet5Config overrides of a set of changes (applied in CHANGES order)."""
    unknown = set(applied) - ALL
    if unknown:
        raise ConfigError(f"unknown ablation changes {sorted(unknown)}; known: {', '.join(BY_KEY)}")
    for k in applied:
        missing = set(BY_KEY[k].requires) - set(applied)
        if missing:
            raise ConfigError(f"the change {k!r} needs {sorted(missing)} applied with it")
    out: dict = {}
    for c in CHANGES:
        if c.key in applied:
            out.update(c.overrides)
    return out


def _dependents(key: str) -> set[str]:
    return {c.key for c in CHANGES if key in c.requires}


@dataclass(frozen=True)
class Row:
    id: str
    group: str
    label: str
    applied: frozenset[str]
    step: int | None = None
    change: str | None = None  # the change this row makes (None for the endpoints)


def rows() -> list[Row]:
    """Every row of the four groups, in report order."""
    out = [Row(ENDPOINT_1998, "ladder", "0. faithful LeNet-5 (1998)", frozenset(), 0)]
    applied: set[str] = set()
    for k, c in enumerate(CHANGES, start=1):
        applied.add(c.key)
        out.append(Row(f"ladder/{k:02d}-{c.key}", "ladder", f"{k}. + {c.what}: {c.new}",
                       frozenset(applied), k, c.key))
    for group, order in (("ladder-back", BACKWARD), ("ladder-back-tanh-first", TANH_FIRST)):
        out.append(Row(f"{group}/00-textbook", group, "0. the textbook network (d2l classic on MNIST)", ALL, 0))
        left = set(ALL)
        for k, key in enumerate(order, start=1):
            c = BY_KEY[key]
            left.discard(key)
            old = ("online SDLM" if key == "sgd" else "online plain SGD (rate 2 eta)" if key == "minibatch"
                   and "sgd" in left else c.old)
            out.append(Row(f"{group}/{k:02d}-{key}", group, f"{k}. - {c.what}: back to {old}", frozenset(left), k, key))
    tanh_first = [r for r in out if r.group == "ladder-back-tanh-first"]
    out = [r for r in out if r.group != "ladder-back-tanh-first"]
    for c in CHANGES:
        applied = {c.key, *c.requires}
        new = "minibatch SGD (batch 256, lr 0.9)" if c.key == "minibatch" else c.new
        out.append(Row(f"alone-1998/{c.key}", "alone-1998", f"{c.what}: {new}",
                       frozenset(applied), change=c.key))
    for c in CHANGES:
        left = ALL - {c.key} - _dependents(c.key)
        old = "online SDLM" if c.key == "sgd" else ("online plain SGD (rate 2 eta)" if c.key == "minibatch" else c.old)
        out.append(Row(f"alone-textbook/{c.key}", "alone-textbook", f"{c.what}: back to {old}",
                       frozenset(left), change=c.key))
    return out + tanh_first


# The Xavier row explained (issue 11): beside the book's init alone under SDLM (alone-1998/xavier), the
# earlier ladder's Xavier reading (Glorot weights with C5's convolution fans, biases by the literal
# 2.4/F_i -- the row that gave 21 %) and the book's init trained by plain online SGD instead of SDLM
# (is it a property of SDLM?).
XAVIER_GROUP = "xavier"
XAVIER_ROWS = [
    ("xavier/conv-fans", "the earlier Xavier reading: Glorot weights with C5's convolution fans, biases 2.4/F_i",
     {"init": "xavier"}),
    ("xavier/d2l-online-sgd", "the book's init with online plain SGD instead of SDLM", {"init": "d2l", "optimizer": "sgd"}),
]


def endpoint_seeds_ids() -> set[str]:
    return {ENDPOINT_1998, ENDPOINT_TEXTBOOK, "ladder-back/00-textbook", "ladder-back-tanh-first/00-textbook"}


def textbook_config(recipe=None):
    """The LeNet5Config that computes the book's network and recipe (default: exercise-mnist) in the
    1998 code: ConfigError for a recipe it cannot express. tests/test_ablations.py checks that this config
    and the textbook code compute the same function, and that it is the ladder's last step."""
    from lenet1998.config import FAITHFUL
    from modern.recipes import NetSpec, get_recipe

    r = get_recipe("exercise-mnist") if recipe is None else recipe
    net = NetSpec()
    if r.net != net or r.dataset != "mnist" or r.init != "xavier_uniform":
        raise ConfigError(f"recipe {r.name!r} is not the book's classic network on MNIST; only that one has a "
                          f"1998-code equivalent")
    return FAITHFUL.replace(activation="sigmoid", subsampling="avgpool", c3_table="dense", output="linear",
                            loss="cross_entropy", init="d2l", input_scaling="unit", optimizer="minibatch-sgd",
                            minibatch_size=r.batch_size, minibatch_lr=r.lr, schedule=(0.0005,),
                            pattern_order="reshuffled", passes=r.epochs)
