"""``robustness status``: finished, stale, locked, failed and pending units of a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    s = subparsers.add_parser("status", help="finished, partly done and failed units in a results folder")
    s.add_argument("--out", type=Path, default=Path("results"))
    s.add_argument("--no-stale-check", action="store_true",
                   help="do not re-list test sets and weights files to find stale units (faster)")
    s.set_defaults(func=run)
    return s


def run(args: argparse.Namespace) -> int:
    from ..datasets import open_test_set
    from ..executors import sweep_status
    from ..executors.state import StaleCheck, recorded_set_opener

    stale = None if args.no_stale_check else StaleCheck(open_set=recorded_set_opener(open_test_set))
    print(f"{args.out}: " + sweep_status(args.out, stale).describe())
    return 0
