"""The `lenet` command: one dispatcher over the packages' own `main(argv)` functions.

    lenet data fetch {mnist,fashion-mnist,all} [--data-root DIR]     (python -m lenet_repro.fetch)
    lenet train <recipe> [...]     textbook recipes (python -m modern.train),
                                   the 1998 recipes (python -m lenet1998.train)
                                   and the Fig. 9 rows (python -m lenet1998.comparison.train);
                                   `lenet train --help` lists them all, `lenet train <recipe> --help`
                                   gives one recipe's options
    lenet evaluate <checkpoint|name>                                  (python -m lenet1998.evaluate)
    lenet report [--profile smoke|quick|full] [...]                   (python -m reports.report)
    lenet check <result.json> [--reference ID]                        (python -m reports.stats.check)
    lenet compare --predictions FILE | --model FILE.py:FACTORY --name NAME   (python -m reports.compare)

It sits in the top layer because it imports every package; `python -m reports` runs it too. It owns
the one list of everything `lenet train` takes (`train_listing`), and a reader of its output that
goes away (`lenet report --dry-run | head`) ends every command quietly (lenet_repro/cli_util.py).
"""

from __future__ import annotations

import sys

from lenet_repro.cli_util import EXIT_ERROR, broken_pipe

USAGE = __doc__.split("\n\n")[1]  # the command list
TRAIN_USAGE = "usage: lenet train <recipe> [options]     (`lenet train <recipe> --help`: its options)"


def train_names() -> dict[str, list[str]]:
    """Every name `lenet train` takes, by trainer: the textbook recipes (modern/recipes.py), the 1998
    recipes (lenet1998/recipes.py), the Fig. 9 rows (lenet1998/comparison/rows.py)."""
    from lenet1998.comparison.rows import ROWS
    from lenet1998.recipes import LENET1998_RECIPES
    from modern.recipes import RECIPES

    return {"textbook": list(RECIPES), "1998": list(LENET1998_RECIPES), "fig9": list(ROWS)}


def train_listing() -> str:
    """`lenet train --help`: every recipe and Fig. 9 row with one line each."""
    from lenet1998.comparison.rows import ROWS
    from lenet1998.comparison.rows import summary as row_summary
    from lenet1998.recipes import RECIPE_DESCRIPTIONS
    from modern.recipes import RECIPES

    sections = [
        ("textbook recipes (Dive into Deep Learning's LeNet; python -m modern.train)",
         {n: r.title for n, r in RECIPES.items()}),
        ("1998 recipes (LeCun et al. 1998, LeNet-5; python -m lenet1998.train)", RECIPE_DESCRIPTIONS),
        ("Fig. 9 comparison rows (python -m lenet1998.comparison.train; options: --option KEY=VALUE)",
         {n: row_summary(r) for n, r in ROWS.items()}),
    ]
    width = max(len(n) for _, items in sections for n in items)
    out = [TRAIN_USAGE]
    for title, items in sections:
        out += ["", title + ":"] + [f"  {n:<{width}}  {d}" for n, d in items.items()]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # a reader that went away shows up here
        return code
    except BrokenPipeError:  # also from argparse's --help, which prints outside run_cli
        return broken_pipe()


# the libraries of pyproject.toml's [report] extra (top-level module -> distribution): a missing one is one
# line naming the extra, not a traceback (`pip install lenet-repro` alone installs only the core)
REPORT_EXTRA = {"matplotlib": "matplotlib", "tabulate": "tabulate", "jinja2": "jinja2",
                "sklearn": "scikit-learn", "statsmodels": "statsmodels"}


def _main(argv: list[str]) -> int:
    try:
        return _dispatch(argv)
    except ModuleNotFoundError as e:
        top = (e.name or "").split(".")[0]
        if top not in REPORT_EXTRA:
            raise
        print(f"lenet {argv[0] if argv else ''}: error: this needs {REPORT_EXTRA[top]}, which is not installed; "
              f"pip install 'lenet-repro[report]' (in a clone: pip install -e '.[report]', which `make` does)",
              file=sys.stderr)
        return EXIT_ERROR


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: lenet <command> [...]\n\n" + USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from lenet_repro import __version__

        print(f"lenet-repro {__version__}")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "data":
        from lenet_repro.fetch import main as sub
    elif cmd == "train":
        if not rest or rest[0] in ("-h", "--help"):
            print(train_listing(), file=sys.stdout if rest else sys.stderr)
            return 0 if rest else 2
        names = train_names()
        if rest[0] in names["1998"]:
            from lenet1998.train import main as sub
        elif rest[0] in names["fig9"]:
            from lenet1998.comparison.train import main as sub
        elif rest[0] in names["textbook"] or rest[0].startswith("-"):
            from modern.train import main as sub  # (a flag first: its parser says what is missing)
        else:
            print(f"lenet train: error: unknown recipe {rest[0]!r}; choose one of: "
                  f"{', '.join(n for group in names.values() for n in group)} (`lenet train --help` describes each)",
                  file=sys.stderr)
            return EXIT_ERROR
    elif cmd == "evaluate":
        from lenet1998.evaluate import main as sub
    elif cmd == "report":
        from .report import main as sub
    elif cmd == "check":
        from .stats.check import main as sub
    elif cmd == "compare":
        from .compare import main as sub
    else:
        print(f"lenet: error: unknown command {cmd!r}; use one of data, train, evaluate, report, check, compare",
              file=sys.stderr)
        return 2
    return sub(rest)


if __name__ == "__main__":
    sys.exit(main())
