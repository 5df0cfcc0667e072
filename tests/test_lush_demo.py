"""The recipe that follows LeCun's Lush demo (gblearn2/demos/lenet5.lsh, as QMNIST re-ran it) and the
options it needs: F6 of 10 units, the place code, Lush's criterion, init and constants, h_kk every set."""

import pytest
import torch

from lenet1998 import LeNet5
from lenet1998.recipes import LENET1998_RECIPES, LUSH_DEMO
from lenet1998.seeds import generator


def test_the_demo_network_has_lushs_51046_parameters_and_constants():
    m = LeNet5(LUSH_DEMO, generator=generator(0, "init")).requires_grad_(False)
    assert m.num_parameters() == 51_046  # C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 + output 1,210
    assert torch.equal(m.S2.coef.data, torch.full((6,), 0.5)) and torch.equal(m.S4.coef.data, torch.full((16,), 0.5))
    assert all(float(p.abs().max()) == 0 for n, p in m.named_parameters() if n.endswith("bias"))
    assert float(m.C1.weight.abs().max()) <= 1 / 25 ** 0.5 and float(m.C1.weight.abs().max()) > 0.15  # forget 1 2
    assert float(m.C5.weight.abs().max()) <= 1 / 400 ** 0.5 and float(m.F6.weight.abs().max()) <= 1 / 120 ** 0.5
    assert m.F6.out_features == 10 and m.output.centers.shape == (10, 10)
    assert LUSH_DEMO.passes == 30 and [LUSH_DEMO.rate(p) for p in (0, 9, 10, 19, 20, 29)] == \
        [1e-4, 1e-4, 1e-5, 1e-5, 1e-6, 1e-6]
    assert LENET1998_RECIPES["lenet5-lush-demo"] is LUSH_DEMO


def test_lush_edist_is_half_the_squared_distance_to_the_targets():
    from lenet1998.loss import loss_fn

    y = torch.rand(4, 10) * 10
    t = torch.tensor([3, 0, 9, 3])
    assert torch.allclose(loss_fn("lush-edist")(y, t), 0.5 * y.gather(1, t.view(-1, 1)).mean())


@pytest.mark.data
def test_h_kk_every_set_resumes_inside_a_set_to_the_identical_run(tmp_path):
    from lenet1998.train import RunSpec, train_runs

    cfg = LUSH_DEMO.replace(passes=3, hkk_every=2, hkk_patterns=200)
    straight = train_runs([RunSpec("lenet5-lush-demo", cfg, 1, tmp_path / "a")], train_subset=1000,
                          test_subset=200, log=lambda s: None)[0]

    def stop_after_pass_1(line):
        if "pass  1/3" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_runs([RunSpec("lenet5-lush-demo", cfg, 1, tmp_path / "b")], train_subset=1000, test_subset=200,
                   log=stop_after_pass_1)
    resumed = train_runs([RunSpec("lenet5-lush-demo", cfg, 1, tmp_path / "b")], train_subset=1000,
                         test_subset=200, resume=True, log=lambda s: None)[0]
    from lenet_repro.records import numbers_of

    assert numbers_of(resumed)["metrics"] == numbers_of(straight)["metrics"] and resumed["final"]["test_misses"] == straight["final"]["test_misses"]
    # the h_kk of pass 1 was kept for pass 2: its rates are the same estimate at the same eta
    assert straight["metrics"][0]["rate_max"] == straight["metrics"][1]["rate_max"]
    assert straight["metrics"][2]["rate_max"] != straight["metrics"][1]["rate_max"]
