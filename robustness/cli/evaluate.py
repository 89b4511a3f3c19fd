"""``robustness eval``: evaluate models on test sets into the per-image store.

Flags are spelt like the fields they set: :class:`~robustness.engine.EvalConfig`
(``--batch-size`` is ``batch_size``, ``--fingerprint`` is ``fingerprint``) and the
executor options (:mod:`robustness.cli.executor_args`). ``--test-sets`` is also
accepted as ``--datasets``, its name before the vocabulary pass.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corruptions.errors import UserInputError

from ..ranges import NON_NEGATIVE_INT, POSITIVE_INT
from .common import dataset_options, flag_type, name_value_pairs, split_list, weights_files
from .executor_args import add_executor_arguments, executor_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    e = subparsers.add_parser("eval", help="evaluate models on test sets into the per-image store")
    e.add_argument("--models", action="append", help="model names, comma-separated; wildcards allowed")
    e.add_argument("--family", action="append", help="curated model family (see `robustness models`)")
    e.add_argument("--test-sets", "--datasets", dest="test_sets", action="append", required=True,
                   help="test sets, comma-separated (see `robustness datasets`); 'default' is the "
                   "catalogue's benchmark list; a set group ('imagenet-c', 'imagenet-c-bar', "
                   "'imagenet-shifts') expands to every corruption/severity on disk")
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
    e.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:N, mps")
    e.add_argument("--batch-size", type=flag_type(POSITIVE_INT), default=64)
    e.add_argument("--workers", type=flag_type(NON_NEGATIVE_INT), default=4, help="DataLoader worker processes")
    e.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"])
    e.add_argument("--save-logits", action="store_true", help="also store float16 logits")
    e.add_argument("--skip-bad-images", action="store_true",
                   help="skip unreadable images (counted in the unit metadata) instead of failing the unit")
    e.add_argument("--checkpoint-every", type=flag_type(POSITIVE_INT), default=2048,
                   help="images between resume checkpoints")
    e.add_argument("--fingerprint", choices=("stat", "content"), default="stat",
                   help="how a test set's images are identified: stat (paths, sizes, mtimes; "
                   "default) or content (SHA-256 of every file: slower, survives copies that "
                   "do not keep mtimes)")
    e.add_argument("--upgrade-old-units", action="store_true",
                   help="recompute finished units of an older store format in place (format 1 "
                   "stored no per-image confidences, which calibration and OOD tables need)")
    e.add_argument("--no-progress", action="store_true")
    add_executor_arguments(e)
    e.set_defaults(func=run)
    return e


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: they import torch, which `--help` must not pay for.
    from ..datasets import expand_dataset_names
    from ..engine import EvalConfig
    from ..executors import submit_evaluation
    from ..report.tables import write_tables
    from ..store import Store
    from ..zoo import resolve_model_names

    options = executor_options(args)
    names = split_list(args.models) + [f"family:{f}" for f in split_list(args.family)]
    if not names:
        raise UserInputError("name models with --models or a family with --family (see `robustness models`)")
    models = resolve_model_names(names)
    weights = weights_files(args.weights, models)
    roots = name_value_pairs(args.root, "--root")
    asked = expand_dataset_names(split_list(args.test_sets), args.data_root, roots=roots)
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
        fingerprint=args.fingerprint,
        upgrade_old_units=args.upgrade_old_units,
    )
    set_options = dataset_options(args.dataset_option)
    if args.allow_partial:
        for name in sets:
            set_options.setdefault(name, {})["allow_partial"] = True
    report = submit_evaluation(models, sets, args.out, data_root=args.data_root, roots=roots,
                               config=config, weights=weights, options=options,
                               dataset_options=set_options, wait=not args.no_wait,
                               only_failed=args.only_failed, recheck=args.recheck)
    if args.no_wait:
        return 0
    ran = report.ran_units()
    written = write_tables(Store(args.out), args.out, models=ran[0], test_sets=ran[1]) if ran[0] else []
    table = report.accuracy_table()
    if table:
        print(table)
    print(report.describe())
    if written:
        print(f"tables: {len(written)} CSV file(s) in {args.out}")
    return 0 if report.ok else 1
