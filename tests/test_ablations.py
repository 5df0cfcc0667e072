"""The ablation study's design (reports/sections/ablations.py): its ladders are one change per step, its textbook
end is the book's `exercise-mnist` in the 1998 code, and the two code paths compute the same function."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lenet1998.backends import Member, ReferenceBackend
from lenet1998.config import FAITHFUL
from lenet1998.initialization import initialize
from lenet1998.model import LeNet5
from lenet1998.preprocessing import to_input
from lenet_repro.errors import ConfigError
from modern.model import TextbookLeNet, init_weights
from modern.recipes import get_recipe
from reports.sections import ablations
from reports.sections.ablations import ALL, BACKWARD, CHANGES, ENDPOINT_TEXTBOOK, overrides_of, rows, textbook_config
from reports.run.plan import build_plan, experiments


def _config(applied):
    return FAITHFUL.replace(**overrides_of(applied))


def test_the_ladders_make_one_change_per_step_between_the_two_ends():
    by = {r.id: r for r in rows()}
    fwd = [r for r in rows() if r.group == "ladder"]
    back = [r for r in rows() if r.group == "ladder-back"]
    assert len(fwd) == len(back) == len(CHANGES) + 1
    assert fwd[0].applied == frozenset() and fwd[-1].applied == ALL and back[0].applied == ALL
    assert back[-1].applied == frozenset()
    for prev, cur in zip(fwd, fwd[1:]):
        assert cur.applied - prev.applied == {cur.change} and prev.applied <= cur.applied
    for prev, cur in zip(back, back[1:]):
        assert prev.applied - cur.applied == {cur.change} and cur.applied <= prev.applied
    # the backward ladder passes through other networks than the forward one (apart from its ends)
    assert not {r.applied for r in fwd[1:-1]} & {r.applied for r in back[1:-1]}
    # every change is a step of each ladder and a row of each each-alone table
    for group in ablations.GROUPS:
        assert sorted(r.change for r in rows() if r.group == group and r.change) == sorted(ablations.BY_KEY)
    assert by["alone-1998/minibatch"].applied == {"sgd", "minibatch"}
    assert by["alone-textbook/sgd"].applied == ALL - {"sgd", "minibatch"}  # online SDLM
    assert [r.change for r in back[1:]] == BACKWARD


def test_every_textbook_difference_is_its_own_step():
    fields = [set(c.overrides) - {"minibatch_size", "minibatch_lr", "loss"} for c in CHANGES]
    flat = [f for fs in fields for f in fs]
    assert flat.count("optimizer") == 2 and len(set(flat)) == len(flat) - 1
    assert {"activation", "subsampling", "c3_table", "output", "optimizer", "schedule", "passes", "init",
            "input_scaling", "pattern_order"} == set(flat)


def test_no_ladder_step_puts_a_sigmoid_against_the_rbf_codes():
    for r in rows():
        if r.group.startswith("ladder"):
            cfg = _config(r.applied)
            assert not (cfg.activation == "sigmoid" and cfg.output == "rbf"), r.id


def test_a_bad_set_of_changes_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="unknown ablation changes"):
        overrides_of({"dropout"})
    with pytest.raises(ConfigError, match="needs \\['sgd'\\]"):
        overrides_of({"minibatch"})
    with pytest.raises(ConfigError, match="not the book's classic network on MNIST"):
        textbook_config(get_recipe("exercise-relu"))


def test_the_textbook_end_is_exercise_mnist_in_the_1998_code():
    recipe = get_recipe("exercise-mnist")
    cfg = textbook_config(recipe)
    assert _config(ALL) == cfg
    ex = {e.id: e for e in experiments()}
    assert FAITHFUL.replace(**ex[ENDPOINT_TEXTBOOK].overrides) == cfg
    assert FAITHFUL.replace(**ex["ladder-back/00-textbook"].overrides) == cfg
    # the recipe's numbers, one by one
    assert (cfg.minibatch_size, cfg.minibatch_lr, cfg.passes) == (recipe.batch_size, recipe.lr, recipe.epochs)
    assert {cfg.rate(p) for p in range(cfg.passes)} == {cfg.rate(0)}  # constant rate
    assert (cfg.activation, cfg.subsampling, cfg.c3_table, cfg.output, cfg.loss) == (
        "sigmoid", "avgpool", "dense", "linear", "cross_entropy")
    # the endpoints get the headline seeds (10 in the full profile), every other row 5
    full = build_plan("full", only="ladder*,alone*")
    seeds = {}
    for it in full:
        seeds[it.experiment.id] = seeds.get(it.experiment.id, 0) + 1
    assert seeds[ENDPOINT_TEXTBOOK] == seeds["ladder/00-faithful"] == 10
    assert min(seeds.values()) == 5


def _copy_1998_to_book(m: LeNet5, book: TextbookLeNet) -> None:
    with torch.no_grad():
        book[0].weight.copy_(m.C1.weight), book[0].bias.copy_(m.C1.bias)
        book[3].weight.copy_(m.C3.dense_weight()), book[3].bias.copy_(m.C3.bias)
        book[7].weight.copy_(m.C5.weight.reshape(120, 400)), book[7].bias.copy_(m.C5.bias)
        book[9].weight.copy_(m.F6.weight), book[9].bias.copy_(m.F6.bias)
        book[11].weight.copy_(m.output.weight), book[11].bias.copy_(m.output.bias)


def _book_params_of(m: LeNet5) -> list[torch.Tensor]:
    return [m.C1.weight, m.C1.bias, m.C3.dense_weight(), m.C3.bias, m.C5.weight.reshape(120, 400), m.C5.bias,
            m.F6.weight, m.F6.bias, m.output.weight, m.output.bias]


def test_the_two_code_paths_compute_the_same_function_and_the_same_sgd_step():
    """Same weights -> same logits, same loss, same gradients, and the 1998 trainer's minibatch step
    (lenet1998/backends.py) equals torch.optim.SGD on the book's network (modern/train.py)."""
    cfg = textbook_config()
    m = LeNet5(cfg, generator=torch.Generator().manual_seed(3))
    book = TextbookLeNet(get_recipe("exercise-mnist").net)
    _copy_1998_to_book(m, book)
    g = torch.Generator().manual_seed(0)
    x01 = torch.rand(300, 28, 28, generator=g) * (torch.rand(300, 28, 28, generator=g) > 0.7)
    y = torch.randint(0, 10, (300,), generator=g)
    x98, xbook = to_input(x01, cfg.input_scaling), x01.unsqueeze(1)
    assert x98.shape == (300, 1, 32, 32) and float(x98[:, :, :2].abs().max()) == 0.0  # zero padding
    out98, outbook = m(x98), book(xbook)
    torch.testing.assert_close(out98, outbook, atol=2e-6, rtol=1e-5)
    l98, lbook = F.cross_entropy(out98, y), nn.CrossEntropyLoss()(outbook, y)
    torch.testing.assert_close(l98, lbook, atol=1e-6, rtol=1e-6)
    l98.backward(), lbook.backward()
    grads98 = torch.autograd.grad(F.cross_entropy(m(x98), y), [p for p in m.parameters()])
    gmap = dict(zip([n for n, _ in m.named_parameters()], grads98))
    dense_c3 = m.C3.dense_weight(gmap["C3.weight"])
    for ours, theirs in [(gmap["C1.weight"], book[0].weight.grad), (dense_c3, book[3].weight.grad),
                         (gmap["C5.weight"].reshape(120, 400), book[7].weight.grad),
                         (gmap["F6.weight"], book[9].weight.grad), (gmap["output.bias"], book[11].bias.grad)]:
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-4)
    # one pass of 300 patterns in batches of 256 (a full one and a partial one), both trainers' steps
    member = Member(cfg, m, m.get_flat(), images=x98, labels=y, order=torch.arange(300), pass_index=0)
    ReferenceBackend("cpu")._minibatch(member)
    m.set_flat(member.params)
    opt = torch.optim.SGD(book.parameters(), lr=cfg.minibatch_lr)
    for i in range(0, 300, cfg.minibatch_size):
        opt.zero_grad()
        nn.CrossEntropyLoss()(book(xbook[i:i + cfg.minibatch_size]), y[i:i + cfg.minibatch_size]).backward()
        opt.step()
    for ours, theirs in zip(_book_params_of(m), book.parameters()):
        torch.testing.assert_close(ours.detach(), theirs.detach(), atol=2e-6, rtol=1e-4)


