"""torch.hub entry points (issue 20): the shipped LeNet-5 checkpoints of lenet1998/checkpoints/.

    model = torch.hub.load("path/to/lenet-repro", "lenet5", source="local")        # eval mode
    transform = torch.hub.load("path/to/lenet-repro", "input_transform", source="local")
    digits = model.predict(transform(images))   # images: MNIST's uint8 (N, 28, 28) or floats in [0, 1]

The network is LeNet-5 of LeCun, Bottou, Bengio & Haffner (1998), Sec. II-B; its input is the 28x28
digit padded to 32x32 and scaled to background -0.1, ink 1.175 (Sec. III-A, II-B), which
`input_transform` (lenet1998.input_transform) does; its output is 10 RBF penalties (the smallest wins).
"""

dependencies = ["torch"]


def lenet5(pretrained: bool = True, **kw):
    """LeNet-5 (1998). `pretrained=True`: the shipped checkpoint (`lenet1998.pretrained("lenet5")`: the
    median seed of the paper's recipe by test misses; its record, checkpoints/lenet5.json, gives them), or with
    `distortions=True` the one trained on the distorted patterns (Sec. III-C.2). `pretrained=False`: an
    untrained network of the paper's recipe, `kw` overriding its options (lenet1998/config.py), e.g.
    `lenet5(pretrained=False, c3_table="dense")`."""
    from lenet_repro.errors import ConfigError
    from lenet1998 import LeNet5
    from lenet1998 import pretrained as shipped
    from lenet1998.recipes import LENET1998_RECIPES

    distortions = kw.pop("distortions", False)
    if not isinstance(pretrained, bool) or not isinstance(distortions, bool):
        raise ConfigError(f"lenet5(pretrained=..., distortions=...) take true or false, got {pretrained!r} "
                          f"and {distortions!r}")
    if pretrained:
        if kw:
            raise ConfigError(f"a pretrained LeNet-5 has its checkpoint's config; options {sorted(kw)} need "
                              f"pretrained=False")
        return shipped("lenet5-distortions" if distortions else "lenet5")
    recipe = "lenet5-1998-distortions" if distortions else "lenet5-1998"
    from dataclasses import fields

    unknown = sorted(set(kw) - {f.name for f in fields(LENET1998_RECIPES[recipe])})
    if unknown:
        raise ConfigError(f"unknown LeNet-5 options {unknown}; see lenet1998/config.py")
    return LeNet5(LENET1998_RECIPES[recipe].replace(**kw))


def input_transform():
    """The shipped networks' input transform: `lenet1998.input_transform` (MNIST 28x28 -> 32x32, scaled)."""
    from lenet1998 import input_transform as transform

    return transform
