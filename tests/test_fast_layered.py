"""The layered C kernel (lenet1998/fast/layered.c) computes what the torch specification
(lenet1998/comparison/convnets.py) and the hand-written MLP path (comparison/mlp.py) compute, for every
comparison network of Fig. 9 it serves; the lockstep variant equals solo runs bit for bit; bad input
raises; a library built for any x86-64 target computes the same bits (the issue-8 rule of LeNet-5's
kernel); and the bits of short runs are pinned per LAYERED_NUMERICS version."""

from __future__ import annotations

import hashlib
import platform
import subprocess

import pytest
import torch

from lenet1998.comparison import convnets as cn
from lenet1998.comparison import mlp
from lenet1998.fast import build as kbuild
from lenet1998.fast.build import LAYERED_SOURCE, BuildError
from lenet1998.fast.layered import kernel_for, load_layered_kernel


def _kernel_or_skip():
    try:
        return load_layered_kernel()
    except BuildError as e:
        pytest.skip(f"layered kernel not built: {e}")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def kernel():
    return _kernel_or_skip()


NETS = {**{"-".join(map(str, s)): (lambda s=s: cn.mlp_net(s)) for s in cn.MLP_SIZES},
        "lenet1": cn.lenet1, "lenet4": cn.lenet4}


def patterns(net, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n inputs in the paper's range [-0.1, 1.175] (float64 draws, rounded: the same on every machine)
    and labels."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, *net.input_shape, generator=g, dtype=torch.float64) * 1.275 - 0.1).float()
    return x, torch.randint(0, 10, (n,), generator=g)


def sdlm_rates(h: torch.Tensor, eta: float = 0.0005, mu: float = 0.02) -> torch.Tensor:
    return (eta / (mu + h)).float().contiguous()


@pytest.fixture(scope="module", params=list(NETS))
def case(request):
    net = NETS[request.param]()
    x, y = patterns(net, 64, seed=1)
    return net, cn.init_params(net, torch.Generator().manual_seed(2)), x, y


def test_forward_and_features_match_the_reference(kernel, case):
    net, p, x, _ = case
    ref = cn.trace(net, p.double(), x.double())
    out, feat = kernel.forward(net, p, x, features=-2 if len(net.placed) > 1 else 0, threads=2)
    assert out.shape == (len(x), 10)
    torch.testing.assert_close(out.double(), ref[-1][1].reshape(len(x), -1), rtol=0, atol=1e-5)
    torch.testing.assert_close(feat.double(), ref[-2 if len(net.placed) > 1 else 0][1].reshape(len(x), -1),
                               rtol=0, atol=1e-5)
    assert torch.equal(kernel.forward(net, p, x.reshape(len(x), -1), threads=1), out)  # (N, D) too


def test_hkk_matches_the_reference(kernel, case):
    net, p, x, _ = case
    idx = torch.arange(0, 64, 2)
    h = kernel.hkk(net, p, x, idx)
    ref = cn.gauss_newton_diagonal(net, p.double(), x[idx].double())
    assert float(ref.min()) > 0
    torch.testing.assert_close(h.double(), ref, rtol=1e-4, atol=0)
    torch.testing.assert_close(kernel.hkk(net, p, x, idx, output_curvature=1.0).double(), ref / 2, rtol=1e-4, atol=0)


def test_fifty_online_steps_match_fifty_autograd_steps(kernel, case):
    """At a small rate: at the paper's first-pass rate the early online steps are chaotic (rounding
    differences grow ~1.2-1.6x a step; torch's float32 and float64 part as much), so two correct
    implementations that round differently part within 50 steps."""
    net, p0, x, y = case
    eps = sdlm_rates(kernel.hkk(net, p0, x), eta=0.0001)
    order = torch.randperm(64, generator=torch.Generator().manual_seed(3))[:50].contiguous()
    p = p0.clone()
    loss, errors = kernel.train_pass(net, p, eps, x, y, order)
    ref = p0.double().clone()
    ref_loss, ref_errors = cn.online_pass(net, ref, eps.double(), x.double(), y, order)
    assert float((p - p0).abs().max()) > 1e-3  # the weights really moved
    torch.testing.assert_close(p.double(), ref, rtol=1e-4, atol=1e-4)
    assert loss == pytest.approx(ref_loss, rel=1e-4)
    assert errors == ref_errors


def test_a_pass_equals_its_steps_one_call_each_bit_for_bit(kernel, case):
    """The first FULL layer's update, deferred into the next pattern's forward within a pass, is the
    update made at once (a one-pattern pass applies it before returning): the same bits."""
    net, p0, x, y = case
    eps = sdlm_rates(kernel.hkk(net, p0, x))
    order = torch.randperm(64, generator=torch.Generator().manual_seed(4))[:20].contiguous()
    p, q = p0.clone(), p0.clone()
    loss, errors = kernel.train_pass(net, p, eps, x, y, order)
    steps = [kernel.train_pass(net, q, eps, x, y, order[i:i + 1].contiguous()) for i in range(len(order))]
    assert torch.equal(p, q)
    assert errors == sum(e for _, e in steps)
    assert loss == pytest.approx(sum(v for v, _ in steps), rel=1e-12)


def test_many_equals_one_by_one_bit_for_bit(kernel):
    net = cn.lenet1()
    members, solo = [], []
    for s in range(3):
        x, y = patterns(net, 40 + 10 * s, seed=10 + s)
        p = cn.init_params(net, torch.Generator().manual_seed(20 + s))
        eps = sdlm_rates(kernel.hkk(net, p, x))
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(s))
        members.append(dict(params=p.clone(), eps=eps, x=x, labels=y, order=order, idx=order[:25].contiguous()))
        solo.append(dict(params=p.clone(), eps=eps, x=x, labels=y, order=order))
    hs = kernel.hkk_many(net, members, threads=2)
    for m, h in zip(members, hs):
        assert torch.equal(h, kernel.hkk(net, m["params"], m["x"], m["idx"]))
    results = kernel.train_pass_many(net, members, threads=2)
    for m, s, r in zip(members, solo, results):
        assert r == kernel.train_pass(net, s["params"], s["eps"], s["x"], s["labels"], s["order"])
        assert torch.equal(m["params"], s["params"])
    # an MLP (its first layer's update deferred into the next forward) too
    net = cn.mlp_net((400, 300, 10))
    x, y = patterns(net, 60, seed=4)
    ps = [cn.init_params(net, torch.Generator().manual_seed(s)) for s in range(2)]
    eps = sdlm_rates(kernel.hkk(net, ps[0], x))
    orders = [torch.randperm(60, generator=torch.Generator().manual_seed(s)) for s in range(2)]
    many = [dict(params=p.clone(), eps=eps, x=x, labels=y, order=o) for p, o in zip(ps, orders)]
    results = kernel.train_pass_many(net, many, threads=2)
    for m, p, o, r in zip(many, ps, orders, results):
        assert r == kernel.train_pass(net, p, eps, x, y, o)
        assert torch.equal(m["params"], p)


