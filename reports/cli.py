"""The `lenet` command: one dispatcher over the packages' own `main(argv)` functions.

    lenet data fetch {mnist,fashion-mnist,all} [--data-root DIR]     (python -m lenet_repro.fetch)
    lenet train <recipe> [...]     textbook recipes (python -m modern.train),
                                   lenet5-1998 (python -m lenet1998.train)
                                   and the Fig. 9 rows (python -m lenet1998.comparison.train)
    lenet evaluate <checkpoint|name>                                  (python -m lenet1998.evaluate)
    lenet report [--profile smoke|quick|full] [...]                   (python -m reports.report)
    lenet check <result.json> [--reference ID]                        (python -m reports.check)

It sits in the top layer because it imports every package; `python -m reports` runs it too.
"""

from __future__ import annotations

import sys

USAGE = __doc__.split("\n\n")[1]  # the command list


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: lenet <command> [...]\n\n" + USAGE)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from lenet_repro import __version__

        print(f"lenet-repro {__version__}")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "data":
        from lenet_repro.fetch import main as sub
    elif cmd == "train":
        from lenet1998.comparison.rows import ROWS
        from lenet1998.recipes import is_lenet1998_recipe

        if rest and is_lenet1998_recipe(rest[0]):
            from lenet1998.train import main as sub
        elif rest and rest[0] in ROWS:
            from lenet1998.comparison.train import main as sub
        else:
            from modern.train import main as sub
    elif cmd == "evaluate":
        from lenet1998.evaluate import main as sub
    elif cmd == "report":
        from .report import main as sub
    elif cmd == "check":
        from .check import main as sub
    else:
        print(f"lenet: error: unknown command {cmd!r}; use one of data, train, evaluate, report, check",
              file=sys.stderr)
        return 2
    return sub(rest)


if __name__ == "__main__":
    sys.exit(main())
