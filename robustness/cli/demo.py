"""``robustness demo``: the whole job on a simulated benchmark world (offline, minutes)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    dm = subparsers.add_parser("demo", help="the whole job on a simulated benchmark world (offline, minutes)")
    dm.add_argument("--out", type=Path, default=Path("results/demo"))
    dm.add_argument("--cache", type=Path, default=None,
                    help="where the world and the tiny zoo are kept (default ~/.cache/robustness-harness/demo)")
    dm.add_argument("--seed", type=int, default=0)
    dm.add_argument("--reduced", action="store_true", help="a small world (what the tests run)")
    dm.add_argument("--no-progress", action="store_true")
    dm.set_defaults(func=run)
    return dm


def run(args: argparse.Namespace) -> int:
    from ..demo.run import DemoConfig, reduced_config, run_demo

    cfg = reduced_config(args.seed) if args.reduced else DemoConfig(seed=args.seed)
    run_demo(cfg, out=args.out, cache=args.cache, progress=not args.no_progress)
    return 0
