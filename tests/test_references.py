"""The shipped reference table is current, and the declared test bands agree with their sources."""

import pandas as pd
import pytest

from lenet_repro import references
from lenet_repro.errors import ConfigError

from .expected_results import BOOK_BANDS


def test_committed_references_csv_is_regenerated_exactly():
    committed = pd.read_csv(references.REFERENCES_CSV, keep_default_na=False)
    fresh = references.references_frame()
    assert list(committed.columns) == list(fresh.columns)
    assert committed.to_csv(index=False) == fresh.to_csv(index=False), \
        "run `python -m lenet_repro.references --write` and commit lenet_repro/data/references.csv"


def test_paper_numbers():
    r = references.get_reference("paper-lenet5")
    assert (r.value, r.uncertainty, r.dataset, r.metric) == (0.95, 0.1, "mnist", "test_error")
    assert references.get_reference("paper-lenet5-distortions").value == 0.8
    assert references.get_reference("paper-lenet5-train").value == 0.35
    assert references.get_reference("paper-fig9-lenet-4").value == 1.1


def test_book_spread_is_over_distinct_builds():
    b = references.book_builds()
    assert len(b) == 217  # distinct printed lines among 699 stored builds
    r = references.get_reference("d2l-classic-test-acc")
    assert (r.low, r.high, r.n_builds) == (0.7, 0.836, 217)


@pytest.mark.parametrize("band", BOOK_BANDS, ids=lambda b: f"{b.recipe}-{b.metric}")
def test_declared_bands_contain_the_books_range(band):
    col = {"test_acc": "test_acc", "train_acc": "train_acc", "train_loss": "loss"}[band.metric]
    s = references.book_builds()[col]
    assert band.low <= s.min() and s.max() <= band.high


def test_unknown_reference_is_one_line():
    with pytest.raises(ConfigError, match="unknown reference id 'paper-lenet7'") as e:
        references.get_reference("paper-lenet7")
    assert "\n" not in str(e.value)


def test_each_recipe_is_compared_with_its_headline_number():
    assert references.headline_reference("lenet5-1998").id == "paper-lenet5"
    assert references.headline_reference("lenet5-1998-distortions").id == "paper-lenet5-distortions"
    assert references.headline_reference("classic").id == "d2l-classic-test-acc"  # all builds, not one framework
    assert references.headline_reference("zh-1st").id == "d2l-zh1-test-acc"
    assert references.reference_for("lenet5-1998", "train_error").id == "paper-lenet5-train"
    assert references.reference_for("lenet5-1998-distortions", "train_error") is None
    assert references.headline_reference("exercise-relu") is None


