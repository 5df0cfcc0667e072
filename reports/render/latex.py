"""Booktabs LaTeX tables from data frames (pandas' Styler, which needs jinja2): the one renderer every
exported table uses (the ablation tables, Fig. 9, Table 2)."""

from __future__ import annotations

import math

import pandas as pd


def escape(s: str) -> str:
    for a, b in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("_", "\\_"), ("#", "\\#"),
                 ("->", "$\\to$"), ("+-", "$\\pm$")):
        s = s.replace(a, b)
    return s


def p_cell(x) -> str:
    """A p-value cell: '--' for none, '$<$ 0.001' below a thousandth (reports/verdicts format_p)."""
    from ..verdicts import format_p

    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    return format_p(float(x)).replace("<", "$<$")


def booktabs(df: pd.DataFrame, cols: dict[str, str], caption: str, label: str, text: tuple[str, ...] = (),
             pvalues: tuple[str, ...] = ()) -> str:
    """The columns `cols` (name -> header) of `df` as a booktabs table (\\toprule/\\midrule/\\bottomrule);
    `text` columns are escaped, `pvalues` columns printed by p_cell."""
    d = df[[c for c in cols if c in df.columns]].copy()
    for c in text:
        if c in d:
            d[c] = d[c].map(lambda v: escape(str(v)))
    for c in pvalues:
        if c in d:
            d[c] = [p_cell(x) for x in d[c]]
    d = d.rename(columns=cols)
    return d.style.hide(axis="index").format(precision=3, na_rep="--").to_latex(
        hrules=True, caption=caption, label=label, position="t", position_float="centering")
