"""The one place where library exceptions become a one-line message and an exit code, and the small
pieces every `lenet` parser shares (bounded integer flags, a docstring's summary for --help)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from .errors import LenetError, path_error

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away (`| head`)


def run_cli(body: Callable[[], int], prog: str = "lenet", error_code: int = EXIT_ERROR) -> int:
    """Run a CLI body; a LenetError or OSError becomes one line on stderr and `error_code` (commands whose
    other exit codes carry a verdict, such as `lenet check`, name their own)."""
    try:
        code = body()
        sys.stdout.flush()  # a reader that went away (`| head`) shows up here, inside the handlers below
        return code
    except LenetError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return error_code
    except BrokenPipeError:
        return broken_pipe()
    except OSError as e:
        # Library code turns OS errors on user paths into LenetErrors where they happen (atomic writes,
        # locks, data and record readers); this is the backstop for one that slipped through: still one line.
        if e.filename is not None:
            msg = str(path_error(e.filename, e, writing=None))
        else:
            msg = f"{(e.strerror or str(e) or type(e).__name__).strip()}; check the paths you passed and re-run"
        print(f"{prog}: error: {' '.join(msg.split())}", file=sys.stderr)
        return error_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished epochs, passes and runs are saved: re-run the same command "
              f"(with --resume for `lenet train`) to continue", file=sys.stderr)
        return EXIT_INTERRUPTED


def broken_pipe() -> int:
    """The reader of our stdout went away (`lenet report --dry-run | head`): end quietly, as `cat` does.

    What is still buffered for stdout can never be written; pointing the descriptor at /dev/null keeps
    the interpreter's own flush at exit from printing a second BrokenPipeError (the recipe of Python's
    documentation, "Note on SIGPIPE" in the signal module)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture): nothing to redirect
        pass
    return EXIT_BROKEN_PIPE


def int_range(low: int, high: int, *, low_checked_later: bool = False) -> Callable[[str], int]:
    """An argparse `type` for an integer flag in low..high: anything else is argparse's one error line
    ("argument --jobs: must be an integer from 1 to 256, got 1000").

    `low_checked_later`: values below `low` pass through to the library check that refuses them in its
    own one line (where that message is older than this bound and tests pin it); only the upper
    bound, which nothing checked before, is argparse's here."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer from {low:,} to {high:,}, got {text!r}") from None
        if v > high or (v < low and not low_checked_later):
            raise argparse.ArgumentTypeError(f"must be an integer from {low:,} to {high:,}, got {v}")
        return v

    parse.__name__ = "integer"  # argparse names the type in its "invalid integer value" fallback
    return parse


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help of every `lenet` parser: each flag's default shown where it has one (not for an unset
    flag, a switch or an empty list); the description and epilog wrapped paragraph by paragraph, with
    lines indented by two spaces (the lists of recipes, rows and options) kept as written, one a line."""

    def _get_help_string(self, action):
        if action.default in (None, False, []) or action.help is None:
            return action.help
        return super()._get_help_string(action)

    def _fill_text(self, text, width, indent):
        out = []
        for para in text.split("\n\n"):
            lines = para.splitlines()
            if any(ln.startswith("  ") for ln in lines):
                out.append("\n".join(indent + ln for ln in lines))
            else:
                out.append(super()._fill_text(para, width, indent))
        return "\n\n".join(out)


def summary(doc: str | None) -> str:
    """A module docstring's first paragraph on one line: the `description` of its --help. (Its first
    line alone is cut mid-sentence wherever the paragraph wraps.)"""
    first = (doc or "").strip().split("\n\n")[0]
    return " ".join(first.split())
