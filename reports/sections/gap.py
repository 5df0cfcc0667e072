"""The gap explained: each change's effect on the forward and the backward ladder (each ladder's own shares, on
its own common seeds: the steps telescope to its gap), alone on either end, the range over the orders, and
the generated paragraph (how much is interaction), from Table 3's statistics (table3.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from . import ablations
from ..run.runner import Outcome
from ..stats import rowruns
from ..verdicts import Paired, paired
from .ablations import BY_KEY, ENDPOINT_1998, ENDPOINT_TEXTBOOK, REFERENCE_END
from .table3 import _f, _p, errors, group_stats, runs_of


@dataclass(frozen=True)
class Contribution:
    key: str
    forward: Paired | None  # the change's step on the forward ladder (all of that step's good pairs)
    backward: Paired | None  # its revert step on the backward ladder, sign flipped (the effect of adding it)
    alone_1998: Paired | None  # alone on the 1998 network
    alone_textbook: Paired | None  # the textbook network minus the change, sign flipped
    forward_common: float = math.nan  # the forward step on the seeds common to every forward step
    backward_common: float = math.nan  # the same for the backward ladder

    @property
    def average(self) -> float:
        xs = [x for x in (self.forward_common, self.backward_common) if not math.isnan(x)]
        return sum(xs) / len(xs) if xs else math.nan

    @property
    def orders(self) -> list[float]:
        """The change's effect in every order measured: forward, backward, alone on 1998, alone on textbook."""
        return [p.diff for p in (self.forward, self.backward, self.alone_1998, self.alone_textbook) if p]


@dataclass(frozen=True)
class LadderSum:
    """A ladder's steps on the seeds that every one of its rows has good runs for: the steps telescope, so
    they sum exactly to this ladder's own gap (textbook - 1998) on those seeds."""
    group: str
    seeds: tuple[int, ...]
    gap: float
    steps: dict  # change key -> effect of adding the change (points)

    def share(self, key: str) -> float:
        return 100 * self.steps[key] / self.gap if key in self.steps and self.gap else math.nan


def ladder_sum(outcomes: list[Outcome], group: str) -> LadderSum | None:
    rows = [r for r in ablations.rows() if r.group == group]
    runs = [runs_of(outcomes, r.id) for r in rows]
    if not rows or any(not x for x in runs):
        return None
    common = tuple(sorted(set.intersection(*[set(x) for x in runs])))
    if not common:
        return None
    sign = 1 if REFERENCE_END[group] == ENDPOINT_1998 else -1  # backward: a step reverts a change

    def mean(x):
        return sum(x[s]["final"]["test_error"] for s in common) / len(common)

    steps = {}
    for prev, cur, r in zip(runs, runs[1:], rows[1:]):
        if r.change:
            steps[r.change] = sign * (mean(cur) - mean(prev))
    return LadderSum(group, common, sign * (mean(runs[-1]) - mean(runs[0])), steps)


def contributions(outcomes: list[Outcome]) -> list[Contribution]:
    fwd = {s.row.change: s for s in group_stats(outcomes, "ladder") if s.row.change}
    back = {s.row.change: s for s in group_stats(outcomes, "ladder-back") if s.row.change}
    a98 = {s.row.change: s for s in group_stats(outcomes, "alone-1998")}
    atb = {s.row.change: s for s in group_stats(outcomes, "alone-textbook")}
    lf, lb = ladder_sum(outcomes, "ladder"), ladder_sum(outcomes, "ladder-back")
    out = []
    for c in ablations.CHANGES:
        out.append(Contribution(
            c.key, fwd[c.key].vs_prev if c.key in fwd else None,
            back[c.key].vs_prev.flipped() if c.key in back and back[c.key].vs_prev else None,
            a98[c.key].vs_ref if c.key in a98 else None,
            atb[c.key].vs_ref.flipped() if c.key in atb and atb[c.key].vs_ref else None,
            lf.steps.get(c.key, math.nan) if lf else math.nan,
            lb.steps.get(c.key, math.nan) if lb else math.nan))
    return out


def gap(outcomes: list[Outcome]) -> Paired | None:
    """The textbook end against the 1998 end, over their common good seeds."""
    return paired(runs_of(outcomes, ENDPOINT_TEXTBOOK), runs_of(outcomes, ENDPOINT_1998))


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    lf, lb = ladder_sum(outcomes, "ladder"), ladder_sum(outcomes, "ladder-back")
    rows = []
    for c in contributions(outcomes):
        ch = BY_KEY[c.key]

        def cell(p):
            return f"{p.diff:+.2f} ({_f(p.low, sign=True)} .. {_f(p.high, sign=True)})" if p else "-"

        orders = c.orders
        rows.append({"change": f"{ch.what}: {ch.old} -> {ch.new}", "forward step": cell(c.forward),
                     "forward share": (f"{lf.share(c.key):.0f} %" if lf and c.key in lf.steps else "-"),
                     "backward step": cell(c.backward),
                     "backward share": (f"{lb.share(c.key):.0f} %" if lb and c.key in lb.steps else "-"),
                     "alone on 1998": cell(c.alone_1998), "alone on textbook": cell(c.alone_textbook),
                     "range over the orders": (f"{min(orders):+.2f} .. {max(orders):+.2f}" if orders else "-")})
    rows.append({"change": "sum (the ladder's own gap on its common seeds)", "forward step": "",
                 "forward share": (f"{sum(lf.share(k) for k in lf.steps):.0f} % of {lf.gap:+.2f}" if lf else "-"),
                 "backward step": "",
                 "backward share": (f"{sum(lb.share(k) for k in lb.steps):.0f} % of {lb.gap:+.2f}" if lb else "-"),
                 "alone on 1998": "", "alone on textbook": "", "range over the orders": ""})
    return pd.DataFrame(rows)


