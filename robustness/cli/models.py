"""``robustness models``: the curated model families, or the models of one."""

from __future__ import annotations

import argparse

from .common import split_list


def add_parser(subparsers) -> argparse.ArgumentParser:
    m = subparsers.add_parser("models", help="list model families, or the models of one")
    m.add_argument("--family", action="append")
    m.add_argument("--names", action="append", help="expand names and wildcards")
    m.set_defaults(func=run)
    return m


def run(args: argparse.Namespace) -> int:
    from ..zoo import FAMILIES, list_family, resolve_model_names  # timm: not for `--help`

    if args.names:
        for name in resolve_model_names(split_list(args.names)):
            print(name)
        return 0
    if not args.family:
        for name, spec in FAMILIES.items():
            n = len(list_family(name))
            print(f"{name:14s} {spec.kind:4s} {n:3d} models  {getattr(spec, 'description', '')}")
        return 0
    for fam in split_list(args.family):
        for name in list_family(fam):
            print(name)
    return 0
