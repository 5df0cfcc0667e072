"""The Xavier row explained: why the book's init under SDLM trains as it does -- per pass, the test error and
the fraction of SDLM rates at the cap eta/mu, beside the conv-fans reading, the faithful init and plain online
SGD; the weight bounds of both inits."""

from __future__ import annotations

import pandas as pd

from ..run.runner import Outcome
from ..verdicts import mean_sd
from .ablations import ENDPOINT_1998
from .table3 import errors, runs_of


XAVIER_ROW = "alone-1998/xavier"


XAVIER_COLUMNS = [("book's init, SDLM", XAVIER_ROW), ("conv-fans Xavier, SDLM", "xavier/conv-fans"),
                  ("faithful init, SDLM", ENDPOINT_1998), ("book's init, online SGD", "xavier/d2l-online-sgd")]


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Per pass, across the seeds every column has: test error and (SDLM) the fraction of rates at the cap
    eta/mu (h_kk ~ 0), overall and for the C5 and F6 weights; for the book's init under SDLM, the
    earlier conv-fans Xavier reading, the faithful init, and the book's init under plain online SGD."""
    cols = [(name, runs_of(outcomes, i)) for name, i in XAVIER_COLUMNS]
    cols = [(n, r) for n, r in cols if r]
    if not cols or not runs_of(outcomes, XAVIER_ROW):
        return pd.DataFrame()
    seeds = sorted(set.intersection(*[set(r) for _, r in cols]))
    if not seeds:
        return pd.DataFrame()
    passes = min(len(r[s]["metrics"]) for _, r in cols for s in seeds)
    rows = []
    for p in range(passes):
        row = {"pass": p + 1}
        for name, runs in cols:
            e = [runs[s]["metrics"][p]["test_error"] for s in seeds]
            row[f"{name}: test error %"] = f"{sum(e) / len(e):.2f} +- {mean_sd(e)[1]:.2f}" if len(e) > 1 else f"{e[0]:.2f}"
            cap = [runs[s]["metrics"][p].get("rate_capped") for s in seeds]
            if all(c is not None for c in cap):
                row[f"{name}: rates at eta/mu"] = f"{100 * sum(cap) / len(cap):.0f} %"
                per = [(runs[s].get("sdlm") or {}).get("capped_per_pass") or [] for s in seeds]
                for t in ("C5.weight", "F6.weight"):
                    vals = [x[p][t] for x in per if len(x) > p and t in x[p]]
                    if len(vals) == len(seeds):
                        row[f"{name}: {t} at eta/mu"] = f"{100 * sum(vals) / len(vals):.0f} %"
        rows.append(row)
    return pd.DataFrame(rows)


def paragraph(outcomes: list[Outcome]) -> str:
    xav, base = runs_of(outcomes, XAVIER_ROW), runs_of(outcomes, ENDPOINT_1998)
    seeds = sorted(s for s in xav if s in base)
    if not seeds or any(m.get("rate_capped") is None for s in seeds for m in xav[s]["metrics"]):
        return "_(the Xavier explanation needs the alone-1998/xavier runs with their per-pass rate diagnostics)_"

    def capped(runs, p):
        vals = [runs[s]["metrics"][p].get("rate_capped") for s in seeds]
        return None if None in vals else 100 * sum(vals) / len(vals)

    def pair(p):
        x, b = capped(xav, p), capped(base, p)
        return f"{x:.0f} % (faithful " + (f"{b:.0f} %)" if b is not None else "not recorded: its runs predate the diagnostic)")

    last = len(xav[seeds[0]]["metrics"]) - 1
    ex = [xav[s]["final"]["test_error"] for s in seeds]
    eb = [base[s]["final"]["test_error"] for s in seeds]
    bounds = init_bounds()
    smaller = ", ".join(f"{t.split('.')[0]} {b['d2l']:.3g} vs {b['faithful']:.3g}" for t, b in bounds.items())
    return (f"Over {len(seeds)} seeds the book's init under SDLM ends at {sum(ex) / len(ex):.2f} % "
            f"(range {min(ex):.2f} .. {max(ex):.2f}) against {sum(eb) / len(eb):.2f} % for the faithful init on the same "
            f"seeds. The fraction of SDLM rates at the cap eta/mu (h_kk <= mu/9: almost no curvature, so the largest "
            f"step): pass 1 {pair(0)}" + (f", pass 2 {pair(1)}" if last >= 1 else "") + f", last pass {pair(last)}. "
            f"h_kk of a weight is the squared input times the back-propagated curvature of its unit, which carries "
            f"f'(a)^2 of every squashed unit above it: it vanishes where those units saturate (f' ~ 0) or the inputs "
            f"are ~0. The weight bounds (Xavier with the book's fans vs 2.4/sqrt(F_i)): {smaller}. "
            + _xavier_others(outcomes) + "The table gives the figures per pass.")


def _xavier_others(outcomes: list[Outcome]) -> str:
    out = ""
    for name, i in XAVIER_COLUMNS[1:]:
        e = errors(runs_of(outcomes, i))
        if e and i != ENDPOINT_1998:
            out += f"The {name} ({i}, {len(e)} seeds) ends at {sum(e) / len(e):.2f} % (range {min(e):.2f} .. {max(e):.2f}). "
    return out


def init_bounds() -> dict[str, dict[str, float]]:
    """The uniform bound of each weight tensor under the book's init and under the faithful one."""
    import torch

    from lenet1998.config import FAITHFUL
    from lenet1998.initialization import d2l_bounds, lecun_bounds
    from lenet1998.model import LeNet5

    m = LeNet5(FAITHFUL, generator=torch.Generator().manual_seed(0))
    d2l, ours = d2l_bounds(m), lecun_bounds(m, sqrt=True)

    def one(v):
        return float(v.max()) if isinstance(v, torch.Tensor) else float(v)

    return {t: {"d2l": one(d2l[t]), "faithful": one(ours[t])}
            for t in ("C1.weight", "C3.weight", "C5.weight", "F6.weight")}
