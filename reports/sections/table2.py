"""Table 2: the faithful LeNet-5 against the paper -- every seed (its own Clopper-Pearson interval and
verdict) and the row (mean over the good seeds, THE ROW UNCERTAINTY, THE VERDICT RULE: reports/verdicts/);
failed runs named, never averaged in; the numbers for CSV and LaTeX; the first pass's effective rates."""

from __future__ import annotations

import pandas as pd

from lenet_repro.references import headline_reference

from ..run.plan import experiments
from ..run.runner import Outcome
from ..stats import rowruns
from ..verdicts import clopper_pearson, estimate_one, judge, mean_sd
from .common import crashed, finished


def _ci_str(k: int, n: int) -> str:
    lo, hi = clopper_pearson(k, n)
    return f"{100 * lo:.2f}-{100 * hi:.2f}"


def running_train_error(record: dict, at_pass: int = 19) -> float | None:
    """The on-the-fly training error (the running error during pass `at_pass`), what the paper's Fig. 5
    caption quotes (0.35 % after 19 passes) -- not the error of the final weights on the training set."""
    return next((m["train_error_running"] for m in record["metrics"] if m["pass"] == at_pass), None)


def commits_note(records: list[dict]) -> str:
    """'' when every record of a row comes from one commit with a clean tree and one numeric build, else a
    loud note: a headline row must not mix them (issue 10)."""
    from lenet1998.fast.build import record_numeric_build

    commits = {((r["provenance"].get("git_commit") or "?")[:10], bool(r["provenance"].get("git_dirty")))
               for r in records}
    builds = {record_numeric_build(r) for r in records if r["family"] == "lenet1998"}
    problems = []
    if len(commits) > 1:
        problems.append(f"{len(commits)} commits")
    if any(d for _, d in commits):
        problems.append("a dirty tree")
    if len(builds) > 1:
        problems.append(f"{len(builds)} numeric builds")
    return f"**MIXED: {', '.join(problems)}**" if problems else ""


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Table 2: every seed (its own binomial interval and verdict) and the row (mean over the good seeds, THE
    ROW UNCERTAINTY, THE VERDICT RULE); failed runs named, never averaged in."""
    from lenet_repro.references import get_reference

    rows = []
    for ex in experiments("faithful"):
        runs_ok = finished(outcomes, ex.id)
        split = rowruns.of(outcomes, ex.id, holdout=False)
        why = {id(r): f for r, f in split.failed}
        ref = get_reference(headline_reference(ex.recipe).id)
        for o in runs_ok:
            f = o.record["final"]
            full = f["test_n"] == 10000
            v = judge(ref, f["test_error"], estimate_one(f["test_misses"], f["test_n"])).outcome if full else "n/a (subset)"
            if id(o.record) in why:
                v = f"FAILED: {why[id(o.record)]}"
            rows.append({"model": ex.recipe, "seed": o.item.seed, "passes": len(o.record["metrics"]),
                         "test error %": f"{f['test_error']:.2f}", "misses": f"{f['test_misses']}/{f['test_n']}",
                         "95% CI %": _ci_str(f["test_misses"], f["test_n"]),
                         "train error %": f"{f['train_error']:.2f}",
                         "on-the-fly train error % (pass 19)": (f"{running_train_error(o.record):.2f}"
                                                                if running_train_error(o.record) is not None else "-"),
                         "paper %": f"{ref.value} +- {ref.uncertainty}", "verdict": v})
        for o in crashed(outcomes, ex.id):
            rows.append({"model": ex.recipe, "seed": o.item.seed, "test error %": "CRASHED", "verdict": o.error})
        good = split.good
        if len(good) > 1:
            e = split.estimate
            m, sd = mean_sd([r["final"]["test_error"] for r in good])
            full = all(r["final"]["test_n"] == 10000 for r in good)
            note = commits_note(good)
            rows.append({"model": ex.recipe, "seed": f"mean of {len(good)}" + (f" {note}" if note else "")
                         + (f" ({split.failed_note()})" if split.failed else ""),
                         "passes": len(good[0]["metrics"]),
                         "test error %": f"{m:.2f} +- {sd:.2f}", "misses": "-",
                         "95% CI %": f"{e.lo:.2f}-{e.hi:.2f}",
                         "train error %": f"{mean_sd([r['final']['train_error'] for r in good])[0]:.2f}",
                         "on-the-fly train error % (pass 19)": (
                             f"{mean_sd([running_train_error(r) for r in good])[0]:.2f}"
                             if all(running_train_error(r) is not None for r in good) else "-"),
                         "paper %": f"{ref.value} +- {ref.uncertainty}",
                         "verdict": judge(ref, m, e).outcome if full else "n/a (subset)"})
    return pd.DataFrame(rows)


def numeric(outcomes: list[Outcome]) -> pd.DataFrame:
    """Table 2's rows as numbers (for CSV and LaTeX): one row per recipe, over its good seeds."""
    from lenet_repro.references import get_reference

    from ..verdicts import reference_se

    out = []
    for ex in experiments("faithful"):
        split = rowruns.of(outcomes, ex.id, holdout=False)
        if not split.good:
            continue
        ref = get_reference(headline_reference(ex.recipe).id)
        e = split.estimate
        m, sd = mean_sd([r["final"]["test_error"] for r in split.good])
        full = all(r["final"]["test_n"] == 10000 for r in split.good)
        out.append({"model": ex.recipe, "seeds": len(split.good), "failed": len(split.failed),
                    "test_error_mean": round(m, 4), "test_error_sd": None if len(split.good) < 2 else round(sd, 4),
                    "ci_low": round(e.lo, 4), "ci_high": round(e.hi, 4), "paper": ref.value,
                    "paper_se": round(reference_se(ref), 4),
                    "verdict": judge(ref, m, e).outcome if full else "n/a (subset)"})
    return pd.DataFrame(out)


LATEX_COLUMNS = {"model": "Model", "seeds": "$n$", "failed": "Failed", "test_error_mean": "Error (\\%)",
                 "test_error_sd": "sd", "ci_low": "CI low", "ci_high": "CI high", "paper": "Paper (\\%)",
                 "verdict": "Verdict"}


def latex(df: pd.DataFrame) -> str:
    """`numeric`'s frame as a booktabs table (reports/render/latex.py)."""
    from ..render.latex import booktabs

    return booktabs(df, LATEX_COLUMNS, "The faithful LeNet-5 against the paper (Table 2).", "tab:table2",
                    text=("model", "verdict"))


def rate_spread(outcomes: list[Outcome]) -> pd.DataFrame:
    """The effective SDLM learning rates eta / (mu + h_kk) of the first pass, per faithful seed (App. C)."""
    rows = []
    for o in outcomes:
        if o.item.experiment.id == "faithful/lenet5-1998" and o.record and o.record.get("sdlm", {}).get("pass1_rates"):
            r = o.record["sdlm"]["pass1_rates"]
            rows.append({"seed": o.item.seed, "smallest rate": f"{r['min']:.2g}", "median": f"{r['median']:.2g}",
                         "largest rate": f"{r['max']:.2g}", "paper (App. C)": "about 7e-05 .. 0.016"})
    return pd.DataFrame(rows)
