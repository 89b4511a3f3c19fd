"""``robustness build SRC OUT ...``: the corruption builder, here or as a Slurm job array.

The build flags are those of ``python -m corruptions build``
(:func:`corruptions.cli.add_build_arguments`); the executor flags those of ``robustness eval``
with ``--shards`` instead of ``--units-per-job``
(:func:`~robustness.cli.executor_args.add_executor_arguments` with ``build=True``). Without
``--executor`` (or ``--config`` naming another executor) the set is built in this process,
exactly as ``python -m corruptions build`` does; with ``--executor slurm`` the source images
are split over ``--shards`` array tasks (:func:`robustness.executors.submit_build`).
A user's mistake raises :class:`~corruptions.errors.UserInputError` (exit code 2).
"""

from __future__ import annotations

import argparse

from corruptions.cli import BUILD_DESCRIPTION, BUILD_HELP, add_build_arguments, run_local_build
from corruptions.errors import UserInputError

from .executor_args import add_executor_arguments, executor_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``build`` to an argparse sub-parser group; it sets ``func`` to :func:`run`."""
    b = subparsers.add_parser("build", help=BUILD_HELP + " (here or on Slurm)",
                              description=BUILD_DESCRIPTION + " With --executor slurm the "
                              "source images are split over --shards array tasks.")  # fmt: skip
    add_build_arguments(b)
    add_executor_arguments(b, build=True)
    b.set_defaults(func=run)
    return b


def run(args: argparse.Namespace) -> int:
    from ..executors import submit_build  # submitit: imported only for a cluster build

    opts = executor_options(args)
    if opts.executor == "local":  # --shards and --no-wait only matter on a scheduler
        run_local_build(args)
        return 0
    if args.shard:
        raise UserInputError("--shard is for one task; with --executor slurm use --shards N")
    try:
        report = submit_build(
            args.src, args.out, shards=args.shards or opts.array_parallelism, options=opts,
            wait=not args.no_wait, preset=args.preset, corruptions=args.corruptions,
            severities=args.severities, seed=args.seed, format=args.format,
            classes=args.classes.split(",") if args.classes else None,
            skip_bad_images=args.skip_bad_images, force=args.force,
        )  # fmt: skip
    except Exception as exc:  # sbatch refused the array (bad partition, resources, ...)
        raise UserInputError(f"the scheduler refused the build jobs: {exc}") from exc
    print(report.describe() if not args.no_wait else f"logs: {report.log_dir}")
    return 0 if args.no_wait or report.ok else 1
