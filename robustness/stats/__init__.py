"""Statistics for robustness evaluations: intervals, paired tests, fits, ranks, corruption metrics.

Conventions: accuracies and errors are fractions in [0, 1]; per-image correctness is a bool
or 0/1 array with images on the last axis. See each module's docstring for formulas.
"""

from robustness.stats.adaptivity import (
    GapDecomposition,
    GapTrend,
    ResidualTrend,
    gap_decomposition,
    gap_trend,
    residual_trend,
)
from robustness.stats.bootstrap import bootstrap_accuracies, percentile_interval, resample_counts
from robustness.stats.corruption import (
    ALEXNET_CLEAN_ERROR,
    ALL_CORRUPTIONS,
    COMMON_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    CorruptionSummary,
    alexnet_errors,
    corruption_error,
    relative_corruption_error,
    severity_curves,
    summarize_corruptions,
    unnormalized_mce,
)
from robustness.stats.fits import (
    FitResult,
    effective_robustness,
    extreme_accuracies,
    fit_band,
    fit_line,
    inverse_transform,
    relative_robustness,
    transform,
)
from robustness.stats.intervals import (
    Interval,
    clopper_pearson,
    newcombe_difference,
    paired_bootstrap_difference,
    two_sample_bootstrap_difference,
    wilson,
)
from robustness.stats.paired import (
    DiscordantCounts,
    McNemarResult,
    PairedDifference,
    discordant_counts,
    error_consistency,
    holm_bonferroni,
    mcnemar_chi2,
    mcnemar_chi2_from_counts,
    mcnemar_exact,
    mcnemar_exact_from_counts,
    paired_difference,
)
from robustness.stats.ranks import (
    RankChange,
    RankStability,
    kendall_tau_b,
    rank_stability,
    significant_rank_changes,
    simultaneous_rank_bounds,
    spearman_rho,
)
from robustness.stats.replication import (
    ReplicationGaps,
    frequency_bins,
    post_stratified_accuracy,
    replication_gaps,
)

__all__ = [
    "ReplicationGaps", "frequency_bins", "post_stratified_accuracy", "replication_gaps",
    "extreme_accuracies", "simultaneous_rank_bounds",
    "ALEXNET_CLEAN_ERROR", "ALL_CORRUPTIONS", "COMMON_CORRUPTIONS", "EXTRA_CORRUPTIONS",
    "CorruptionSummary", "DiscordantCounts", "FitResult", "GapDecomposition", "GapTrend",
    "Interval", "McNemarResult", "PairedDifference", "RankChange", "RankStability",
    "ResidualTrend", "alexnet_errors", "bootstrap_accuracies", "clopper_pearson",
    "corruption_error", "discordant_counts", "effective_robustness", "error_consistency",
    "fit_band", "fit_line", "gap_decomposition", "gap_trend", "holm_bonferroni",
    "inverse_transform", "kendall_tau_b", "mcnemar_chi2", "mcnemar_chi2_from_counts",
    "mcnemar_exact", "mcnemar_exact_from_counts", "newcombe_difference",
    "paired_bootstrap_difference", "paired_difference", "percentile_interval",
    "rank_stability", "relative_corruption_error", "relative_robustness", "resample_counts",
    "residual_trend", "severity_curves", "significant_rank_changes", "spearman_rho",
    "summarize_corruptions", "unnormalized_mce", "transform", "two_sample_bootstrap_difference", "wilson",
]