def test_bad_input_raises_value_error(kernel):
    net = cn.mlp_net((400, 300, 10))
    x, y = patterns(net, 8, seed=0)
    p = cn.init_params(net, torch.Generator().manual_seed(0))
    eps = torch.full_like(p, 1e-3)
    order = torch.arange(8)
    bad_calls = [
        lambda: kernel.forward(net, p.double(), x),                      # dtype
        lambda: kernel.forward(net, p[:-1], x),                          # params shape
        lambda: kernel.forward(net, p, x.double()),
        lambda: kernel.forward(net, p, x[:, :399].contiguous()),         # input shape
        lambda: kernel.forward(net, p, x[0]),
        lambda: kernel.forward(net, p, x.T.contiguous().T),              # not contiguous
        lambda: kernel.hkk(net, p, x, torch.arange(9)),                  # index out of range
        lambda: kernel.hkk(net, p, x, torch.arange(8, dtype=torch.int32)),
        lambda: kernel.hkk(net, p, x, torch.arange(0)),
        lambda: kernel.train_pass(net, p, eps[::2], x, y, order),
        lambda: kernel.train_pass(net, p, eps, x, y.int(), order),
        lambda: kernel.train_pass(net, p, eps, x, y + 10, order),        # a label past the outputs
        lambda: kernel.train_pass(net, p, eps, x, y[:4].contiguous(), order),
        lambda: kernel.train_pass(net, p, eps, x, y, order - 1),
        lambda: kernel.train_pass_many(net, [dict(params=p, eps=eps, x=x, labels=y, order=order)] * 2),
    ]
    before = p.clone()
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
    assert torch.equal(p, before)
    conv_net = cn.lenet1()
    xc, _ = patterns(conv_net, 4, seed=0)
    pc = cn.init_params(conv_net, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError):
        kernel.forward(conv_net, pc, xc[:, :, :27, :27].contiguous())


def test_the_hand_written_mlp_path_agrees_with_the_kernel(kernel):
    sizes = (784, 300, 10)
    net = cn.mlp_net(sizes)
    m = mlp.build(sizes, torch.Generator().manual_seed(5))
    x, y = patterns(net, 200, seed=6)
    p = m.flat()
    h = kernel.hkk(net, p, x, torch.arange(100))
    h_mlp = torch.cat([t.reshape(-1) for t in mlp.gauss_newton_diagonal(m, x[:100])])
    torch.testing.assert_close(h, h_mlp, rtol=1e-4, atol=0)
    eps = sdlm_rates(h, eta=0.0001)  # a small rate, as in the autograd comparison above
    order = torch.randperm(200, generator=torch.Generator().manual_seed(7))[:50].contiguous()
    loss, errors = kernel.train_pass(net, p, eps, x, y, order)
    blocks = [blk for q in net.placed for blk in ((q.w_offset, q.b_offset), (q.b_offset, q.end))]
    eps_list = [eps[a:b].reshape(t.shape) for (a, b), t in zip(blocks, m.params)]  # mlp's layout: W1, b1, ...
    mlp_loss, mlp_errors = mlp.online_pass(m, eps_list, x, mlp.targets(y), order)
    assert float((p - m.flat()).abs().max()) < 1e-4
    assert float((p - mlp.build(sizes, torch.Generator().manual_seed(5)).flat()).abs().max()) > 1e-3
    assert loss == pytest.approx(mlp_loss, rel=1e-5)
    assert errors == mlp_errors


