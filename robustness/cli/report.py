"""``robustness report``: tables, gaps, fits, corruption metrics and plots, from the store alone.

The analysis flags (:func:`add_analysis_arguments`) are shared with ``robustness analyze``
and spelt like the :class:`~robustness.report.analysis.AnalysisOptions` fields they set.
The analysis modules are imported inside the functions that use them: pandas and scipy
cost a second at start-up, which ``--help`` and the other subcommands should not pay.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corruptions.errors import UserInputError


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``robustness report`` and ``robustness analyze``."""
    parser.add_argument("--scales", default=None,
                        help="fit scales, comma-separated (default: linear,probit,logit)")
    parser.add_argument("--plot-scale", default="probit",
                        help="axes of the accuracy-on-the-line plots: one of the scales "
                        "(default probit)")
    parser.add_argument("--fit-models", default=None, metavar="PATTERNS",
                        help="fit lines on models matching these comma-separated wildcards "
                        "(default: all models); effective robustness is given for all")
    parser.add_argument("--bootstrap", type=int, default=1000,
                        help="bootstrap resamples over models for fit intervals")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-plots", action="store_true", help="write the tables only")
    parser.add_argument("--clip-extremes", action="store_true",
                        help="probit/logit fits: clip accuracies of exactly 0%% or 100%% to "
                        "[0.01%%, 99.99%%] and keep the model (default: leave it out of the fit, "
                        "as imagenet-testbed does, with a note naming it)")


def analysis_options(args: argparse.Namespace):
    """:class:`~robustness.report.analysis.AnalysisOptions` from the parsed flags."""
    from ..report.analysis import AnalysisOptions
    from ..stats.fits import TRANSFORMS

    given = args.scales if args.scales is not None else ",".join(TRANSFORMS)
    scales = tuple(s.strip() for s in given.split(",") if s.strip())
    unknown = [s for s in scales if s not in TRANSFORMS]
    if unknown or not scales:
        raise UserInputError(f"--scales {given}: unknown scale(s) {', '.join(unknown)}; "
                             f"expected some of {', '.join(TRANSFORMS)}, e.g. --scales probit,logit")
    if args.plot_scale not in TRANSFORMS:
        raise UserInputError(f"--plot-scale {args.plot_scale}: expected one of "
                             f"{', '.join(TRANSFORMS)}")
    return AnalysisOptions(scales=scales, plot_scale=args.plot_scale, fit_models=args.fit_models,
                           n_bootstrap=args.bootstrap, seed=args.seed, plots=not args.no_plots,
                           n_resamples=getattr(args, "resamples", 2000),
                           html=getattr(args, "html", False), command=report_command(args),
                           clip_extremes=args.clip_extremes,
                           diff_rule=getattr(args, "diff_rule", "timm"))


def report_command(args: argparse.Namespace) -> str:
    """The ``robustness report`` command that reproduces this report, every option spelt out
    (the HTML report names it as the provenance of its numbers)."""
    import shlex

    if not hasattr(args, "resamples"):
        return ""
    words = ["robustness", "report", "--out", str(args.out), "--resamples", str(args.resamples),
             "--scales", args.scales or "linear,probit,logit", "--plot-scale", args.plot_scale,
             "--bootstrap", str(args.bootstrap), "--seed", str(args.seed)]
    if args.fit_models:
        words += ["--fit-models", args.fit_models]
    words += ["--no-plots"] * bool(args.no_plots) + ["--html"] * bool(getattr(args, "html", False))
    words += ["--clip-extremes"] * bool(getattr(args, "clip_extremes", False))
    if getattr(args, "diff_rule", "timm") != "timm":
        words += ["--diff-rule", args.diff_rule]
    if getattr(args, "calibration_resamples", 0):
        words += ["--calibration-resamples", str(args.calibration_resamples)]
    if getattr(args, "ood_score", "msp") != "msp":
        words += ["--ood-score", args.ood_score]
    if getattr(args, "ood_resamples", 1000) != 1000:
        words += ["--ood-resamples", str(args.ood_resamples)]
    return shlex.join(words)


