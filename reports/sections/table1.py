"""Table 1: the textbook LeNet (modern/) against the book's printed numbers -- our mean +- sd over seeds
beside the distribution over the book's own builds of identical code, and every textbook run in detail."""

from __future__ import annotations

import math

import pandas as pd

from lenet_repro.references import load_references

from ..run.runner import Outcome
from ..verdicts import mean_sd, within_range
from .common import crashed, finished, fmt_ms


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    refs = load_references()
    rows = []
    recipes = []
    for o in outcomes:
        if o.item.experiment.group == "textbook" and o.item.experiment.recipe not in recipes:
            recipes.append(o.item.experiment.recipe)
    from modern.recipes import get_recipe

    for recipe in recipes:
        runs = finished(outcomes, f"textbook/{recipe}")
        accs = [o.record["final"]["test_acc"] for o in runs]
        full_length = all(len(o.record["metrics"]) == get_recipe(recipe).epochs and o.record["final"]["test_n"] == 10000
                          for o in runs)
        ours = fmt_ms(accs) + (f"; {len(crashed(outcomes, f'textbook/{recipe}'))} FAILED"
                                if crashed(outcomes, f"textbook/{recipe}") else "")
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


def detail(outcomes: list[Outcome]) -> pd.DataFrame:
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
