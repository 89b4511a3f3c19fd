"""``robustness models``: the curated model families, or the models of one."""

from __future__ import annotations

import argparse

from .common import split_list


def add_parser(subparsers) -> argparse.ArgumentParser:
    m = subparsers.add_parser("models", help="list model families, or the models of one")
    m.add_argument("--family", action="append",
                   help="a family's models; 'clip' lists every open_clip model with its size and cache status")
    m.add_argument("--names", action="append", help="expand names and wildcards")
    m.set_defaults(func=run)
    return m


def run(args: argparse.Namespace) -> int:
    from ..zoo.families import FAMILIES, list_family  # plain data: no timm, no torch

    if args.names:
        from ..zoo import resolve_model_names  # wildcards are matched against timm's names
        for name in resolve_model_names(split_list(args.names)):
            print(name)
        return 0
    if not args.family:
        for name, spec in FAMILIES.items():
            n = len(list_family(name))
            print(f"{name:14s} {spec.kind:4s} {n:3d} models  {getattr(spec, 'description', '')}")
        return 0
    for fam in split_list(args.family):
        if fam.removeprefix("family:") == "clip":
            _list_open_clip()
            continue
        for name in list_family(fam):
            print(name)
    return 0


def _list_open_clip() -> None:
    """``--family clip``: every (architecture, tag) open_clip knows, as ``openclip:`` names, with
    its parameter count (image + text tower, millions) and where its weights are cached."""
    import logging

    from ..zoo.openclip_models import openclip_catalogue

    logging.getLogger().setLevel(logging.ERROR)  # open_clip logs a warning per built model
    entries = openclip_catalogue()
    for e in entries:
        size = f"{e.params_m:8.1f}M" if e.params_m is not None else "       ?"
        print(f"{e.name:60s} {size}  {'cached: ' + e.cached if e.cached else 'not cached'}")
    print(f"{len(entries)} open_clip models, {sum(e.cached is not None for e in entries)} cached; "
          "the curated family is clip-zeroshot (make clip)")
