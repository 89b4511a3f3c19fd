"""``robustness analyze TABLES... --out DIR``: gaps, fits and corruption metrics from
published result tables (timm's ``results-<set>.csv``, the imagenet-testbed's wide CSV)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from corruptions.errors import UserInputError

from .report import add_analysis_arguments, analysis_options


def image_counts(items: Sequence[str] | None) -> dict[str, int]:
    """``--n objectnet=18574`` (repeatable) -> {name: n}."""
    sizes = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if not name.strip() or not value.strip().isdigit() or int(value) <= 0:
            raise UserInputError(f"--n {item}: expected NAME=N with N a positive image count, "
                                 "e.g. --n objectnet=18574")
        sizes[name.strip()] = int(value)
    return sizes


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "analyze", help="gaps, fits and corruption metrics from published result tables")
    parser.add_argument("tables", nargs="+", type=Path, metavar="TABLES",
                        help="timm results CSVs (results-<set>.csv) and/or the imagenet-testbed "
                        "wide CSV")
    parser.add_argument("--out", type=Path, required=True, help="folder for tables and plots")
    parser.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                        help="timm table that shifted sets are compared with (default: the "
                        "first; ImageNet-R/-A use their -clean tables when given)")
    parser.add_argument("--n", action="append", metavar="NAME=N",
                        help="images in test set NAME (overrides the built-in sizes)")
    parser.add_argument("--imagenet-c-mode", default="on-disk",
                        help="which imagenet-testbed ImageNet-C columns to read: on-disk "
                        "(default) or in-memory")
    parser.add_argument("--accuracy-scale", default="auto",
                        help="whether the tables' accuracies are percent (69.1) or fractions "
                        "(0.691); auto tells it per table from top1 + top1_err and refuses a "
                        "table where it cannot")
    add_analysis_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Written paths on stdout, notes on the inputs on stderr."""
    from ..report.published import ACCURACY_SCALES, C_MODES, analyze_tables  # see cli.report

    for flag, value, allowed in (("--imagenet-c-mode", args.imagenet_c_mode, C_MODES),
                                 ("--accuracy-scale", args.accuracy_scale, ACCURACY_SCALES)):
        if value not in allowed:
            raise UserInputError(f"{flag} {value}: expected one of {', '.join(allowed)}")
    written, notes = analyze_tables(args.tables, args.out, args.baseline, image_counts(args.n),
                                    args.imagenet_c_mode, analysis_options(args),
                                    args.accuracy_scale)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for path in written:
        print(path)
    return 0