def test_the_d2l_init_draws_from_the_books_bounds():
    """init="d2l": the bounds of nn.init.xavier_uniform_ and of torch's default biases on the book's modules."""
    cfg = textbook_config()
    m = LeNet5(cfg, generator=torch.Generator().manual_seed(0))
    book = TextbookLeNet(get_recipe("exercise-mnist").net)
    layers = [book[0], book[3], book[7], book[9], book[11]]
    for ours_w, ours_b, layer in zip(_book_params_of(m)[::2], _book_params_of(m)[1::2], layers):
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        wb, bb = (6.0 / (fan_in + fan_out)) ** 0.5, 1.0 / fan_in ** 0.5
        w, b = ours_w.detach().abs().max().item(), ours_b.detach().abs().max().item()
        assert wb * 0.97 < w <= wb and bb * 0.5 < b <= bb, layer
        # and the spread is uniform's: sd = bound / sqrt(3)
        assert abs(ours_w.detach().std().item() - wb / 3 ** 0.5) < 0.08 * wb
    # the book's own init_weights on its network: the same bounds
    init_weights(book, "xavier_uniform")
    for (ours_w, layer) in zip(_book_params_of(m)[::2], layers):
        w = ours_w.detach().abs().max().item()
        assert abs(layer.weight.detach().abs().max().item() - w) < 0.05 * w


