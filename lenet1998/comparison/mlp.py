"""The fully connected networks of Fig. 9 (Sec. III-C.5 and III-C.6): 28x28-300-10, 28x28-1000-10,
28x28-300-100-10, 28x28-500-150-10 and [deslant] 20x20-300-10.

"trained with the version of back-propagation described in Appendix C": online stochastic diagonal
Levenberg-Marquardt, as LeNet-5 (lenet1998/sdlm.py), "10 to 20 passes". Readings taken (unstated,
ASSUMED; the MNIST web page labels the 300-unit nets "mean square error"): every unit squashed by
LeNet-5's f(a) = 1.7159 tanh(2a/3); targets +1 for the correct output and -1 for the others; the
loss E = sum_k (x_k - t_k)^2 (LeNet-5's MLE criterion with the 1-of-N code: the prediction is the
largest output); LeNet-5's settled choices for what the paper leaves open about it: weights and biases
drawn from U(+-2.4/sqrt(F_i)), the paper's schedule, mu = 0.02, h_kk re-estimated on 500 random
patterns before each pass with the loss curvature 2 per output (the Gauss-Newton of the squared error).

Shapes: x (N, D) inputs, `sizes` = (D, h1, [h2,] 10); parameters in the order W1, b1, W2, b2, ...
The rows train on the layered C kernel (lenet1998/fast/layered.c via comparison/train.py); this module
is a second, independent statement of the same arithmetic: `online_pass` writes the online steps by
hand with torch's matrix-vector products, `reference_step` is the readable autograd specification, and
tests/test_fast_layered.py holds the kernel equal to both (benchmarks/layered_step.py times them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lenet_repro.errors import ConfigError

A, S = 1.7159, 2.0 / 3.0


def squash(a: torch.Tensor) -> torch.Tensor:
    return A * torch.tanh(S * a)


def targets(y: torch.Tensor) -> torch.Tensor:
    """(N,) labels -> (N, 10) float32 +-1 targets (linear.targets, the same code)."""
    from .linear import targets as pm1

    return pm1(y).float()


@dataclass
class MLP:
    sizes: tuple[int, ...]
    params: list[torch.Tensor]  # [W1 (h1, D), b1 (h1,), W2, b2, ...], float32

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.params)

    @property
    def multiply_adds(self) -> int:
        """Per recognition (Fig. 11): one per connection, the bias's counted as the paper counts LeNet-5's
        connections (Sec. II-B: C1's 122,304 = 28 x 28 x 6 x (25 + 1)); Fig. 11's 795k for 1000-10 is 795,010."""
        return sum(p.numel() for p in self.params)

    def trace(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(a_l, x_l)] for every layer: pre-activations and squashed outputs, (N, n_l) each."""
        out, h = [], x.float()
        for w, b in zip(self.params[0::2], self.params[1::2]):
            a = torch.addmm(b, h, w.T)
            h = squash(a)
            out.append((a, h))
        return out

    def scores(self, x: torch.Tensor, chunk: int = 5000) -> torch.Tensor:  # (N, D) -> (N, 10)
        return torch.cat([self.trace(x[i:i + chunk])[-1][1] for i in range(0, len(x), chunk)]).double()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.scores(x).argmax(1)

    def flat(self) -> torch.Tensor:
        return torch.cat([p.reshape(-1) for p in self.params])


def build(sizes: tuple[int, ...], generator: torch.Generator) -> MLP:
    """Weights and biases from U(-2.4/sqrt(F_i), 2.4/sqrt(F_i)), F_i the unit's fan-in, drawn in order."""
    if len(sizes) < 2 or sizes[-1] != 10 or min(sizes) < 1:
        raise ConfigError(f"an MLP needs sizes (D, ..., 10) with positive entries, got {sizes}")
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 2.4 / math.sqrt(fan_in)
        for shape in ((fan_out, fan_in), (fan_out,)):
            u = torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1
            params.append((u * bound).float())
    return MLP(tuple(sizes), params)


def gauss_newton_diagonal(m: MLP, x: torch.Tensor, output_curvature: float = 2.0) -> list[torch.Tensor]:
    """h_kk per parameter (App. C, Eq. 25-27), the mean over the rows of x: second derivatives back-
    propagated with squared weights, squared inputs and squared f'."""
    tr = m.trace(x)
    ins = [x.float()] + [h for _, h in tr[:-1]]
    d2x = torch.full_like(tr[-1][1], output_curvature)
    h: list[torch.Tensor] = [None] * len(m.params)  # type: ignore[list-item]
    for layer in reversed(range(len(tr))):
        a, _ = tr[layer]
        fp = A * S * (1 - torch.tanh(S * a) ** 2)
        d2a = fp * fp * d2x  # (N, n_out)
        xin = ins[layer]
        h[2 * layer] = d2a.T @ (xin * xin) / len(x)
        h[2 * layer + 1] = d2a.mean(0)
        w = m.params[2 * layer]
        d2x = d2a @ (w * w)
    return h


def online_pass(m: MLP, eps: list[torch.Tensor], x: torch.Tensor, t: torch.Tensor, order: torch.Tensor
                ) -> tuple[float, int]:
    """One online SDLM pass over `order` (in place): for each pattern the gradient of E = sum (x - t)^2
    at the current weights, then w <- w - eps * grad, layer by layer from the top (each layer's
    back-propagated error is computed before its weights change). Returns (loss sum, running errors)."""
    ws, bs = m.params[0::2], m.params[1::2]
    ew, eb = eps[0::2], eps[1::2]
    L = len(ws)
    loss_sum, errors = 0.0, 0
    for i in order.tolist():
        h = x[i]
        ins, ths = [], []
        for w, b in zip(ws, bs):
            ins.append(h)
            th = torch.tanh(S * torch.addmv(b, w, h))
            ths.append(th)
            h = A * th
        d = h - t[i]
        loss_sum += float(d @ d)
        errors += int(int(h.argmax()) != int(t[i].argmax()))
        g = 2.0 * d  # dE/dx_L
        for layer in reversed(range(L)):
            ga = g * (A * S) * (1 - ths[layer] * ths[layer])
            if layer:
                g = torch.mv(ws[layer].T, ga)
            ws[layer].addcmul_(ew[layer], torch.outer(ga, ins[layer]), value=-1.0)
            bs[layer].addcmul_(eb[layer], ga, value=-1.0)
    return loss_sum, errors


def reference_step(m: MLP, eps: list[torch.Tensor], x: torch.Tensor, t: torch.Tensor) -> float:
    """The readable specification of one online step: autograd's gradient of E at the current weights,
    then w <- w - eps * grad for every parameter at once."""
    ps = [p.detach().clone().requires_grad_(True) for p in m.params]
    h = x.float().unsqueeze(0)
    for w, b in zip(ps[0::2], ps[1::2]):
        h = squash(h @ w.T + b)
    loss = ((h[0] - t) ** 2).sum()
    grads = torch.autograd.grad(loss, ps)
    with torch.no_grad():
        for p, e, g in zip(m.params, eps, grads):
            p -= e * g
    return loss.item()
