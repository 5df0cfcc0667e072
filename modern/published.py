"""Our textbook run beside the book's printed numbers (d2l-en 0.7-0.17 / d2l-zh 2.0 and the editions
of `modern.recipes`, section "Convolutional Neural Networks (LeNet)").

The book's numbers themselves live in the shared reference table (lenet_repro/data/references.csv).
"""

from __future__ import annotations

from lenet_repro.references import reference_for

# the metrics the book prints after training, in its order, with its wording
PRINTED = {"test_acc": "test acc", "train_acc": "train acc", "train_loss": "loss"}


def describe_book(record: dict) -> str:
    """Our final numbers beside the book's for the record's recipe (printed by `lenet train`)."""
    f = record["final"]
    lines = [f"ours ({record['recipe']}, seed {record['seed']}): loss {f['train_loss']:.3f}, "
             f"train acc {f['train_acc']:.3f}, test acc {f['test_acc']:.3f}"]
    for metric, name in PRINTED.items():
        r = reference_for(record["recipe"], metric)
        if r is None:
            continue
        ours = f[metric]
        if r.kind == "spread":  # the verdict on it is `lenet check`'s (reports/verdicts/published.py)
            lines.append(f"book  {name:<9} median {r.value:.3f}, range {r.low:.3f}-{r.high:.3f} over "
                         f"{r.n_builds} builds [{r.id}]: ours {ours:.3f} (verdict: `lenet check` on this run)")
        else:
            lines.append(f"book  {name:<9} {r.value:.3f} (one build) [{r.id}]: ours {ours:.3f}")
    if len(lines) == 1:
        lines.append(f"book: no printed number for recipe {record['recipe']!r}")
    return "\n".join(lines)
