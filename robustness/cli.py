"""The ``robustness`` command line. Every subcommand calls the public Python API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corruptions.errors import UserInputError


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        if "=" not in v:
            raise UserInputError(f"{what} must look like NAME=PATH, got {v!r}")
        k, p = v.split("=", 1)
        out[k.strip()] = p.strip()
    return out


def _dataset_options(values: list[str] | None) -> dict[str, dict[str, object]]:
    """``NAME:key=value`` -> {NAME: {key: value}}; true/false/integers are converted."""
    out: dict[str, dict[str, object]] = {}
    for v in values or []:
        if ":" not in v or "=" not in v.split(":", 1)[1]:
            raise UserInputError(f"--dataset-option must look like NAME:key=value, got {v!r}")
        name, kv = v.split(":", 1)
        key, raw = kv.split("=", 1)
        value: object = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        elif raw.lstrip("-").isdigit():
            value = int(raw)
        out.setdefault(name.strip(), {})[key.strip()] = value
    return out


def _weights(values: list[str] | None, models: list[str]) -> dict[str, str]:
    """``--weights MODEL=PATH`` (repeatable), or a bare ``--weights PATH`` with one model."""
    if values and len(values) == 1 and "=" not in values[0]:
        if len(models) != 1:
            raise UserInputError("a bare --weights PATH needs exactly one model; use --weights MODEL=PATH")
        return {models[0]: values[0]}
    return _pairs(values, "--weights")


def cmd_eval(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .datasets import expand_dataset_names
    from .engine import EvalConfig
    from .executors import submit_evaluation
    from .executors.cli_args import options_from_args
    from .report.tables import write_tables
    from .store import Store
    from .zoo import resolve_model_names

    try:
        executor_options = options_from_args(args)
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise UserInputError(str(exc)) from exc
    names = _split(args.models) + [f"family:{f}" for f in _split(args.family)]
    if not names:
        raise UserInputError("name models with --models or a family with --family (see `robustness models`)")
    models = resolve_model_names(names)
    weights = _weights(args.weights, models)
    roots = _pairs(args.root, "--root")
    asked = expand_dataset_names(_split(args.datasets), args.data_root, roots=roots)
    sets = asked if args.no_baselines else expand_dataset_names(asked, args.data_root, roots=roots,
                                                                with_baselines=True)
    if len(sets) > len(asked):
        print(f"adding the baselines the gaps need: {', '.join(sets[len(asked):])} "
              "(--no-baselines to leave them out)", file=sys.stderr)
    config = EvalConfig(
        batch_size=args.batch_size,
        workers=args.workers,
        device=args.device,
        precision=args.precision,
        save_logits=args.save_logits,
        skip_bad_images=args.skip_bad_images,
        checkpoint_every=args.checkpoint_every,
        progress=not args.no_progress,
    )
    options = _dataset_options(args.dataset_option)
    if args.allow_partial:
        for name in sets:
            options.setdefault(name, {})["allow_partial"] = True
    report = submit_evaluation(models, sets, args.out, data_root=args.data_root, roots=roots,
                               config=config, weights=weights, options=executor_options,
                               dataset_options=options, wait=not args.no_wait,
                               only_failed=args.only_failed, recheck=args.recheck)
    if args.no_wait:
        return 0
    written = write_tables(Store(args.out), args.out)
    table = report.accuracy_table()
    if table:
        print(table)
    print(report.describe())
    if written:
        print(f"tables: {len(written)} CSV file(s) in {args.out}")
    return 0 if report.ok else 1


def cmd_models(args: argparse.Namespace) -> int:
    from .zoo import FAMILIES, list_family, resolve_model_names

    if args.names:
        for name in resolve_model_names(_split(args.names)):
            print(name)
        return 0
    if not args.family:
        for name, spec in FAMILIES.items():
            n = len(list_family(name))
            print(f"{name:14s} {spec.kind:4s} {n:3d} models  {getattr(spec, 'description', '')}")
        return 0
    for fam in _split(args.family):
        for name in list_family(fam):
            print(name)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from .datasets import format_catalogue

    print(format_catalogue(args.data_root))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .datasets import open_test_set
    from .executors import sweep_status
    from .executors.state import StaleCheck, recorded_set_opener

    stale = None if args.no_stale_check else StaleCheck(open_set=recorded_set_opener(open_test_set))
    print(f"{args.out}: " + sweep_status(args.out, stale).describe())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.run import DemoConfig, reduced_config, run_demo

    cfg = reduced_config(args.seed) if args.reduced else DemoConfig(seed=args.seed)
    run_demo(cfg, out=args.out, cache=args.cache, progress=not args.no_progress)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .cli_types import NON_NEGATIVE_INT, POSITIVE_INT

    p = argparse.ArgumentParser(prog="robustness", description=__doc__)
    p.add_argument("--debug", action="store_true", help="show the traceback of a user error")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("eval", help="evaluate models on test sets into the per-image store")
    e.add_argument("--models", action="append", help="model names, comma-separated; wildcards allowed")
    e.add_argument("--family", action="append", help="curated model family (see `robustness models`)")
    e.add_argument("--datasets", action="append", required=True,
                   help="test sets, comma-separated (see `robustness datasets`); 'imagenet-c' (also 'imagenet-c-bar', 'imagenet-shifts') expands to every corruption/severity on disk")
    e.add_argument("--data-root", type=Path, default=None, help="folder holding each test set's default subfolder")
    e.add_argument("--root", action="append", metavar="NAME=PATH", help="folder of one test set, overriding --data-root")
    e.add_argument("--weights", action="append", metavar="[MODEL=]PATH",
                   help="local weight file (.safetensors or a state dict) for a model; PATH alone when one model is named")
    e.add_argument("--dataset-option", action="append", metavar="NAME:KEY=VALUE",
                   help="reader option, e.g. objectnet:border_px=2 or imagenet-real:real_json=/path/real.json")
    e.add_argument("--no-baselines", action="store_true",
                   help="do not add the baseline sets the gaps need (imagenet for V2 and C, "
                   "imagenet-r-clean for imagenet-r, ...)")
    e.add_argument("--allow-partial", action="store_true",
                   help="accept incomplete copies of test sets (a subset of the classes or files)")
    e.add_argument("--out", type=Path, default=Path("results"))
    e.add_argument("--device", default="auto")
    e.add_argument("--batch-size", type=POSITIVE_INT, default=64)
    e.add_argument("--workers", type=NON_NEGATIVE_INT, default=4, help="DataLoader worker processes")
    e.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"])
    e.add_argument("--save-logits", action="store_true", help="also store float16 logits")
    e.add_argument("--skip-bad-images", action="store_true",
                   help="skip unreadable images (counted in the unit metadata) instead of failing the unit")
    e.add_argument("--checkpoint-every", type=POSITIVE_INT, default=2048, help="images between resume checkpoints")
    e.add_argument("--no-progress", action="store_true")
    from .executors.cli_args import add_executor_arguments

    add_executor_arguments(e)
    e.set_defaults(func=cmd_eval)

    m = sub.add_parser("models", help="list model families, or the models of one")
    m.add_argument("--family", action="append")
    m.add_argument("--names", action="append", help="expand names and wildcards")
    m.set_defaults(func=cmd_models)

    d = sub.add_parser("datasets", help="what each test set reader expects on disk")
    d.add_argument("--data-root", type=Path, default=None, help="also say which sets are found there")
    d.set_defaults(func=cmd_datasets)

    from .build_cli import add_build_parser
    from .recollect.cli import add_parsers as add_recollect_parsers
    from .report.analysis import add_report_arguments, run_report
    from .report.published import add_analyze_parser

    r = sub.add_parser("report", help="tables, gaps, fits, corruption metrics and plots, from the store alone")
    add_report_arguments(r)
    r.set_defaults(func=run_report)
    add_analyze_parser(sub)
    add_recollect_parsers(sub)
    add_build_parser(sub)

    dm = sub.add_parser("demo", help="the whole job on a simulated benchmark world (offline, minutes)")
    dm.add_argument("--out", type=Path, default=Path("results/demo"))
    dm.add_argument("--cache", type=Path, default=None,
                    help="where the world and the tiny zoo are kept (default ~/.cache/robustness-harness/demo)")
    dm.add_argument("--seed", type=int, default=0)
    dm.add_argument("--reduced", action="store_true", help="a small world (what the tests run)")
    dm.add_argument("--no-progress", action="store_true")
    dm.set_defaults(func=cmd_demo)

    s = sub.add_parser("status", help="finished, partly done and failed units in a results folder")
    s.add_argument("--out", type=Path, default=Path("results"))
    s.add_argument("--no-stale-check", action="store_true",
                   help="do not re-list test sets and weights files to find stale units (faster)")
    s.set_defaults(func=cmd_status)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. A user's mistake: one line on stderr, exit code 2 (see robustness.errors)."""
    from .errors import run_command

    args = build_parser().parse_args(argv)
    return run_command(lambda: args.func(args), prog="robustness", debug=args.debug,
                       interrupted="interrupted: finished units and checkpoints are kept; rerun "
                       "the same command to resume")


if __name__ == "__main__":
    raise SystemExit(main())
