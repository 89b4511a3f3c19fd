"""The one error type for a user's mistake, and how a command line reports errors.

A user's mistake (bad argument, bad input file, wrong layout) raises
:class:`UserInputError` or a subclass. Both command lines (``python -m
corruptions`` and ``robustness``) run through :func:`run_command`, which prints
such an error as one short message on stderr and exits with code 2, without a
traceback (``--debug`` shows it). Any other exception is a bug: it is shown with
its traceback and exit code 1. This lives in the leaf package so that
``corruptions`` needs nothing from ``robustness``; ``robustness.errors``
re-exports it.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

USAGE_EXIT = 2
BUG_EXIT = 1
INTERRUPTED_EXIT = 130


class UserInputError(ValueError):
    """Something the user gave is wrong; the message says what, what was expected, and the fix."""


def run_command(func: Callable[[], int | None], prog: str, debug: bool = False,
                interrupted: str = "interrupted") -> int:
    """Run ``func`` and map its outcome to an exit code (see the module docstring)."""
    try:
        return int(func() or 0)
    except UserInputError as exc:
        if debug:
            traceback.print_exc()
        print(f"{prog}: error: {str(exc).strip()}", file=sys.stderr)
        return USAGE_EXIT
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return INTERRUPTED_EXIT
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except Exception:
        traceback.print_exc()
        print(f"{prog}: internal error: this is a bug in robustness-harness, not in your input; "
              "please report it with the traceback above", file=sys.stderr)
        return BUG_EXIT


def failure_reason(cause: BaseException | str, prefix: str, hint: str) -> str:
    """What ``cause`` says is wrong, without what its wrapper adds again: ``prefix`` (the
    "cannot read image PATH: " an earlier wrapping put in front) and the closing ``hint``.

    An ``OSError`` about a file gives its ``strerror`` alone (its text repeats the path)."""
    if isinstance(cause, OSError) and cause.strerror and cause.filename is not None:
        return cause.strerror
    text = str(cause).strip()
    while text.startswith(prefix):
        text = text[len(prefix):]
    if text.endswith(hint):
        text = text[: -len(hint)].rstrip()
    return text.rstrip(".") or (type(cause).__name__ if isinstance(cause, BaseException) else "unreadable")
