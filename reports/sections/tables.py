"""The report's tables, built from run records only (never typed by hand).

- `results_frame`: one row per run (results.csv), with provenance columns;
- Table 1: textbook runs vs the book's builds;
- Table 2: the faithful network vs the paper (THE VERDICT RULE, reports/verdicts/);
- the open choices and the held-out sweeps (j, distortion ranges): each row against its baseline by THE
  CHANGE RULE (seed-matched paired t, Holm over the table; McNemar descriptive);
every row without its failed runs (THE FAILED-RUN RULE), which are named.
"""

from __future__ import annotations

import math

import pandas as pd

from lenet_repro.references import headline_reference, load_references

from ..stats import rowruns
from ..run.plan import experiments, sweep_default_id
from ..run.runner import Outcome
from ..verdicts import (change_verdict, clopper_pearson, estimate_one, format_p, holm, judge, mean_sd, paired,
                       within_range)


def results_frame(outcomes: list[Outcome]) -> pd.DataFrame:
    rows = []
    for o in outcomes:
        ex, rec = o.item.experiment, o.record
        row = {"experiment": ex.id, "group": ex.group, "label": ex.label, "family": ex.family, "recipe": ex.recipe,
               "seed": o.item.seed, "status": "ok" if rec else "crashed", "error": o.error or ""}
        if rec:
            why = dict((id(r), f) for r, f in rowruns.of(outcomes, ex.id).failed).get(id(rec))
            row["status"] = "failed" if why else "ok"
            row["failed_because"] = str(why) if why else ""
        if rec:
            f, p = rec["final"], rec["provenance"]
            row.update(
                dataset=rec["dataset"], test_acc=f.get("test_acc"), test_error=f.get("test_error"),
                test_misses=f.get("test_misses"), test_n=f.get("test_n"), train_acc=f.get("train_acc"),
                train_error=f.get("train_error"), train_loss=f.get("train_loss"),
                examples_per_s=f.get("examples_per_s"), epochs_or_passes=len(rec["metrics"]),
                wall_seconds=p.get("wall_seconds"), train_seconds=p.get("train_seconds"),
                device=p.get("device"), device_name=p.get("device_name"), backend=p.get("backend", "torch"),
                torch=p.get("torch"), torchvision=p.get("torchvision"), python=p.get("python"),
                git_commit=p.get("git_commit"), git_dirty=p.get("git_dirty"), started_at=p.get("started_at"),
                finished_at=p.get("finished_at"), run_id=rec["run_id"], run_dir=str(o.run_dir))
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt_ms(values: list[float], digits: int = 3) -> str:
    m, sd = mean_sd(values)
    if math.isnan(m):
        return "-"
    return f"{m:.{digits}f}" + (f" +- {sd:.{digits}f}" if not math.isnan(sd) else "") + f" (n={len(values)})"


def _ok(outcomes, exp_id):
    return [o for o in outcomes if o.item.experiment.id == exp_id and o.record]


def _failed(outcomes, exp_id):
    return [o for o in outcomes if o.item.experiment.id == exp_id and not o.record]


# ---- Table 1 -------------------------------------------------------------------------------------

