"""Command line: ``python -m corruptions build SRC OUT ...``, ``python -m corruptions list`` and
``python -m corruptions imagenet-p SRC OUT ...`` (ImageNet-P videos, :mod:`corruptions.imagenet_p`).

Both run here, in this process. The cluster build (a Slurm job array, ``--executor slurm``)
is a subcommand of the harness, ``robustness build SRC OUT ... --executor slurm``, with the
same build flags: :func:`add_build_arguments` and :func:`run_local_build` are shared with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .base import HELD_OUT, PRESETS
from .builder import BuildReport, build_corrupted_set
from .errors import UserInputError, run_command
from .registry import registry

# The executor flags of `robustness build` (robustness.cli.executor_args, build=True).
# `python -m corruptions build` recognises them only to say where the cluster build went;
# tests/corruptions/test_cli.py checks this list against the harness's flags.
CLUSTER_FLAGS = ("--executor", "--config", "--partition", "--slurm-partition", "--gpus-per-job", "--cpus-per-job",
                 "--mem-gb", "--timeout-min", "--array-parallelism", "--log-dir", "--shards")  # fmt: skip
CLUSTER_SWITCHES = ("--no-wait",)
MOVED = ("the cluster build is a subcommand of the harness: run `robustness build SRC OUT ... "
         "--executor slurm` (same flags); `python -m corruptions build` builds in this process")  # fmt: skip


def add_build_arguments(b: argparse.ArgumentParser) -> None:
    """The builder's positional arguments and flags (``python -m corruptions build`` and
    ``robustness build``); every value is a keyword argument of ``build_corrupted_set``."""
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


BUILD_DESCRIPTION = ("Corrupt an ImageNet-style folder SRC/<wnid>/<image> into the ImageNet-C "
                     "layout. Resumes when rerun with the same settings; writes OUT/manifest.json.")  # fmt: skip
BUILD_HELP = "write OUT/<corruption>/<severity>/<wnid>/<file> from an ImageNet-style folder"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m corruptions", description="ImageNet-C corruptions, faithful and fast."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a user error")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help=BUILD_HELP,
                       description=BUILD_DESCRIPTION + " For a Slurm job array use `robustness "
                       "build SRC OUT ... --executor slurm`.")  # fmt: skip
    add_build_arguments(b)
    for flag in CLUSTER_FLAGS:  # recognised only to point at `robustness build`
        b.add_argument(flag, dest=f"cluster_{flag[2:].replace('-', '_')}", default=None,
                       help=argparse.SUPPRESS)  # fmt: skip
    for flag in CLUSTER_SWITCHES:
        b.add_argument(flag, dest=f"cluster_{flag[2:].replace('-', '_')}", action="store_true",
                       help=argparse.SUPPRESS)  # fmt: skip

    sub.add_parser("list", help="print the available corruptions (held-out ones marked)")

    p = sub.add_parser("imagenet-p", help="write OUT/<perturbation>[_<difficulty>]/<wnid>/<stem>.mp4",
                       description="ImageNet-P: one mp4 sequence per image and perturbation, "
                       "faithful to make_imagenet_p.py (needs PyAV: the imagenet-p extra). "
                       "Resumes when rerun with the same seed; writes OUT/manifest.json.")  # fmt: skip
    p.add_argument("src", help="folder with one sub-folder per class (e.g. ImageNet val)")
    p.add_argument("out", help="output folder")
    p.add_argument("--perturbations", default="all",
                   help="all (14) | test (10) | held-out (4) | noise | comma-separated names")  # fmt: skip
    p.add_argument("--difficulties", default="1",
                   help="noise levels of the noise types, e.g. 1-3; other types have one sequence")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="run seed (per-sequence seeds derive from it)")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--classes", default=None, help="comma-separated class folders (default: all)")
    p.add_argument("--shard", default=None, help="i/n: every n-th image starting at i (0-based)")
    p.add_argument("--skip-bad-images", action="store_true", help="skip unreadable source images")
    p.add_argument("--force", action="store_true", help="write into OUT despite another seed there")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--fast-encode", action="store_true",
                   help="let x264 use its assembly: 2-4x faster, but files are not byte-reproducible")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a user's mistake ends in one stderr line and exit code 2."""
    args = _parser().parse_args(argv)
    return run_command(lambda: _run(args), prog="python -m corruptions", debug=args.debug)


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        for name, c in sorted(registry().items()):
            mark = " (held-out)" if name in HELD_OUT else ""
            print(f"{name:20s} {c.family}{mark}")
        return 0
    if args.command == "imagenet-p":
        run_imagenet_p(args)
        return 0
    given = {k: v for k, v in vars(args).items() if k.startswith("cluster_") and v}
    if given and given != {"cluster_executor": "local"}:  # `--executor local` is this process
        raise UserInputError(MOVED)
    run_local_build(args)
    return 0


def run_local_build(args: argparse.Namespace) -> BuildReport:
    """Build in this process from the flags of :func:`add_build_arguments`; prints a summary.

    ``BuildConfigError`` and ``SourceImageError`` are ``UserInputError``s: the command
    lines print them as one ``error:`` line and exit with code 2."""
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
    return report


def run_imagenet_p(args: argparse.Namespace) -> BuildReport:
    """``python -m corruptions imagenet-p``: :func:`corruptions.imagenet_p.build_imagenet_p`."""
    from .imagenet_p import build_imagenet_p  # imported here: PyAV is an optional extra

    report = build_imagenet_p(
        args.src, args.out, perturbations=args.perturbations, difficulties=args.difficulties,
        seed=args.seed, workers=args.workers,
        classes=args.classes.split(",") if args.classes else None, shard=args.shard,
        skip_bad_images=args.skip_bad_images, force=args.force, progress=not args.no_progress,
        reproducible=not args.fast_encode,
    )  # fmt: skip
    print(
        f"{report.n_images} images: {report.n_written} videos written, "
        f"{report.n_existing} already present, {len(report.bad_files)} bad images skipped; "
        f"manifest: {report.manifest_path}"
    )
    return report