def paragraph(outcomes: list[Outcome]) -> str:
    """The generated paragraph: how much of each ladder's own gap each change accounts for, that the
    attribution depends on the order, and how much is interaction."""
    g = gap(outcomes)
    e98, etb = errors(runs_of(outcomes, ENDPOINT_1998)), errors(runs_of(outcomes, ENDPOINT_TEXTBOOK))
    if not g or not e98 or not etb:
        return "_(the gap needs both endpoints' runs)_"
    cs = contributions(outcomes)
    m98, mtb = sum(e98) / len(e98), sum(etb) / len(etb)
    f98, ftb = rowruns.of(outcomes, ENDPOINT_1998).failed_note(), rowruns.of(outcomes, ENDPOINT_TEXTBOOK).failed_note()
    parts = [f"The textbook network (d2l classic on MNIST, in the 1998 code) misses {mtb:.2f} % of the test digits "
             f"({len(etb)} good seeds{'; ' + ftb if ftb else ''}), the faithful LeNet-5 {m98:.2f} % ({len(e98)} good "
             f"seeds{'; ' + f98 if f98 else ''}): {mtb / m98:.1f} times as many; the gap is {g.diff:+.2f} points over "
             f"{g.n} seed-matched pairs (paired t 95 % CI {_f(g.low, sign=True)} .. {_f(g.high, sign=True)}, "
             f"p {_p(g.p)})."]
    parts.append("How the gap divides among the changes depends on the order in which they are made: a change's "
                 "effect is measured against whatever else has changed already, and the changes interact. So each "
                 "ladder's shares are its own, on its own seeds, and the table gives both side by side with the range "
                 "of each change's effect over the four orders measured (forward, backward, alone on either end).")
    for group, name in (("ladder", "forward"), ("ladder-back", "backward")):
        ls = ladder_sum(outcomes, group)
        if not ls:
            parts.append(f"The {name} ladder has a step without good runs: its shares cannot be computed.")
            continue
        top = sorted(ls.steps, key=lambda k: -abs(ls.steps[k]))[:3]
        named = "; ".join(f"{BY_KEY[k].what} ({BY_KEY[k].old} -> {BY_KEY[k].new}) {ls.steps[k]:+.2f} points, "
                          f"{ls.share(k):.0f} %" for k in top)
        parts.append(f"The {name} ladder, on the {len(ls.seeds)} seeds every step has ({', '.join(map(str, ls.seeds))}), "
                     f"goes from one end to the other by {ls.gap:+.2f} points; its steps sum to that (100 %); the largest: "
                     f"{named}.")
    wide = sorted((c for c in cs if len(c.orders) >= 2), key=lambda c: -(max(c.orders) - min(c.orders)))[:3]
    if wide:
        parts.append("The changes whose effect depends most on the order: " + "; ".join(
            f"{BY_KEY[c.key].what} {min(c.orders):+.2f} .. {max(c.orders):+.2f} points" for c in wide) + ".")
    failed_rows = [s.row.id for grp in ("alone-1998", "alone-textbook") for s in group_stats(outcomes, grp)
                   if s.failed]
    if failed_rows:
        parts.append(f"Rows with failed runs (left out of their row's mean and pairs): {', '.join(failed_rows)}; where "
                     f"every seed of a row failed, one change alone breaks the network, which is interaction in its "
                     f"plainest form, and the row has no effect to add up.")
    a = [c.alone_1998.diff for c in cs if c.alone_1998]
    t = [c.alone_textbook.diff for c in cs if c.alone_textbook]
    if len(a) == len(cs):
        inter = g.diff - sum(a)
        parts.append(f"Each change alone on the 1998 network adds up to {sum(a):+.2f} points: if the changes were "
                     f"additive that would be the gap, so {inter:+.2f} points are interaction.")
    elif a:
        parts.append(f"Each change alone on the 1998 network: {len(a)} of {len(cs)} rows have good runs to add up.")
    if len(t) == len(cs):
        inter = g.diff - sum(t)
        parts.append(f"Reverting each change alone on the textbook network recovers {sum(t):+.2f} points in all "
                     f"(interaction measured from that end: {inter:+.2f} points).")
    elif t:
        parts.append(f"Each change alone reverted on the textbook network: {len(t)} of {len(cs)} rows have good runs.")
    return " ".join(parts)
