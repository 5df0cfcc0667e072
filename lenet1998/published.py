"""Our LeNet-5 run beside the paper's numbers (LeCun et al. 1998, Sec. III-C.2 and Fig. 9).

The published numbers themselves live in the shared reference table (lenet_repro/data/references.csv).
"""

from __future__ import annotations

from lenet_repro.references import headline_reference, reference_for

from .recipes import LENET1998_RECIPES


def comparable_recipe(config: dict) -> str:
    """The named recipe whose published numbers a run with this config (a record's "config", or
    `LeNet5Config.to_dict()`) is compared with.

    Training with distortions is the Sec. III-C.2 experiment (0.8 %) under whichever recipe name the run
    was started (`lenet train lenet5-1998 --distortions` too); without them it is the plain one (0.95 %).
    A run with Lush's criterion is LeCun's Lush demo, compared with QMNIST's re-run of it (0.82 %).
    """
    if config.get("loss") == "lush-edist":  # LeCun's Lush demo (its own published re-run: QMNIST's)
        return "lenet5-lush-demo"
    distortions = bool(config.get("distortions"))
    return next(name for name in ("lenet5-1998", "lenet5-1998-distortions")
                if LENET1998_RECIPES[name].distortions == distortions)


def describe_paper(record: dict) -> str:
    """Our error beside the paper's (printed by `lenet train lenet5-1998`)."""
    f = record["final"]
    recipe = comparable_recipe(record["config"])
    ref, train_ref = headline_reference(recipe), reference_for(recipe, "train_error")
    paper = (f"{'paper' if ref.id.startswith('paper') else 'published'} ({ref.source}): test error {ref.value:.2f}% (+-{ref.uncertainty:.1f}), "
             f"about {round(ref.value * f['test_n'] / 100)} misses")
    if train_ref:
        paper += f"; training error {train_ref.value:.2f}% ({train_ref.source})"
    return "\n".join([
        f"ours ({record['recipe']}, seed {record['seed']}): test error {f['test_error']:.2f}% "
        f"({f['test_misses']} misses of {f['test_n']}), training error {f['train_error']:.2f}%", paper])
