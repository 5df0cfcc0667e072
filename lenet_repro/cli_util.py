"""The one place where library exceptions become a one-line message and an exit code."""

from __future__ import annotations

import sys
from typing import Callable

from .errors import LenetError, path_error

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def run_cli(body: Callable[[], int], prog: str = "lenet") -> int:
    try:
        return body()
    except LenetError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        # Library code turns OS errors on user paths into LenetErrors where they happen (atomic writes,
        # locks, data and record readers); this is the backstop for one that slipped through: still one line.
        if e.filename is not None:
            msg = str(path_error(e.filename, e, writing=None))
        else:
            msg = f"{(e.strerror or str(e) or type(e).__name__).strip()}; check the paths you passed and re-run"
        print(f"{prog}: error: {' '.join(msg.split())}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished epochs, passes and runs are saved: re-run the same command "
              f"(with --resume for `lenet train`) to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
