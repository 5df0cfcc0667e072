"""Shared infrastructure of lenet-repro: data, devices, run records and the published references --
and the package's facade: its public API under a name that no folder of a user's project shadows
(a `reports/` folder beside a user's script hides our `reports` package; nobody has a `lenet_repro/`):

    from lenet_repro import check, assert_consistent, pretrained, input_transform

Both model packages (`lenet1998`, `modern`) and the report generator (`reports`) import from here;
nothing here imports them when it is imported. The `lenet` command, which dispatches to all of them,
is reports/cli.py.
"""

__version__ = "0.1.0"

# THE FACADE: the public names and where they live. Each is imported on first use (PEP 562: a module's
# __getattr__), so `import lenet_repro` stays light and the shared layer imports nothing above it at
# import time; tests/test_layers.py allows its upward imports only inside this __getattr__.
PUBLIC = {
    "check": "reports.stats.check",                   # a run record against a published number (`lenet check`)
    "Verdict": "reports.stats.check",                 # what `check` returns
    "assert_consistent": "reports.testing",     # the same, as a pytest assertion
    "pretrained": "lenet1998.pretrained",       # the shipped LeNet-5 checkpoints
    "input_transform": "lenet1998.pretrained",  # MNIST's 28x28 digits -> the network's 32x32 input
}

__all__ = ["__version__", *PUBLIC]


def __getattr__(name: str):
    if name in ("check", "Verdict"):
        from reports.stats.check import Verdict, check
    elif name == "assert_consistent":
        from reports.testing import assert_consistent
    elif name in ("pretrained", "input_transform"):
        from lenet1998.pretrained import input_transform, pretrained
    else:
        raise AttributeError(f"module 'lenet_repro' has no attribute {name!r}")
    value = locals()[name]
    globals()[name] = value  # later look-ups find it without __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(PUBLIC))
