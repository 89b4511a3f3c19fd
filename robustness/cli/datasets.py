"""``robustness datasets``: what each test-set reader expects on disk, and what is found."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    d = subparsers.add_parser("datasets", help="what each test set reader expects on disk")
    d.add_argument("--data-root", type=Path, default=None, help="also say which sets are found there")
    d.set_defaults(func=run)
    return d


def run(args: argparse.Namespace) -> int:
    from ..datasets import format_catalogue

    print(format_catalogue(args.data_root))
    return 0
