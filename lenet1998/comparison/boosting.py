"""[dist] Boosted LeNet-4 (Sec. III-C.9, after Drucker, Schapire & Simard, NIPS 5, 1993; ref. [60]).

"Three LeNet-4s are combined: the first one is trained the usual way. the second one is trained on
patterns that are filtered by the first net so that the second machine sees a mix of patterns, 50% of
which the first net got right, and 50% of which it got wrong. Finally, the third net is trained on new
patterns on which the first and the second nets disagree. During testing, the outputs of the three nets
are simply added [...] it was necessary to use the artificially distorted images (as with LeNet-5)".

Readings taken (ASSUMED; the paper gives no sizes):
- the patterns are LeNet-5's distortion pool (the training digits + 9 distorted copies of each,
  lenet1998/distortions.py with the settled ranges), and every net has LeNet-4's recipe (its passes,
  the paper's schedule, h_kk on 500 patterns before each pass);
- net 1 is trained "the usual way": each pass 60,000 patterns of the pool -- exactly the [dist] LeNet-4
  of the same seed;
- net 2's set: every pool pattern net 1 gets wrong, and as many drawn at random among those it gets
  right (half right, half wrong), presented in one constant random order per pass;
- net 3's set: every pool pattern on which nets 1 and 2 predict differently;
- recognition adds the three nets' outputs. The paper calls nets 2 and 3 only when net 1 is not
  confident (average cost "about 1.75 times that of a single net"); its threshold is not given, so all
  three nets are always evaluated here, and Fig. 11's count is three nets'.

Resumable: net 1 checkpoints into checkpoint.pt (as any network row), nets 2 and 3 into
checkpoint-net2.pt / checkpoint-net3.pt; a finished stage is read back from its checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lenet_repro import atomic
from lenet_repro.errors import ConfigError

from . import convnets

CHUNK = 60_000  # pool patterns classified per call (memory)


class Boosted:
    """Three trained copies of one net; scores = the sum of their outputs."""

    def __init__(self, kernel, net, params: list[torch.Tensor]):
        self.kernel, self.net, self.params = kernel, net, params

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        return sum(self.kernel.forward(self.net, p, x).double() for p in self.params)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)

    def net_predictions(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[(N,) the class of net k alone] for k = 1, 2, 3 (each net's own record, THE FAILED-RUN RULE per net)."""
        return [self.kernel.forward(self.net, p, x).argmax(1) for p in self.params]

    @property
    def parameters(self) -> int:
        return len(self.params) * self.net.param_count

    @property
    def multiply_adds(self) -> int:
        return len(self.params) * self.net.connections


def pool_predictions(kernel, net, params: torch.Tensor, pool, to_input) -> torch.Tensor:
    """(pool size,) the net's class for every pattern of the pool, in pool-index order."""
    out = []
    for s in range(0, pool.size, CHUNK):
        imgs, _ = pool.patterns(torch.arange(s, min(s + CHUNK, pool.size)))
        out.append(kernel.forward(net, params, to_input(imgs)).argmax(1))
    return torch.cat(out)


def second_set(pred1: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Pool indices for net 2: all that net 1 gets wrong, and as many drawn among those it gets right."""
    wrong = (pred1 != labels).nonzero().flatten()
    right = (pred1 == labels).nonzero().flatten()
    if len(wrong) == 0 or len(right) == 0:
        raise ConfigError("net 1 classifies every pool pattern right (or every one wrong): there is no mix to "
                          "train net 2 on; train on more digits")
    n = min(len(wrong), len(right))
    picked = right[torch.randperm(len(right), generator=generator)[:n]]
    return torch.sort(torch.cat([wrong[:n], picked])).values


def third_set(pred1: torch.Tensor, pred2: torch.Tensor) -> torch.Tensor:
    """Pool indices for net 3: the patterns on which nets 1 and 2 disagree."""
    idx = (pred1 != pred2).nonzero().flatten()
    if len(idx) == 0:
        raise ConfigError("nets 1 and 2 agree on every pool pattern: there is nothing to train net 3 on; "
                          "train on more digits")
    return idx


def train_three(sdlm, kernel, net, pool, to_input, seed: int, out: Path | None, has_checkpoint: bool, log):
    """Train the three nets (sdlm(params, one_pass, hkk_generator, ckpt, has_checkpoint, tag=...) runs one
    net's passes). Returns ([params of nets 1..3], [per-pass metrics of nets 1..3], train and eval seconds
    of all, [nets 2 and 3's sets: patterns per class 0..9], each net's final test error %)."""
    from lenet1998.seeds import generator

    if pool is None:
        raise ConfigError("the boosted LeNet-4 trains on the distorted patterns (Sec. III-C.9); keep distortions on")
    ckpts = [None, None, None] if out is None else [out / "checkpoint.pt", out / "checkpoint-net2.pt",
                                                    out / "checkpoint-net3.pt"]
    if out is not None and not has_checkpoint:  # a fresh start: no stage of an older run may be resumed
        for c in ckpts[1:]:
            atomic.remove(c)
    nets, train_s, eval_s, errors = [], 0.0, 0.0, []

    p1 = convnets.init_params(net, generator(seed, "init"))  # net 1: the [dist] LeNet-4 of this seed
    metrics, t, e = sdlm(p1, lambda p: _patterns(pool, pool.pass_indices(p), to_input, None),
                         lambda p: generator(seed, "hkk", p), ckpts[0], has_checkpoint, tag=" net 1")
    nets.append(p1)
    all_metrics = [metrics]
    errors.append(metrics[-1]["test_error"])
    train_s, eval_s = train_s + t, eval_s + e
    pred1 = pool_predictions(kernel, net, p1, pool, to_input)
    sets = [second_set(pred1, pool_labels(pool), generator(seed, "boost-set", 2))]
    for k in (2, 3):
        idx = sets[-1]
        log(f"boosted net {k}: {len(idx):,} pool patterns")
        x, y, _ = _patterns(pool, idx, to_input, None)
        order = torch.randperm(len(idx), generator=generator(seed, "boost-order", k))
        pk = convnets.init_params(net, generator(seed, "boost-init", k))
        has = bool(has_checkpoint and ckpts[k - 1] is not None and ckpts[k - 1].exists())
        mk, t, e = sdlm(pk, lambda p, x=x, y=y, o=order: (x, y, o), lambda p, k=k: generator(seed, "boost-hkk", k, p),
                       ckpts[k - 1], has, tag=f" net {k}")
        nets.append(pk)
        all_metrics.append(mk)
        errors.append(mk[-1]["test_error"])
        train_s, eval_s = train_s + t, eval_s + e
        if k == 2:
            sets.append(third_set(pred1, pool_predictions(kernel, net, pk, pool, to_input)))
    labels = pool_labels(pool)
    per_class = [torch.bincount(labels[i], minlength=10).tolist() for i in sets]
    return nets, all_metrics, train_s, eval_s, per_class, errors


def pool_labels(pool) -> torch.Tensor:
    """(pool size,) the label of every pool pattern (a copy keeps its original's label)."""
    return pool.labels[torch.arange(pool.size) % pool.n].long()


def _patterns(pool, idx: torch.Tensor, to_input, order):
    imgs, labels = pool.patterns(idx)
    return to_input(imgs), labels.long().contiguous(), (torch.arange(len(idx)) if order is None else order)
