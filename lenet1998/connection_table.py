"""Table I of the paper: which S2 feature maps each C3 feature map reads (Sec. II-B).

"The first six C3 feature maps take inputs from every contiguous subsets of three feature maps in
S2. The next six take input from every contiguous subset of four. The next three take input from
some discontinuous subsets of four. Finally the last one takes input from all S2 feature maps."
"""

from __future__ import annotations

from lenet_repro.errors import ConfigError

# C3 map -> the S2 maps it reads
TABLE_I: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

DENSE: tuple[tuple[int, ...], ...] = tuple(tuple(range(6)) for _ in range(16))


def table(name: str) -> tuple[tuple[int, ...], ...]:
    if name == "paper":
        return TABLE_I
    if name == "dense":
        return DENSE
    raise ConfigError(f"unknown C3 table {name!r}; use paper or dense")


def connections(name: str) -> list[tuple[int, int]]:
    """(C3 map, S2 map) pairs, sorted by C3 map then S2 map: one 5x5 kernel each."""
    return [(o, i) for o, ins in enumerate(table(name)) for i in ins]


def as_grid(name: str = "paper") -> list[str]:
    """Table I drawn as in the paper: rows = S2 maps 0-5, columns = C3 maps 0-15, X = connected."""
    t = table(name)
    return [" ".join("X" if i in t[o] else "." for o in range(16)) for i in range(6)]