def add_parser(subparsers) -> argparse.ArgumentParser:
    r = subparsers.add_parser("report", help="tables, gaps, fits, corruption metrics and plots, "
                              "from the store alone")
    r.add_argument("--out", type=Path, default=Path("results"),
                   help="results folder holding the per-image store (units/)")
    r.add_argument("--resamples", type=int, default=2000,
                   help="paired bootstrap resamples over images for gaps on shared images")
    r.add_argument("--diff-rule", choices=("timm", "exact"), default="timm",
                   help="what results-<set>.csv's top5_diff/rank_diff hold: timm's published rule, "
                   "ties included (default), or each model's exact difference (always also in "
                   "top5_diff_exact/rank_diff_exact)")
    r.add_argument("--gaps-only", metavar="SETS",
                   help="compute the paired gaps of these shifted sets (names, set groups such as "
                   "imagenet-c, or wildcards) into OUT/cache/gaps and write nothing else: one job "
                   "per set group splits a large report; a final `robustness report` reads them")
    r.add_argument("--calibration-resamples", type=int, default=0, metavar="N",
                   help="bootstrap resamples over images for calibration.csv's intervals "
                   "(default 0: point estimates only; 1000 for publication)")
    r.add_argument("--ood-score", choices=("msp", "max_logit", "energy"), default="msp",
                   help="anomaly score of ood.csv: max-softmax probability (default; stored for "
                   "every unit), max logit or energy (both need units evaluated with --save-logits)")
    r.add_argument("--ood-resamples", type=int, default=1000, metavar="N",
                   help="stratified bootstrap resamples for ood.csv's intervals")
    r.add_argument("--stability-reference", type=Path, metavar="CSV",
                   help="AlexNet's ImageNet-P flip probabilities and top-5 distances (columns "
                   "perturbation,difficulty,flip_probability,top5_distance) for stability.csv's "
                   "FR/mFR/mT5D; default: the shipped robustness/stats/alexnet_imagenet_p.csv")
    r.add_argument("--stability-baseline-model", metavar="MODEL",
                   help="normalise stability.csv's FR/mFR/mT5D by this model's own flip "
                   "probabilities and top-5 distances on the same ImageNet-P sets of this store "
                   "(e.g. torchvision's AlexNet, evaluated like the others), instead of a table")
    r.add_argument("--no-gap-cache", action="store_true",
                   help="recompute every paired gap instead of reusing OUT/cache/gaps")
    r.add_argument("--html", action="store_true",
                   help="also write OUT/html/index.html: leaderboard and interactive plots, "
                   "opens from disk without a network")
    add_analysis_arguments(r)
    r.set_defaults(func=run)
    return r


def run(args: argparse.Namespace) -> int:
    """Print the written paths and a top-1 overview; 1 when the store has no finished units."""
    import pandas as pd

    from ..report.tables import accuracy_overview
    from ..report.writer import write_report
    from ..store import Store

    options = analysis_options(args)
    for flag in ("calibration_resamples", "ood_resamples"):
        if getattr(args, flag) < 0:
            raise UserInputError(f"--{flag.replace('_', '-')} {getattr(args, flag)}: expected 0 or more")
    options.gap_cache = not args.no_gap_cache
    options.calibration_resamples = args.calibration_resamples
    options.ood_score, options.ood_resamples = args.ood_score, args.ood_resamples
    if args.stability_reference is not None:
        if not args.stability_reference.is_file():
            raise UserInputError(f"--stability-reference {args.stability_reference}: no such file; "
                                 "give a CSV with columns perturbation,difficulty,flip_probability,top5_distance")
        from ..stats.stability import read_stability_table

        try:
            read_stability_table(args.stability_reference.read_text())
        except ValueError as exc:
            raise UserInputError(f"--stability-reference {args.stability_reference}: {exc}") from None
        options.stability_reference = args.stability_reference
    if args.stability_baseline_model is not None:
        if args.stability_reference is not None:
            raise UserInputError("--stability-baseline-model and --stability-reference: give one "
                                 "baseline for stability.csv's flip rates, not both")
        options.stability_baseline_model = args.stability_baseline_model
    if args.gaps_only:
        from ..report.analysis import precompute_gaps

        try:
            shifts, n_rows = precompute_gaps(Store(args.out), args.gaps_only, options)
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"{n_rows} gap rows of {len(shifts)} shifted set(s) in {Path(args.out) / 'cache' / 'gaps'}")
        return 0
    try:
        written = write_report(Store(args.out), args.out, options)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    for path in written:
        print(path)
    summary = Path(args.out) / "summary-all.csv"
    if summary.is_file():
        print(accuracy_overview(pd.read_csv(summary)))
    return 0