def test_build_keeps_lenet5s_library_and_names_the_layered_one():
    """build.py serves both sources; LeNet-5's library keeps its name and cache key."""
    cc = kbuild.compiler() or "none"
    old_key = hashlib.sha256(kbuild.SOURCE.read_bytes() + " ".join(
        [cc, kbuild.compiler_version(cc), *kbuild.cflags()]).encode()).hexdigest()[:16]
    assert kbuild.library_path() == kbuild.cache_dir() / f"liblenet5-{old_key}.so"
    assert kbuild.library_path(source=LAYERED_SOURCE).name.startswith("liblayered-")
    assert kbuild.library_path("x86-64-v2", LAYERED_SOURCE) != kbuild.library_path("x86-64-v3", LAYERED_SOURCE)
    info = kbuild.build_info(source=LAYERED_SOURCE)
    assert info["numeric_build"] == kbuild.layered_numeric_build_id()
    assert info["numeric_build"].startswith(f"l{kbuild.kernel_numerics(LAYERED_SOURCE)}-")
    assert kbuild.build_info()["numeric_build"] == kbuild.numeric_build_id()


# ---------------------------------------------------------------------------- cross-target bits

TARGETS = [t for t in ("x86-64-v2", "x86-64-v3", "x86-64-v4") if kbuild.cpu_supports(t)]


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the target ladder is x86-64's")
@pytest.mark.parametrize("name", ["784-300-10", "lenet4"])
def test_every_target_computes_the_same_bits(name):
    """h_kk, 2,000 online steps at a large rate (eta 0.0005 / (0.02 + h), where rounding differences
    would grow and show) and a forward pass: bit-identical for x86-64-v2 (SSE), v3 (AVX2) and v4 (AVX-512)."""
    _kernel_or_skip()
    assert len(TARGETS) >= 2, TARGETS
    net = NETS[name]()
    x, y = patterns(net, 2000, seed=8)
    start = cn.init_params(net, torch.Generator().manual_seed(9))
    out = {}
    for t in TARGETS:
        k = kernel_for(t)
        p = start.clone()
        h = k.hkk(net, p, x, torch.arange(500))
        loss, errors = k.train_pass(net, p, sdlm_rates(h), x, y, torch.arange(2000))
        out[t] = (h, p, loss, errors, k.forward(net, p, x[:300].contiguous(), threads=1))
    base = out[TARGETS[0]]
    assert float((base[1] - start).abs().max()) > 1e-3  # the weights really moved
    for t in TARGETS[1:]:
        h, p, loss, errors, fwd = out[t]
        assert torch.equal(h, base[0]), t
        assert torch.equal(p, base[1]), t
        assert (loss, errors) == (base[2], base[3]), t
        assert torch.equal(fwd, base[4]), t
    syms = subprocess.run(["nm", "-D", "--undefined-only", str(kbuild.build(tgt=TARGETS[0], source=LAYERED_SOURCE))],
                          capture_output=True, text=True, check=False).stdout
    if syms:  # binutils present: no libm
        assert not any(f in syms.split() for f in ("tanhf", "tanh", "expf", "exp")), syms


# ---------------------------------------------------------------------------- golden bits

# The bits of short runs, pinned per LAYERED_NUMERICS (layered.c). An arithmetic change must bump the
# version (and re-pin here; golden_bits() prints the new values).
GOLDEN = {
    1: {"784-300-10": "2df261314cea4fae", "784-1000-10": "8569a4d535a3217e", "784-300-100-10": "4dfd20807b1a45f6",
        "784-500-150-10": "9c44c3bde55a9820", "400-300-10": "26897f048933b9f0", "lenet1": "79d2974b0274b240",
        "lenet4": "d9a9395dde6f30be"},
}


def golden_bits(kernel) -> dict[str, str]:
    out = {}
    for name, make in NETS.items():
        net = make()
        x, y = patterns(net, 300, seed=11)
        p = cn.init_params(net, torch.Generator().manual_seed(12))
        h = kernel.hkk(net, p, x, torch.arange(100))
        loss, errors = kernel.train_pass(net, p, sdlm_rates(h), x, y, torch.arange(300))
        fwd = kernel.forward(net, p, x[:50].contiguous(), threads=1)
        out[name] = hashlib.sha256(p.numpy().tobytes() + fwd.numpy().tobytes()
                                   + repr((loss, errors)).encode()).hexdigest()[:16]
    return out


def test_golden_bits_of_this_numerics_version(kernel):
    version = kbuild.kernel_numerics(LAYERED_SOURCE)
    assert kernel.numerics == version
    assert version in GOLDEN, f"LAYERED_NUMERICS {version} has no pinned bits: pin golden_bits() here"
    assert golden_bits(kernel) == GOLDEN[version], \
        "the layered kernel's arithmetic changed: bump LAYERED_NUMERICS in layered.c and pin the new bits"
