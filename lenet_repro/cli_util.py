"""The one place where library exceptions become a one-line message and an exit code."""

from __future__ import annotations

import sys
from typing import Callable

from .errors import LenetError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def run_cli(body: Callable[[], int], prog: str = "lenet") -> int:
    try:
        return body()
    except LenetError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished passes/runs are saved, re-run the same command "
              f"(with --resume for `lenet train`) to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
