"""`lenet train` prints our numbers beside the published ones: the paper's for LeNet-5, the book's for
the textbook recipes."""

from lenet1998.published import comparable_recipe, describe_paper
from lenet1998.recipes import LENET1998_RECIPES
from modern.published import describe_book


def _lenet5(distortions):
    return {"recipe": "lenet5-1998", "seed": 0, "config": {"distortions": distortions},
            "final": {"test_error": 0.9, "test_misses": 90, "test_n": 10000, "train_error": 0.3}}


def test_a_run_with_distortions_is_compared_with_the_distortions_experiment():
    assert comparable_recipe(_lenet5(False)["config"]) == "lenet5-1998"
    assert comparable_recipe(_lenet5(True)["config"]) == "lenet5-1998-distortions"  # whatever recipe it ran as
    assert comparable_recipe(LENET1998_RECIPES["lenet5-1998-distortions"].to_dict()) == "lenet5-1998-distortions"


def test_describe_paper():
    plain, dist = describe_paper(_lenet5(False)), describe_paper(_lenet5(True))
    assert "test error 0.90% (90 misses of 10000)" in plain
    assert "test error 0.95% (+-0.1), about 95 misses; training error 0.35%" in plain
    assert "test error 0.80% (+-0.1), about 80 misses" in dist
    assert "training error 0.35%" not in dist  # the paper gives no training error with distortions


def test_describe_book():
    final = {"train_loss": 0.47, "train_acc": 0.82, "test_acc": 0.95}
    text = describe_book({"recipe": "classic", "seed": 1, "final": final})
    lines = text.splitlines()
    assert lines[0] == "ours (classic, seed 1): loss 0.470, train acc 0.820, test acc 0.950"
    assert [line.split()[1] for line in lines[1:]] == ["test", "train", "loss"]  # the book's three printed numbers
    assert "range 0.700-0.836 over 217 builds [d2l-classic-test-acc]: ours 0.950 (verdict: `lenet check`" in lines[1]
    assert "ours 0.820" in lines[2]
    single = describe_book({"recipe": "zh-1st", "seed": 0, "final": final})
    assert "book  test acc  0.754 (one build) [d2l-zh1-test-acc]: ours 0.950" in single
    none = describe_book({"recipe": "exercise-relu", "seed": 0, "final": final})
    assert none.endswith("book: no printed number for recipe 'exercise-relu'")
