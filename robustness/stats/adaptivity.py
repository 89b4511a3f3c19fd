"""Benchmark-overfitting diagnostics: Recht et al.'s gap decomposition and gap trends.

Recht et al. (2019, ICML, "Do ImageNet classifiers generalize to ImageNet?", section 2)
write the drop from the original test set S (drawn from distribution D) to the new test
set S' (drawn from D') in accuracy terms as

    acc_S - acc_S' = (acc_S - acc_D)      adaptivity gap
                   + (acc_D - acc_D')     distribution gap
                   + (acc_D' - acc_S')    generalization gap

What is estimable from two test sets alone:
  * the total gap acc_S - acc_S' (observed);
  * the generalization gap: S' was never used for model selection, so acc_S' is a
    binomial estimate of acc_D' and the gap is pure sampling error of the new set's size;
    a Clopper-Pearson interval for acc_D' bounds it;
  * hence only the *sum* adaptivity + distribution gap = acc_S - acc_D', as an interval.
Separating the two needs a fresh sample from D itself (never used for selection), given
here as ``acc_fresh``/``n_fresh``: then adaptivity = acc_S - acc_D and distribution =
acc_D - acc_D', each with its sampling interval.

Adaptive overfitting predicts diminishing returns: models that gained more on S should
gain less on S', so the slope of acc_new on acc_orig (linear scale) would be below 1 and
the gap would grow with original accuracy. Recht et al. found slopes above 1 instead.

Units: accuracies are fractions in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustness.stats.fits import FitResult, effective_robustness, fit_line
from robustness.stats.intervals import Interval, clopper_pearson, newcombe_difference


@dataclass(frozen=True)
class GapDecomposition:
    """Recht et al.'s decomposition for one model (fractions; None when not estimable)."""

    total_gap: float
    generalization_gap_bound: float
    adaptivity_plus_distribution: Interval
    adaptivity_gap: Interval | None = None
    distribution_gap: Interval | None = None


@dataclass(frozen=True)
class GapTrend:
    """Slope of acc_new on acc_orig (linear scale) tested against 1.

    ``gap_grows_with_accuracy`` is True when the whole slope interval lies below 1,
    ``gap_shrinks_with_accuracy`` when it lies above 1. ``p_value_slope_is_one`` is the
    two-sided OLS t-test of slope = 1.
    """

    fit: FitResult
    p_value_slope_is_one: float
    gap_grows_with_accuracy: bool
    gap_shrinks_with_accuracy: bool


@dataclass(frozen=True)
class ResidualTrend:
    """Linear and rank trend of fit residuals (effective robustness) against a covariate."""

    slope: float
    slope_std_error: float
    p_value: float
    spearman_rho: float
    spearman_p_value: float


def gap_decomposition(
    acc_orig: float,
    acc_new: float,
    n_new: int,
    alpha: float = 0.05,
    acc_fresh: float | None = None,
    n_fresh: int | None = None,
) -> GapDecomposition:
    """Decompose acc_orig - acc_new as far as the data allow (see module docstring).

    Args:
        acc_orig: accuracy on the original, re-used test set S (e.g. ImageNet val).
        acc_new: accuracy on the new test set S' (e.g. ImageNetV2), of ``n_new`` images.
        acc_fresh, n_fresh: optional accuracy on a fresh sample from the original
            distribution D that was never used for model selection, and its size.
    """
    new_interval = clopper_pearson(round(acc_new * n_new), n_new, alpha)
    bound = max(new_interval.high - acc_new, acc_new - new_interval.low)
    sum_gap = Interval(acc_orig - acc_new, acc_orig - new_interval.high,
                       acc_orig - new_interval.low, "clopper-pearson-new-set", alpha)
    adaptivity = distribution = None
    if acc_fresh is not None:
        if n_fresh is None:
            raise ValueError("acc_fresh needs n_fresh, the number of images in the fresh sample")
        fresh = clopper_pearson(round(acc_fresh * n_fresh), n_fresh, alpha)
        adaptivity = Interval(acc_orig - acc_fresh, acc_orig - fresh.high, acc_orig - fresh.low,
                              "clopper-pearson-fresh-set", alpha)
        distribution = newcombe_difference(round(acc_fresh * n_fresh), n_fresh,
                                           round(acc_new * n_new), n_new, alpha)
    return GapDecomposition(acc_orig - acc_new, float(bound), sum_gap, adaptivity, distribution)


def gap_trend(
    acc_orig, acc_new, n_bootstrap: int = 1000, alpha: float = 0.05, seed: int | None = 0
) -> GapTrend:
    """Does the gap grow with original accuracy? Linear fit across models, slope vs 1."""
    from scipy import stats  # local: slow to import, and the report never needs it

    fit = fit_line(acc_orig, acc_new, "linear", n_bootstrap, alpha, seed)
    regression = stats.linregress(np.asarray(acc_orig, float), np.asarray(acc_new, float))
    t_statistic = (regression.slope - 1.0) / regression.stderr
    p_value = float(2 * stats.t.sf(abs(t_statistic), fit.n_models - 2))
    interval = fit.slope_interval
    return GapTrend(fit, p_value, bool(interval.high < 1.0), bool(interval.low > 1.0))


def residual_trend(acc_orig, acc_new, covariate, fit: FitResult) -> ResidualTrend:
    """Regress the residuals ER = acc_new - line(acc_orig) on a covariate.

    The covariate is e.g. original accuracy or release year. A positive slope on release
    year would mean newer models sit increasingly above the line.
    """
    from scipy import stats  # local: slow to import, and the report never needs it

    residuals = effective_robustness(acc_orig, acc_new, fit)
    x = np.asarray(covariate, dtype=np.float64)
    if x.shape != residuals.shape:
        raise ValueError(f"covariate needs one value per model: got shape {x.shape}, "
                         f"expected {residuals.shape}")
    regression = stats.linregress(x, residuals)
    rank = stats.spearmanr(x, residuals)
    return ResidualTrend(float(regression.slope), float(regression.stderr),
                         float(regression.pvalue), float(rank.statistic), float(rank.pvalue))