def table_textbook(outcomes: list[Outcome]) -> pd.DataFrame:
    refs = load_references()
    rows = []
    recipes = []
    for o in outcomes:
        if o.item.experiment.group == "textbook" and o.item.experiment.recipe not in recipes:
            recipes.append(o.item.experiment.recipe)
    from modern.recipes import get_recipe

    for recipe in recipes:
        runs = _ok(outcomes, f"textbook/{recipe}")
        accs = [o.record["final"]["test_acc"] for o in runs]
        full_length = all(len(o.record["metrics"]) == get_recipe(recipe).epochs and o.record["final"]["test_n"] == 10000
                          for o in runs)
        ours = _fmt_ms(accs) + (f"; {len(_failed(outcomes, f'textbook/{recipe}'))} FAILED"
                                if _failed(outcomes, f"textbook/{recipe}") else "")
        mean = mean_sd(accs)[0]
        book = [r for r in refs.values() if r.recipe == recipe and r.metric == "test_acc"]
        if not book:
            rows.append({"recipe": recipe, "book (edition, framework)": "no printed number", "builds": 0,
                         "book test acc min / median / max": "-", "ours test acc mean +- sd": ours,
                         "inside the book's spread": "-"})
            continue
        for r in book:
            if r.kind == "spread":
                spread = f"{r.low:.3f} / {r.value:.3f} / {r.high:.3f}"
            else:
                spread = f"{r.value:.3f} (one build; +-{r.uncertainty:.3f} assumed)"
            inside = ("-" if math.isnan(mean) else "n/a (shortened run)" if not full_length
                      else "yes" if within_range(mean, r.low, r.high) == "consistent" else "NO")
            rows.append({"recipe": recipe, "book (edition, framework)": r.source, "builds": r.n_builds,
                         "book test acc min / median / max": spread, "ours test acc mean +- sd": ours,
                         "inside the book's spread": inside})
    return pd.DataFrame(rows)


def table_textbook_detail(outcomes: list[Outcome]) -> pd.DataFrame:
    """Loss / train acc / test acc / examples per second of every textbook run, beside the book's ranges."""
    rows = []
    for o in outcomes:
        if o.item.experiment.group != "textbook" or not o.record:
            continue
        f = o.record["final"]
        rows.append({"recipe": o.item.experiment.recipe, "seed": o.item.seed, "epochs": len(o.record["metrics"]),
                     "loss": round(f["train_loss"], 3), "train acc": round(f["train_acc"], 3),
                     "test acc": round(f["test_acc"], 3), "examples/s": round(f["examples_per_s"]),
                     "device": o.record["provenance"]["device_name"]})
    return pd.DataFrame(rows)


# ---- Table 2 -------------------------------------------------------------------------------------

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


def table_faithful(outcomes: list[Outcome]) -> pd.DataFrame:
    """Table 2: every seed (its own binomial interval and verdict) and the row (mean over the good seeds, THE
    ROW UNCERTAINTY, THE VERDICT RULE); failed runs named, never averaged in."""
    from lenet_repro.references import get_reference

    rows = []
    for ex in experiments("faithful"):
        runs_ok = _ok(outcomes, ex.id)
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
        for o in _failed(outcomes, ex.id):
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


def faithful_numeric(outcomes: list[Outcome]) -> pd.DataFrame:
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


# ---- Table 3 and the j sweep ----------------------------------------------------------------------

def _ablation_rows(outcomes, exp_ids, baseline_id):
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


def table_ablation(outcomes: list[Outcome], group: str, baseline_id: str) -> pd.DataFrame:
    ids = []
    for o in outcomes:
        if o.item.experiment.group == group and o.item.experiment.id not in ids + [baseline_id]:
            ids.append(o.item.experiment.id)
    if not ids:
        return pd.DataFrame()
    rows = _ablation_rows(outcomes, [baseline_id] + ids, baseline_id)
    if rows and rows[0]["change"].startswith("0."):
        rows[0]["step"] = 0
        rows[0]["change"] = "faithful LeNet-5 (baseline)"
    df = pd.DataFrame(rows)
    return df if group == "ladder" else df.drop(columns=["step"], errors="ignore")


def table_sweep(outcomes: list[Outcome], group: str) -> pd.DataFrame:
    """A held-out sweep (j, distortion ranges), rows in plan order; changes relative to the default's row."""
    baseline_id = sweep_default_id(group)
    sweep = list(dict.fromkeys(o.item.experiment.id for o in outcomes if o.item.experiment.group == group))
    if not sweep or baseline_id not in sweep:
        return pd.DataFrame()
    rows = _ablation_rows(outcomes, sweep, baseline_id)
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