def test_c5_as_a_convolution_is_a_dense_layer_on_the_flattened_s4():
    """C5's 5x5 kernels on a 5x5 S4 cover it exactly: the convolution is the book's Linear(400, 120)."""
    m = LeNet5(FAITHFUL, generator=torch.Generator().manual_seed(1))
    x4 = torch.randn(64, 16, 5, 5, generator=torch.Generator().manual_seed(2))
    conv = m.C5(x4).flatten(1)
    dense = F.linear(x4.flatten(1), m.C5.weight.reshape(120, 400), m.C5.bias)
    torch.testing.assert_close(conv, dense, atol=1e-5, rtol=1e-5)
    assert conv.shape == (64, 120)


@pytest.mark.data
def test_the_reshuffled_order_changes_every_pass_and_is_reproducible():
    from lenet1998.data import load_mnist
    from lenet1998.train import RunSpec, train_runs

    data = load_mnist(train_subset=1000, test_subset=100)

    def run(order):
        cfg = FAITHFUL.replace(passes=2, pattern_order=order)
        (rec,) = train_runs([RunSpec("lenet5-1998", cfg, 0)], data=data, log=lambda *a: None)
        return rec

    a, b, const = run("reshuffled"), run("reshuffled"), run("random")
    assert a["test_misses_idx"] == b["test_misses_idx"] and a["metrics"][1]["train_loss"] == b["metrics"][1]["train_loss"]
    # pass 1 draws its own permutation (not the constant one), so both passes differ from the constant order's
    assert a["metrics"][0]["train_loss"] != const["metrics"][0]["train_loss"]


def test_the_init_rule_keeps_the_1998_rule_for_the_subsampling_parameters():
    cfg = FAITHFUL.replace(init="d2l")
    m = LeNet5(cfg, generator=torch.Generator().manual_seed(0))
    ref = LeNet5(FAITHFUL, generator=torch.Generator().manual_seed(0))
    assert float(m.S2.coef.abs().max()) <= 1.2 and float(m.S2.coef.abs().max()) > 0.2  # 2.4 / sqrt(4)
    initialize(ref, "d2l", generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ref.get_flat(), m.get_flat())


@pytest.mark.data
def test_evaluating_the_training_set_only_after_the_last_pass_changes_no_number():
    from lenet1998.data import load_mnist
    from lenet1998.train import RunSpec, train_runs
    from lenet_repro.records import numbers_of

    data = load_mnist(train_subset=800, test_subset=100)
    cfg = FAITHFUL.replace(passes=2)
    (every,) = train_runs([RunSpec("lenet5-1998", cfg, 0)], data=data, log=lambda *a: None)
    (last,) = train_runs([RunSpec("lenet5-1998", cfg, 0, train_eval="last-pass")], data=data, log=lambda *a: None)
    assert "train_error" not in last["metrics"][0] and last["metrics"][1]["train_error"] == every["metrics"][1]["train_error"]
    def strip(rec):
        return numbers_of({**rec, "metrics": [{k: v for k, v in m.items() if k not in ("train_error", "train_misses")}
                                              for m in rec["metrics"]]})

    assert strip(every) == strip(last)
    with pytest.raises(ConfigError, match="train_eval='sometimes'"):
        train_runs([RunSpec("lenet5-1998", cfg, 0, train_eval="sometimes")], data=data, log=lambda *a: None)
