"""The held-out sweeps of the faithful network's open constants -- j (Eq. 9) and the distortion ranges
(Sec. III-C): each row against the default's by THE CHANGE RULE (seed-matched paired t, Holm over the table;
McNemar's pooled digits descriptive), every row without its failed runs (THE FAILED-RUN RULE), which are named;
and the noise margin of a sweep's winner. `change_rows` is the rows' statistics, which the open choices' table
(open_choices.py) shares."""

from __future__ import annotations

import math

import pandas as pd

from ..run.plan import sweep_default_id
from ..run.runner import Outcome
from ..stats import rowruns
from ..verdicts import change_verdict, format_p, holm, mean_sd, paired


def change_rows(outcomes, exp_ids, baseline_id):
    """Each row against the baseline by THE CHANGE RULE (paired t over seed-matched good pairs, Holm over the
    rows); McNemar's pooled digits descriptive; failed runs named and left out."""
    base = rowruns.of(outcomes, baseline_id)
    bmean = mean_sd([r["final"]["test_error"] for r in base.good])[0]
    rows, tests = [], []
    for exp_id in exp_ids:
        ex = next((o.item.experiment for o in outcomes if o.item.experiment.id == exp_id), None)
        if ex is None:
            continue
        split = rowruns.of(outcomes, exp_id)
        if not split.good:
            rows.append({"step": ex.step or "", "change": ex.label, "seeds": split.n,
                         "test error %": (f"ALL FAILED ({split.failed_note()})" if split.failed else "CRASHED")})
            tests.append(None)
            continue
        good = split.good
        m = mean_sd([r["final"]["test_error"] for r in good])[0]
        e = split.estimate
        p = paired(split.good_by_seed(), base.good_by_seed()) if exp_id != baseline_id else None
        tests.append(p)
        rows.append({"step": ex.step if ex.step is not None else "", "change": ex.label,
                     "seeds": len(good) if not split.failed else f"{len(good)} ({split.failed_note()})",
                     "passes": len(good[0]["metrics"]),
                     "test error %": f"{m:.2f}", "95% CI %": f"{e.lo:.2f}-{e.hi:.2f}",
                     "train error %": f"{mean_sd([r['final']['train_error'] for r in good])[0]:.2f}",
                     "vs faithful (points)": (f"{p.diff:+.2f}" if p else "-") if not math.isnan(bmean) else "-",
                     "paired 95% CI": f"{p.low:+.2f} .. {p.high:+.2f}" if p and p.n > 1 else "-",
                     "missed only by faithful / only by this": f"{p.only_ref} / {p.only_this}" if p else "-",
                     "McNemar p (descriptive)": format_p(p.mcnemar_p) if p else "-"})
    adj = holm([t.p if t else math.nan for t in tests])
    for r, t, a in zip(rows, tests, adj):
        if "passes" in r:
            r["Holm p (paired t)"] = format_p(a) if t else "-"
            r["verdict"] = change_verdict(t, a) if t else "(baseline)"
    return rows


def table(outcomes: list[Outcome], group: str) -> pd.DataFrame:
    """A held-out sweep (j, distortion ranges), rows in plan order; changes relative to the default's row."""
    baseline_id = sweep_default_id(group)
    sweep = list(dict.fromkeys(o.item.experiment.id for o in outcomes if o.item.experiment.group == group))
    if not sweep or baseline_id not in sweep:
        return pd.DataFrame()
    rows = change_rows(outcomes, sweep, baseline_id)
    for exp_id, r in zip(sweep, rows):
        r.pop("step", None)
        if exp_id == baseline_id:
            r["change"] += " (default)"
        r["vs default (points)"] = r.pop("vs faithful (points)", "-")
        r["missed only by default / only by this"] = r.pop("missed only by faithful / only by this", "-")
        r["held-out error %"] = r.pop("test error %")
    cols = ["change", "seeds", "passes", "held-out error %", "95% CI %", "train error %", "vs default (points)",
            "paired 95% CI", "Holm p (paired t)", "verdict", "missed only by default / only by this",
            "McNemar p (descriptive)"]
    return pd.DataFrame(rows).reindex(columns=cols)


def winner_margin(outcomes: list[Outcome], group: str) -> str:
    """How far a held-out sweep's winner (lowest mean held-out error over its good seeds) stands from its
    runner-up, by THE CHANGE RULE on their seed-matched pairs: the noise margin of the choice."""
    ids = list(dict.fromkeys(o.item.experiment.id for o in outcomes if o.item.experiment.group == group))
    scored = []
    for i in ids:
        split = rowruns.of(outcomes, i)
        if split.good:
            scored.append((mean_sd([r["final"]["test_error"] for r in split.good])[0], i, split))
    if len(scored) < 2:
        return ""
    scored.sort(key=lambda x: x[0])
    (m1, i1, s1), (m2, i2, s2) = scored[:2]
    label = {o.item.experiment.id: o.item.experiment.label.split(":")[0] for o in outcomes}
    p = paired(s1.good_by_seed(), s2.good_by_seed())
    if p is None or p.n < 2:
        return (f"the winner ({label[i1]}, {m1:.2f} %) and the runner-up ({label[i2]}, {m2:.2f} %) share fewer than "
                f"two seeds: the margin is not resolved")
    resolved = change_verdict(p, p.p)
    return (f"the winner ({label[i1]}, {m1:.2f} %) beats the runner-up ({label[i2]}, {m2:.2f} %) by {-p.diff:.2f} points "
            f"over {p.n} seed-matched pairs (paired t 95 % CI {-p.high:+.2f} .. {-p.low:+.2f}, p {format_p(p.p)}): "
            + ("beyond noise" if not resolved.startswith("not") else f"within noise, {resolved}"))
