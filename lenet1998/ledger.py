"""The fidelity ledger: one row per aspect of the paper (LeCun et al. 1998, Sec. II-III and App. A-C,
each row citing its section, and every choice the paper leaves open), with its status -- faithful / assumed / deviates / modernised -- the value used
and why. The data is `ledger.csv`; the "value used" column is read from the defaults in
`lenet1998.config`, so it cannot drift from the code. Rendered into the README by
`python -m reports.render.readme`.
"""

from __future__ import annotations

import csv
from importlib import resources

from .config import FAITHFUL

STATUSES = ("faithful", "assumed", "deviates", "modernised")


LEDGERS = {"paper": "ledger.csv", "lush": "ledger_lush.csv"}  # the 1998 recipe; the Lush-demo recipe


def rows(kind: str = "paper") -> list[dict]:
    """The ledger's rows; "value used" is read from the recipe's config (FAITHFUL, or LUSH_DEMO)."""
    from .recipes import LUSH_DEMO

    with resources.files("lenet1998").joinpath(LEDGERS[kind]).open() as f:
        out = list(csv.DictReader(f))
    defaults = (FAITHFUL if kind == "paper" else LUSH_DEMO).to_dict()
    for r in out:
        opts = r["option"].split()
        r["value used"] = ", ".join(f"{o}={defaults[o]}" for o in opts) if opts else ""
    return out


def markdown(kind: str = "paper") -> str:
    source = "the paper" if kind == "paper" else "Lush"
    lines = [f"| aspect | {source} | status | value used | why |", "|---|---|---|---|---|"]
    for r in rows(kind):
        ref = r["paper"] if kind == "paper" else r["Lush (gblearn2/demos/lenet5.lsh; QMNIST's re-run)"]
        cells = [r["aspect"], ref, f"**{r['status']}**", f"`{r['value used']}`" if r["value used"] else "",
                 r["why"]]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"
