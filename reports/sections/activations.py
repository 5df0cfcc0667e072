"""The textbook LeNet's first and second conv layer activations for a sweater (pullover) and a coat (the
book's exercise): activations.png / .pdf."""

from __future__ import annotations

from pathlib import Path

import torch

from ..render import figures
from ..render.figures import NOTE_SIZE, WIDTH, plt, styled
from ..run.runner import Outcome


def figure(outcomes: list[Outcome], path: Path, data_root=None) -> Path | None:
    """From the first classic textbook run that kept its checkpoint, on the Fashion-MNIST test images."""
    from lenet_repro import datasets

    classic = [o for o in outcomes if o.item.experiment.recipe == "classic" and o.record
               and (Path(o.run_dir) / "checkpoint.pt").exists()]
    if not classic:
        return None
    xf, yf = datasets.load("fashion-mnist", "test", data_root)
    return draw(Path(classic[0].run_dir) / "checkpoint.pt", xf, yf, path)


@styled
def draw(checkpoint: Path, images: torch.Tensor, labels: torch.Tensor, path: Path) -> Path | None:
    """First and second conv layer activations of a textbook model for a pullover (2) and a coat (4)."""
    from lenet_repro.records import load_checkpoint, load_weights
    from modern.model import TextbookLeNet
    from modern.recipes import NetSpec

    blob = load_checkpoint(checkpoint)
    net_cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in blob["model_config"]["net"].items()}
    net = TextbookLeNet(NetSpec(**net_cfg))
    load_weights(net, blob["state_dict"], checkpoint)
    net.eval()
    picks = [("sweater\n(pullover)", int((labels == 2).nonzero()[0])), ("coat", int((labels == 4).nonzero()[0]))]
    cols = 17
    cell = WIDTH / cols
    height = 2 * len(picks) * cell * 1.3 + 0.3
    fig, axes = plt.subplots(2 * len(picks), cols, figsize=(WIDTH, height), squeeze=False)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.3 / height, wspace=0.1, hspace=0.35)
    for ax in axes.flat:
        ax.axis("off")
    with torch.no_grad():
        for r, (name, i) in enumerate(picks):
            x = images[i:i + 1].float().div(255).unsqueeze(1)
            c1 = net[1](net[0](x))[0]  # (6, 28, 28) after the activation
            c2 = net[4](net[3](net[2](net[1](net[0](x)))))[0]  # (16, 10, 10)
            top, bottom = axes[2 * r], axes[2 * r + 1]
            top[0].imshow(x[0, 0].numpy(), cmap="gray_r")
            top[0].set_title(name, fontsize=NOTE_SIZE, pad=2)
            for k in range(c1.shape[0]):
                top[k + 1].imshow(c1[k].numpy(), cmap="viridis")
                top[k + 1].set_title(f"#{k}", fontsize=NOTE_SIZE - 0.5, pad=2)
            top[c1.shape[0] + 1].text(0.0, 0.5, f"\u2190 conv1: {c1.shape[0]} maps, {c1.shape[1]}x{c1.shape[2]}",
                                      transform=top[c1.shape[0] + 1].transAxes, ha="left", va="center",
                                      fontsize=NOTE_SIZE)
            for k in range(c2.shape[0]):
                bottom[k + 1].imshow(c2[k].numpy(), cmap="viridis")
                bottom[k + 1].set_title(f"#{k}", fontsize=NOTE_SIZE - 0.5, pad=2)
            bottom[0].text(1.0, 0.5, f"conv2:\n{c2.shape[0]} maps,\n{c2.shape[1]}x{c2.shape[2]} \u2192",
                           transform=bottom[0].transAxes, ha="right", va="center", fontsize=NOTE_SIZE)
    fig.suptitle(f"Activations of the textbook LeNet ({blob['recipe']}, seed {blob.get('seed')})")
    return figures.save(fig, path)
