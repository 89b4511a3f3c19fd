"""Command line: ``python -m corruptions build SRC OUT ...`` and ``python -m corruptions list``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .base import HELD_OUT, PRESETS
from .errors import run_command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m corruptions", description="ImageNet-C corruptions, faithful and fast."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a user error")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser(
        "build",
        help="write OUT/<corruption>/<severity>/<wnid>/<file> from an ImageNet-style folder",
        description="Corrupt an ImageNet-style folder SRC/<wnid>/<image> into the ImageNet-C "
        "layout. Resumes when rerun with the same settings; writes OUT/manifest.json.",
    )
    b.add_argument("src", help="folder with one sub-folder per class (e.g. ImageNet val)")
    b.add_argument("out", help="output folder")
    b.add_argument("--preset", default="imagenet", choices=PRESETS,
                   help="parameter table and geometry: imagenet resizes to 256 and crops 224; "
                   "tiny-imagenet (64 px) and cifar (32 px) use images as they are")  # fmt: skip
    b.add_argument("--corruptions", default="all",
                   help="all (ImageNet-C's 19) | common (the 15) | held-out | c-bar | shifts | "
                   "comma-separated names")  # fmt: skip
    b.add_argument("--severities", default="1-5", help="range or list, e.g. 1-5 or 1,3")
    b.add_argument("--seed", type=int, default=0, help="run seed (per-image seeds derive from it)")
    b.add_argument("--workers", type=int, default=1, help="worker processes")
    b.add_argument("--format", default="jpeg", choices=("jpeg", "png"),
                   help="jpeg: quality 85, optimize, source file names (as ImageNet-C); "
                   "png: lossless, <stem>.png")  # fmt: skip
    b.add_argument("--classes", default=None,
                   help="comma-separated class folders to process (default: all)")  # fmt: skip
    b.add_argument("--shard", default=None,
                   help="i/n: process every n-th image starting at i (0-based); the n shards "
                   "together write exactly the files of a full run")  # fmt: skip
    b.add_argument("--skip-bad-images", action="store_true",
                   help="skip unreadable source images (listed in the manifest) instead of stopping")  # fmt: skip
    b.add_argument("--force", action="store_true",
                   help="allow writing into OUT although it holds files built with another "
                   "seed, preset or format")  # fmt: skip
    b.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    from robustness.executors.cli_args import add_executor_arguments

    add_executor_arguments(b, build=True)

    sub.add_parser("list", help="print the available corruptions (held-out ones marked)")
    from .recollect.cli import add_parsers

    add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's mistake ends in one stderr line and exit code 2."""
    args = _parser().parse_args(argv)
    return run_command(lambda: _run(args), prog="python -m corruptions", debug=args.debug)


def _run(args: argparse.Namespace) -> int:
    if hasattr(args, "func"):  # recollect, replication-report
        return int(args.func(args) or 0)
    if args.command == "list":
        from .registry import registry

        for name, c in sorted(registry().items()):
            mark = " (held-out)" if name in HELD_OUT else ""
            print(f"{name:20s} {c.family}{mark}")
        return 0

    from .builder import build_corrupted_set

    if args.executor not in (None, "local") or args.config:
        from robustness.config import ConfigError
        from robustness.executors import submit_build
        from robustness.executors.cli_args import options_from_args

        try:
            opts = options_from_args(args)
        except (ConfigError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if opts.executor != "local":
            if args.shard:
                print("error: --shard is for one task; with --executor slurm use --shards N",
                      file=sys.stderr)
                return 2
            try:
                report = submit_build(
                    args.src, args.out, shards=args.shards or opts.array_parallelism, options=opts,
                    wait=not args.no_wait, preset=args.preset, corruptions=args.corruptions,
                    severities=args.severities, seed=args.seed, format=args.format,
                    classes=args.classes.split(",") if args.classes else None,
                    skip_bad_images=args.skip_bad_images, force=args.force,
                )
            except Exception as exc:  # sbatch refused the array (bad partition, resources, ...)
                print(f"error: the scheduler refused the build jobs: {exc}", file=sys.stderr)
                return 2
            print(report.describe() if not args.no_wait else f"logs: {report.log_dir}")
            return 0 if args.no_wait or report.ok else 1
    # BuildConfigError and SourceImageError are UserInputErrors: run_command prints them
    # as one "python -m corruptions: error: ..." line and exits with code 2.
    report = build_corrupted_set(
        args.src,
        args.out,
        preset=args.preset,
        corruptions=args.corruptions,
        severities=args.severities,
        seed=args.seed,
        format=args.format,
        workers=args.workers,
        classes=args.classes.split(",") if args.classes else None,
        shard=args.shard,
        skip_bad_images=args.skip_bad_images,
        force=args.force,
        progress=not args.no_progress,
    )
    print(
        f"{report.n_images} images: {report.n_written} files written, "
        f"{report.n_existing} already present, {len(report.bad_files)} bad images skipped; "
        f"manifest: {report.manifest_path}"
    )
    return 0
