"""``robustness recollect`` and ``robustness replication-report``: re-collected test sets.

``recollect`` builds a new test set (ImageNetV2 layout) from a candidate pool;
``replication-report`` decomposes the accuracy gap between an original and a re-collected
set (:mod:`robustness.stats.replication`). A user's mistake (a bad pool file, option or
output folder) raises a ``UserInputError``; arguments are checked before anything is read
or written. The re-collection modules are imported when a subcommand runs: they import
scipy, which ``--help`` should not pay for.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from corruptions.errors import UserInputError


def _class_thresholds(values: list[str] | None) -> dict[str, float]:
    """``--class-threshold WNID=T`` (repeatable) -> {wnid: T}; T a frequency in [0, 1]."""
    out = {}
    for item in values or []:
        wnid, sep, t = item.partition("=")
        try:
            value = float(t)
        except ValueError:
            value = float("nan")
        if not sep or not wnid.strip() or not 0.0 <= value <= 1.0:
            raise UserInputError(f"--class-threshold {item}: expected WNID=T with T a selection "
                                 "frequency in [0, 1], e.g. --class-threshold n01440764=0.6")
        out[wnid.strip()] = value
    return out


def add_recollect_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "recollect",
        help="build a new test set (ImageNetV2 layout) from a candidate pool",
        description="Sample a re-collected test set from a candidate pool (CSV: path,wnid,shown,"
        "selected[,source,date,dup_group,previous]) and write OUT/<class index>/<file> with "
        "OUT/manifest.csv and OUT/manifest.json. Classes that cannot be filled are reported.",
    )
    p.add_argument("pool", type=Path, help="candidate pool file (CSV or parquet)")
    p.add_argument("out", type=Path, help="output folder (ImageNetV2 layout)")
    p.add_argument("--strategy", default="matched-frequency",
                   help="matched-frequency (default), threshold or top-images")
    p.add_argument("--originals", type=Path, help="pool file of the original test images "
                   "(needed by matched-frequency and by --screen-duplicates)")  # fmt: skip
    p.add_argument("--pool-root", type=Path, help="folder pool paths are relative to (default: the pool file's)")
    p.add_argument("--originals-root", type=Path, help="folder original paths are relative to")
    p.add_argument("--k", type=int, default=10, help="images per class (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-annotations", type=int, default=10,
                   help="annotators an image needs to be used (default 10)")  # fmt: skip
    p.add_argument("--min-originals", type=int, default=20,
                   help="matched-frequency: original images a class needs (default 20)")  # fmt: skip
    p.add_argument("--threshold", type=float, default=0.7, help="threshold: minimum frequency (default 0.7)")
    p.add_argument("--class-threshold", action="append", metavar="WNID=T", help="per-class threshold")
    p.add_argument("--keep-previous", action="store_true",
                   help="take candidates marked previous=1 first (matched-frequency, threshold)")  # fmt: skip
    p.add_argument("--screen-duplicates", action="store_true",
                   help="drop near duplicates of originals and of each other before sampling; "
                   "pairs are written to OUT/near_duplicates.csv for review")  # fmt: skip
    p.add_argument("--max-hamming", type=int, default=None, help="pHash Hamming limit (default 20 of 64)")
    p.add_argument("--max-rms", type=float, default=None, help="thumbnail RMS limit, 0-255 (default 10)")
    p.add_argument("--link", choices=("copy", "hardlink", "symlink"), default="copy")
    p.add_argument("--force", action="store_true", help="write into a non-empty OUT")
    p.set_defaults(func=run_recollect)
    return p


def add_replication_report_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "replication-report",
        help="naive, adjusted and bias-corrected gap between an original and a re-collected set",
        description="Engstrom et al. (2020): post-stratify the new set to the original's "
        "selection-frequency distribution and extrapolate to infinitely many annotators "
        "(delete-d jackknife). Gaps are new minus original (negative: accuracy fell), in percent points, with "
        "percentile bootstrap intervals.",
    )
    p.add_argument("--out", type=Path, default=Path("results"), help="results folder holding the per-image store")
    p.add_argument("--model", help="model name as stored (e.g. resnet50.a1_in1k)")
    p.add_argument("--original-set", default="imagenet", help="stored name of the original set")
    p.add_argument("--new-set", help="stored name of the re-collected set")
    p.add_argument("--original-records", type=Path, help="CSV relpath,correct instead of the store")
    p.add_argument("--new-records", type=Path, help="CSV relpath,correct instead of the store")
    p.add_argument("--original-frequencies", type=Path, required=True,
                   help="pool file with the original images' frequencies (paths = relpaths)")  # fmt: skip
    p.add_argument("--new-frequencies", type=Path, required=True,
                   help="pool file with the new images' frequencies, e.g. OUT/manifest.csv "
                   "(re-measured frequencies from fresh annotators are better)")  # fmt: skip
    p.add_argument("--annotators", type=int, default=None, help="n (default: smallest 'shown')")
    p.add_argument("--d", type=int, default=1, help="votes deleted per jackknife step (default 1)")
    p.add_argument("--order", type=int, default=1, choices=(1, 2),
                   help="1: delete-d jackknife; 2: also removes a 1/n^2 bias term")  # fmt: skip
    p.add_argument("--strata", choices=("exact", "bins"), default="exact",
                   help="exact vote counts (default) or the 5 MatchedFrequency bins")  # fmt: skip
    p.add_argument("--draws", type=int, default=20, help="random vote deletions per level")
    p.add_argument("--uncovered-strata", choices=("zero", "drop"), default="zero",
                   help="original strata without new images: count as accuracy 0 (default; "
                   "run_jackknife.py, the paper) or drop and renormalise; the other rule's "
                   "corrected gap is printed too")  # fmt: skip
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="write the report here (default: "
                   "OUT/replication/<model>__<new set>.json)")  # fmt: skip
    p.set_defaults(func=run_replication_report)
    return p


def run_recollect(args: argparse.Namespace) -> int:
    from ..recollect.duplicates import (
        DEFAULT_MAX_HAMMING,
        DEFAULT_MAX_RMS,
        find_near_duplicates,
        fingerprint_pool,
        screen_pool,
    )
    from ..recollect.layout import OutputFolderError, write_test_set
    from ..recollect.pool import load_pool
    from ..recollect.sampling import STRATEGIES, matched_frequency, threshold, top_images
    from ..stats.replication import DEFAULT_BIN_EDGES

    if args.strategy not in STRATEGIES:
        raise UserInputError(f"--strategy {args.strategy}: expected one of {', '.join(STRATEGIES)}")

    if args.strategy == "matched-frequency" and args.originals is None:
        raise UserInputError("--strategy matched-frequency needs --originals (pool file of the "
                             "original test images with their frequencies)")  # fmt: skip
    per_class_t = _class_thresholds(args.class_threshold)
    try:
        candidates = load_pool(args.pool, root=args.pool_root)
        originals = load_pool(args.originals, root=args.originals_root) if args.originals else None
        if args.out.exists() and any(args.out.iterdir()) and not args.force:
            raise OutputFolderError(f"{args.out} is not empty; choose a new folder or pass --force")
        extra = {}
        if args.screen_duplicates:
            pairs = find_near_duplicates(
                fingerprint_pool(candidates), fingerprint_pool(originals) if originals else None,
                max_hamming=args.max_hamming if args.max_hamming is not None else DEFAULT_MAX_HAMMING,
                max_rms=args.max_rms if args.max_rms is not None else DEFAULT_MAX_RMS)  # fmt: skip
            candidates, removed = screen_pool(candidates, pairs)
            args.out.mkdir(parents=True, exist_ok=True)
            pairs.to_csv(args.out / "near_duplicates.csv", index=False)
            removed.to_csv(args.out / "removed_duplicates.csv", index=False)
            extra = {"near_duplicate_pairs": len(pairs), "removed_as_duplicates": len(removed)}
            print(f"duplicate screening: {len(pairs)} pairs, {len(removed)} candidates removed "
                  f"(see {args.out / 'near_duplicates.csv'})")  # fmt: skip
        if args.strategy == "matched-frequency":
            result = matched_frequency(candidates, originals, k=args.k, seed=args.seed,
                                       min_annotations=args.min_annotations, min_originals=args.min_originals,
                                       edges=DEFAULT_BIN_EDGES, keep_previous=args.keep_previous)  # fmt: skip
        elif args.strategy == "threshold":
            result = threshold(candidates, k=args.k, t=args.threshold, seed=args.seed,
                               min_annotations=args.min_annotations,
                               per_class_t=per_class_t,
                               keep_previous=args.keep_previous)  # fmt: skip
        else:
            result = top_images(candidates, k=args.k, seed=args.seed, min_annotations=args.min_annotations)
        written = write_test_set(result, candidates, args.out, mode=args.link, force=True, extra=extra)
    except OSError as exc:  # an image named in the pool is missing, OUT is not writable, ...
        raise UserInputError(f"{exc}; check the paths in {args.pool} (relative to --pool-root or "
                             f"the pool file's folder) and that {args.out} can be written") from exc
    print(f"{written.n_images} images written to {written.out} ({result.strategy}); "
          f"manifest: {written.manifest_csv}")  # fmt: skip
    for s in written.shortfalls:
        print(f"  short: {s.wnid} got {s.got} of {s.wanted}: {s.reason}")
    if written.shortfalls:
        print(f"{len(written.shortfalls)} class(es) could not be filled (listed in {written.manifest_json})")
    return 0


def run_replication_report(args: argparse.Namespace) -> int:
    from ..recollect.pool import load_pool
    from ..recollect.report import (
        format_report,
        load_csv_records,
        load_store_records,
        replication_report,
        write_report,
    )
    from ..stats.replication import DEFAULT_BIN_EDGES

    if (args.original_records is None or args.new_records is None) and not (args.model and args.new_set):
        raise UserInputError("give --model and --new-set (records from the store under --out), "
                             "or --original-records and --new-records CSVs")  # fmt: skip
    try:
        original = (load_csv_records(args.original_records) if args.original_records
                    else load_store_records(args.out, args.model, args.original_set))  # fmt: skip
        new = (load_csv_records(args.new_records) if args.new_records
               else load_store_records(args.out, args.model, args.new_set))  # fmt: skip
        gaps = replication_report(
            original, load_pool(args.original_frequencies), new, load_pool(args.new_frequencies),
            n_annotators=args.annotators, d=args.d, order=args.order,
            edges=None if args.strata == "exact" else DEFAULT_BIN_EDGES,
            n_draws=args.draws, n_resamples=args.resamples, seed=args.seed,
            uncovered_strata=args.uncovered_strata)  # fmt: skip
    except UserInputError:  # a bad pool file, no such unit in the store, ...
        raise
    except (ValueError, OSError) as exc:  # unreadable records CSV, mismatched inputs
        raise UserInputError(str(exc)) from exc
    title = (f"{args.model}: {args.original_set} -> {args.new_set}" if args.model and args.new_set
             else f"{original.source} -> {new.source}")  # fmt: skip
    print(format_report(gaps, title))
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{args.model}__{args.new_set}")
    target = args.json or args.out / "replication" / f"{safe}.json"
    write_report(gaps, target, {"model": args.model, "original_set": args.original_set,
                                "new_set": args.new_set, "unit": "fraction; gap = new - original"})  # fmt: skip
    print(f"written: {target}")
    return 0


def add_parser(subparsers) -> None:
    """Add ``recollect`` and ``replication-report`` to the sub-parser group."""
    add_recollect_parser(subparsers)
    add_replication_report_parser(subparsers)
