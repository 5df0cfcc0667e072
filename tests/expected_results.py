"""Every accuracy band the tests assert, declared once: (recipe, metric, low, high, source).

The textbook bands come from the book's own builds of the recipe (every distinct printed line in
lenet_repro/data/d2l_lenet_printed_results.csv); `test_references.py` checks that each band
contains the book's range, so a band cannot silently drift away from its source.
"""

from collections import namedtuple

Band = namedtuple("Band", "recipe metric low high source")

BOOK_BANDS = [
    Band("classic", "test_acc", 0.70, 0.84, "d2l builds: test acc 0.700-0.836 (all frameworks)"),
    Band("classic", "train_acc", 0.80, 0.84, "d2l builds: train acc 0.803-0.839"),
    Band("classic", "train_loss", 0.43, 0.52, "d2l builds: loss 0.436-0.512"),
]

# Short faithful runs on real MNIST (CI): bands measured here, deliberately loose (seed-to-seed
# spread of a one-pass run), see tests/test_lenet1998_training.py.
LENET1998_BANDS = [
    Band("lenet5-1998 1 pass", "test_error", 0.5, 3.5, "measured: one full pass of the faithful recipe"),
]


def band(recipe: str, metric: str) -> Band:
    for b in BOOK_BANDS + LENET1998_BANDS:
        if b.recipe == recipe and b.metric == metric:
            return b
    raise KeyError((recipe, metric))
