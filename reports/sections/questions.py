"""The questions users ask (sigmoid or scaled tanh? average pooling or trainable subsampling? full C3 or
Table I? softmax or RBF + MAP? C5 a convolution or a dense layer?), each answered from the change's effect at
both ends of Table 3 (THE CHANGE RULE), and C5's identity measured on the shipped LeNet-5."""

from __future__ import annotations

import math

import pandas as pd

from . import ablations
from ..run.runner import Outcome
from ..verdicts import Paired, resolved
from .ablations import BY_KEY
from .table3 import RowStats, _f, _p, group_stats


QUESTIONS = [  # (question, change key) -- the change's textbook side vs its 1998 side
    ("sigmoid vs scaled tanh", "sigmoid"),
    ("plain average pooling vs trainable subsampling", "avgpool"),
    ("full C3 vs the sparse Table I", "dense-c3"),
    ("RBF + MAP vs softmax", "softmax"),
]


def _effect_phrase(p: Paired | None, holm_p: float, where: str) -> str:
    if p is None:
        return f"{where}: not run"
    sig = resolved(holm_p)
    return (f"{where} {p.diff:+.2f} points (CI {_f(p.low, sign=True)} .. {_f(p.high, sign=True)}, Holm p {_p(holm_p)}"
            f"{'' if sig else f', not resolved with {p.n} seeds'})")


def _first_reason(failed: str) -> str:
    """'5 of 5 seeds failed (s0: it never predicts ...; s1: ...)' -> 'it never predicts ...' (seed 0's reason)."""
    inner = failed.split("(", 1)[1] if "(" in failed else failed
    return inner.split(";")[0].split(": ", 1)[-1].rstrip(")")


def _verdict(change: ablations.Change, a98: RowStats | None, atb: RowStats | None) -> str:
    """One line: which side is better, from the change's effect at both ends (THE CHANGE RULE: resolved =
    Holm p < ALPHA); an end whose row has no good run says so instead of giving an effect."""
    new, old = change.new, change.old
    ends, broken = [], []
    for s, flip, where in ((a98, 1, "the 1998 network"), (atb, -1, "the textbook network")):
        if s is None:
            continue
        if s.n == 0 and s.failed:
            broken.append(f"on {where} every seed of the row fails ({_first_reason(s.failed)}, seed 0)")
        elif s.vs_ref:
            ends.append((flip * s.vs_ref.diff, s.significant, where))
    if change.key == "sigmoid" and a98 is not None and a98.n == 0:
        broken[0] += ": a sigmoid cannot reach the -1 of the RBF codes"
    if not ends:
        return "; ".join(broken) or "not measured yet"
    sig = [(d, w) for d, s, w in ends if s]
    both = len(ends) == 2
    if len(sig) == len(ends) and all(d > 0 for d, _ in sig):
        v = f"{old} is better " + ("at both ends" if both else f"on {ends[0][2]}")
    elif len(sig) == len(ends) and all(d < 0 for d, _ in sig):
        v = f"{new} is better " + ("at both ends" if both else f"on {ends[0][2]}")
    elif not sig:
        v = "not resolved " + ("at either end" if both else f"on {ends[0][2]}") + " with these seeds"
    else:
        v = ("it depends on the rest of the network: "
             + ", ".join(f"{'worse' if d > 0 else 'better'} with {new} on {w}" + ("" if s else " (not resolved)")
                         for d, s, w in ends))
    return "; ".join([v] + broken)


def table(outcomes: list[Outcome], c5_identity: str | None = None) -> pd.DataFrame:
    a98 = {s.row.change: s for s in group_stats(outcomes, "alone-1998")}
    atb = {s.row.change: s for s in group_stats(outcomes, "alone-textbook")}
    fwd = {s.row.change: s for s in group_stats(outcomes, "ladder") if s.row.change}
    rows = []
    for q, key in QUESTIONS:
        c = BY_KEY[key]
        s98, stb, sf = a98.get(key), atb.get(key), fwd.get(key)
        ev = [_effect_phrase(s98.vs_ref if s98 else None, s98.holm_p if s98 else math.nan,
                             f"alone on 1998 (alone-1998/{key})"),
              _effect_phrase(stb.vs_ref.flipped() if stb and stb.vs_ref else None, stb.holm_p if stb else math.nan,
                             f"alone on textbook (alone-textbook/{key}, sign: adding it)"),
              _effect_phrase(sf.vs_prev if sf else None, sf.holm_p_prev if sf else math.nan,
                             f"forward step {sf.row.step if sf else '?'}")]
        rows.append({"question": q, "evidence (textbook side minus 1998 side)": "; ".join(ev),
                     "verdict": _verdict(c, s98, stb)})
    rows.append({"question": "C5 as a convolution vs a dense layer on the flattened S4",
                 "evidence (textbook side minus 1998 side)": c5_identity or "-",
                 "verdict": "the same function (a 5x5 kernel on a 5x5 map is a full connection); only the "
                            "Xavier bound differs, because torch counts a convolution's fan-out as 25 x 120"})
    return pd.DataFrame(rows)


def c5_identity(data_root=None) -> str:
    """Measured on the shipped LeNet-5 and the 10,000 test digits: C5 as a convolution vs as a dense layer."""
    import torch
    import torch.nn.functional as F

    from lenet1998.pretrained import load as load_shipped
    from lenet1998.preprocessing import to_input
    from lenet_repro import datasets

    model, _ = load_shipped("lenet5")
    x, _y = datasets.load("mnist", "test", data_root)
    with torch.no_grad():
        t = model.trace(to_input(x, model.config.input_scaling))
        dense = F.linear(t.x4.flatten(1), model.C5.weight.reshape(120, -1), model.C5.bias)
        diff = float((dense - t.a5).abs().max())
        x5 = model.squash(dense)
        out = model.output(model.squash(model.F6(x5)))
        changed = int((model.predict(t.x0) != out.argmin(1)).sum())
    return (f"on the shipped LeNet-5 and all 10,000 test digits, C5 computed as a dense layer on the flattened S4 "
            f"differs from the convolution by at most {diff:.1e} (float32 rounding) and changes {changed} predictions")
