"""The ``robustness`` command line: one module per subcommand, each calling the public Python API.

Each module has ``add_parser(subparsers)`` and ``run(args) -> int``. A user's mistake raises
:class:`~corruptions.errors.UserInputError` and ends in one line on stderr and exit code 2
(``--debug`` shows the traceback; :func:`corruptions.errors.run_command`). The subcommand
modules import torch, pandas and scipy inside ``run``, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse

from corruptions.errors import run_command

from . import analyze, build, datasets, demo, evaluate, models, recollect, report, status

SUBCOMMANDS = (evaluate, models, datasets, report, analyze, recollect, build, demo, status)
"""In the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robustness",
        description="How far does an image classifier's accuracy fall when it leaves "
        "ImageNet? Every subcommand calls the public Python API.",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a user error")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. A user's mistake: one line on stderr, exit code 2."""
    args = build_parser().parse_args(argv)
    return run_command(
        lambda: args.func(args),
        prog="robustness",
        debug=args.debug,
        interrupted="interrupted: finished units and checkpoints are kept; rerun "
        "the same command to resume",
    )