def readings_rows(outcomes: list[Outcome]) -> list[dict]:
    """One row per configuration of the `readings` factorial: held-out error, pass-1 rates, the rule's checks
    (reports/stats/selection.py) over every seed."""
    from ..stats.selection import CRITERIA, verdict

    rows = []
    for exp_id in dict.fromkeys(o.item.experiment.id for o in outcomes if o.item.experiment.group == "readings"):
        runs = _ok(outcomes, exp_id)
        if not runs:
            continue
        split = rowruns.of(outcomes, exp_id)
        good_ids = {id(r) for r in split.good}
        vs = [verdict(o.record) for o in runs]
        per_param: dict[str, list] = {}
        for o in runs:
            for name, (lo, hi) in ((o.record.get("sdlm") or {}).get("pass1_rates") or {}).get("per_parameter", {}).items():
                per_param.setdefault(name, []).append((lo, hi))
        pinned = sorted(n for n, v in per_param.items() if max(h for _, h in v) >= 0.0249)
        errors = [o.record["final"]["test_error"] for o in runs if id(o.record) in good_ids] or [math.nan]
        rows.append({
            "failed": split.failed_note(), "verdicts": vs,
            "id": exp_id, "label": runs[0].item.experiment.label, "seeds": len(runs),
            "heldout": sum(errors) / len(errors), "errors": errors,
            "rate_min": min(v.rate_min for v in vs if v.rate_min is not None) if any(v.rate_min for v in vs) else None,
            "rate_max": max(v.rate_max for v in vs if v.rate_max is not None) if any(v.rate_max for v in vs) else None,
            "pinned": pinned, "checks": {c: [v.checks[c] for v in vs] for c in CRITERIA},
            "running": [v.running_train for v in vs], "consistent": all(v.consistent for v in vs),
            "met": min(v.met for v in vs), "passes": runs[0].record["config"]["passes"],
        })
    return rows


def table_readings(outcomes: list[Outcome]) -> tuple[pd.DataFrame, str]:
    """The factorial of the open readings, with the rule's verdict per configuration and the choice."""
    from ..stats.selection import CRITERIA, choose

    rows = readings_rows(outcomes)
    chosen, how = choose(rows)

    def mark(vals):
        return "/".join("-" if v is None else ("yes" if v else "no") for v in vals)

    out = []
    for r in sorted(rows, key=lambda r: (math.isnan(r["heldout"]), r["heldout"])):
        out.append({
            "readings": r["label"] + (" **(chosen)**" if chosen and r["id"] == chosen["id"] else ""),
            "seeds": r["seeds"], "passes": r["passes"],
            "held-out error %": _fmt_ms(r["errors"], 2) + (f"; {r['failed']}" if r["failed"] else ""),
            "pass-1 rates": (f"{r['rate_min']:.2g} .. {r['rate_max']:.2g}" if r["rate_min"] is not None else "-"),
            "pinned at eta/mu": ", ".join(r["pinned"]) or "none",
            **{c: mark(r["checks"][c]) for c in CRITERIA},
            "on-the-fly train err % (pass 19)": "/".join("-" if v is None else f"{v:.2f}" for v in r["running"]),
            "verdict": "consistent" if r["consistent"] else f"{r['met']} of {len(CRITERIA)}",
        })
    return pd.DataFrame(out), how


def table_readings_layers(outcomes: list[Outcome]) -> pd.DataFrame:
    """Pass-1 effective rates per parameter tensor for every configuration of the readings (smallest and
    largest over its seeds): where each configuration's range comes from."""
    out = []
    for r in sorted(readings_rows(outcomes), key=lambda r: (math.isnan(r["heldout"]), r["heldout"])):
        runs = _ok(outcomes, r["id"])
        per: dict[str, list] = {}
        for o in runs:
            for name, (lo, hi) in ((o.record.get("sdlm") or {}).get("pass1_rates") or {}).get("per_parameter", {}).items():
                per.setdefault(name, []).append((lo, hi))
        out.append({"readings": r["label"], **{n: f"{min(v[0] for v in vs):.1e} .. {max(v[1] for v in vs):.1e}"
                                               for n, vs in per.items()}})
    return pd.DataFrame(out)


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

