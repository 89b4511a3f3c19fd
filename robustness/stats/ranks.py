"""Do models keep their ranking on a new test set? Rank correlations and significant swaps.

Kendall tau-b over pairs of models i < j, with s_x = sign(x_i - x_j), s_y = sign(y_i - y_j):

    tau_b = sum s_x s_y / sqrt(sum s_x^2 * sum s_y^2)

(ties count zero in the numerator and are removed from the denominators; Kendall 1945).
Spearman's rho is the Pearson correlation of average ranks. Both are vectorised over
leading axes so a bootstrap over images computes all resamples at once.

Units: accuracies are fractions; per-image correctness has shape (n_models, n_images).

Intervals for the rank correlations (:func:`rank_stability`): the target is the correlation
between the models' *true* accuracies on the two distributions. A bootstrap over images
cannot give it a valid interval when models are closer than their sampling noise (noise
swaps close models, so the estimate is biased toward 0 and resampling adds the same noise
again; the basic bootstrap interval this module used to report covered the true tau only
77-85% of the time at 95% in that regime). The interval reported now is a simultaneous
bound: Clopper-Pearson intervals for every model's accuracy on both sets at level
alpha / (2 n_models) (Bonferroni), so all 2 n_models true accuracies lie in their intervals
with probability >= 1 - alpha, and the bounds are the smallest and largest correlation any
accuracies inside those intervals could have (relaxed pair by pair for tau and model by model
for rho, which only widens them). Coverage is >= 1 - alpha by construction, for any spacing of
the models; the price is width: models closer than their noise give a wide interval, which is
what the data support. The true accuracies are assumed distinct (no exact ties).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustness.stats.bootstrap import as_correctness, bootstrap_accuracies
from robustness.stats.intervals import Interval, clopper_pearson
from robustness.stats.paired import holm_bonferroni, mcnemar_exact


@dataclass(frozen=True)
class RankStability:
    """Rank agreement of models between an original and a new test set."""

    kendall_tau: Interval
    spearman_rho: Interval
    n_models: int
    kendall_tau_bias: float  # bootstrap estimate of E[tau_hat] - tau (negative: attenuated); NaN without resamples
    spearman_rho_bias: float


@dataclass(frozen=True)
class RankChange:
    """A pair of models whose order flips between the two test sets.

    ``p_*`` are exact McNemar p-values on each set, ``p_*_holm`` after Holm's adjustment
    over all tests made; ``significant`` is True when both sets' adjusted p-values are at
    most alpha (the order on each set is significant, and opposite).
    """

    model_a: str
    model_b: str
    acc_orig_a: float
    acc_orig_b: float
    acc_new_a: float
    acc_new_b: float
    p_orig: float
    p_new: float
    p_orig_holm: float
    p_new_holm: float
    significant: bool


#: pairwise sign entries computed at once by kendall_tau_b (bounds memory to ~0.5 GB)
_PAIR_BUDGET = 2**25


def kendall_tau_b(x, y) -> np.ndarray:
    """Kendall tau-b between x and y along the last axis (models); handles ties.

    Leading axes (e.g. bootstrap resamples) are processed in blocks so memory stays bounded.
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"x and y need the same shape, got {a.shape} and {b.shape}")
    n_models = a.shape[-1]
    upper_i, upper_j = np.triu_indices(n_models, k=1)
    rows_a = a.reshape(-1, n_models)
    rows_b = b.reshape(-1, n_models)
    block = max(1, _PAIR_BUDGET // max(upper_i.size, 1))
    tau = np.empty(rows_a.shape[0])
    for start in range(0, rows_a.shape[0], block):
        part_a, part_b = rows_a[start:start + block], rows_b[start:start + block]
        sign_x = np.sign(part_a[:, upper_i] - part_a[:, upper_j])
        sign_y = np.sign(part_b[:, upper_i] - part_b[:, upper_j])
        numerator = (sign_x * sign_y).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            tau[start:start + block] = numerator / np.sqrt(
                np.abs(sign_x).sum(-1) * np.abs(sign_y).sum(-1))
    result = tau.reshape(a.shape[:-1])
    return float(result) if result.ndim == 0 else result


def spearman_rho(x, y) -> np.ndarray:
    """Spearman's rho (Pearson correlation of average ranks) along the last axis."""
    from scipy import stats  # local: slow to import, and the report never needs it

    rank_x = stats.rankdata(np.asarray(x, dtype=np.float64), axis=-1)
    rank_y = stats.rankdata(np.asarray(y, dtype=np.float64), axis=-1)
    rank_x -= rank_x.mean(-1, keepdims=True)
    rank_y -= rank_y.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rank_x * rank_y).sum(-1) / np.sqrt((rank_x**2).sum(-1) * (rank_y**2).sum(-1))


def rank_stability(
    correct_orig: np.ndarray,
    correct_new: np.ndarray,
    n_resamples: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> RankStability:
    """Kendall tau-b and Spearman rho between model rankings on two test sets.

    Point estimates are the correlations of the measured accuracies. Intervals are the
    simultaneous Clopper-Pearson bounds of the module docstring (method
    ``"simultaneous-clopper-pearson"``): coverage of the true accuracies' correlation is at
    least 1 - alpha. The bootstrap over images (each set resampled independently, one
    resample shared by all models of a set) is used only for the bias estimate
    mean(t*) - t, which shows how much sampling noise attenuates the estimate;
    ``n_resamples=0`` skips it (bias NaN).

    Args:
        correct_orig: per-image correctness on the original set, shape (n_models, n_images_orig).
        correct_new: per-image correctness on the new set, shape (n_models, n_images_new).
    """
    orig = as_correctness(correct_orig, "correct_orig")
    new = as_correctness(correct_new, "correct_new")
    if orig.ndim != 2 or new.ndim != 2 or orig.shape[0] != new.shape[0]:
        raise ValueError("expected correctness matrices (n_models, n_images) with the same "
                         f"models in the same order, got shapes {orig.shape} and {new.shape}")
    acc_orig, acc_new = orig.mean(1, dtype=np.float64), new.mean(1, dtype=np.float64)
    tau = float(kendall_tau_b(acc_orig, acc_new))
    rho = float(spearman_rho(acc_orig, acc_new))
    tau_bias = rho_bias = float("nan")
    if n_resamples > 0:
        rng = np.random.default_rng(seed)
        boot_orig = bootstrap_accuracies(orig, n_resamples, rng)
        boot_new = bootstrap_accuracies(new, n_resamples, rng)
        tau_bias = float(np.nanmean(kendall_tau_b(boot_orig, boot_new)) - tau)
        rho_bias = float(np.nanmean(spearman_rho(boot_orig, boot_new)) - rho)
    (tau_low, tau_high), (rho_low, rho_high) = simultaneous_rank_bounds(orig, new, alpha)
    return RankStability(
        kendall_tau=Interval(tau, tau_low, tau_high, SIMULTANEOUS_METHOD, alpha),
        spearman_rho=Interval(rho, rho_low, rho_high, SIMULTANEOUS_METHOD, alpha),
        n_models=orig.shape[0],
        kendall_tau_bias=tau_bias,
        spearman_rho_bias=rho_bias,
    )


SIMULTANEOUS_METHOD = "simultaneous-clopper-pearson"


def _order_signs(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(k, k) matrix: +1 where model i's accuracy is surely above j's (intervals disjoint),
    -1 where surely below, 0 where the intervals overlap (either order possible)."""
    above = low[:, None] > high[None, :]
    below = high[:, None] < low[None, :]
    return above.astype(np.int64) - below.astype(np.int64)


def simultaneous_rank_bounds(correct_orig: np.ndarray, correct_new: np.ndarray,
                             alpha: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """Bounds (low, high) on Kendall's tau and Spearman's rho of the true accuracies, holding
    together with probability >= 1 - alpha (module docstring).

    Each model's accuracy on each set gets a Clopper-Pearson interval at level
    alpha / (2 k) for k models. Tau: a pair whose order is determined on both sets adds its
    sign product; any other pair may add -1 or +1; the bounds are the sums over the
    k (k - 1) / 2 pairs, divided by their number. Rho = 1 - 6 sum d_i^2 / (k (k^2 - 1)): each
    model's rank on a set lies between 1 + (models surely below it) and k - (models surely
    above it), which bounds |d_i| model by model.
    """
    orig = as_correctness(correct_orig, "correct_orig")
    new = as_correctness(correct_new, "correct_new")
    k = orig.shape[0]
    level = alpha / (2 * k)
    signs = []
    ranks = []
    for correct in (orig, new):
        ci = clopper_pearson(correct.sum(1), np.full(k, correct.shape[1]), alpha=level)
        sign = _order_signs(np.atleast_1d(ci.low), np.atleast_1d(ci.high))
        signs.append(sign)
        ranks.append((1 + (sign > 0).sum(1), k - (sign < 0).sum(1)))  # rank 1 = lowest accuracy
    upper_i, upper_j = np.triu_indices(k, k=1)
    sx, sy = signs[0][upper_i, upper_j], signs[1][upper_i, upper_j]
    fixed = (sx != 0) & (sy != 0)
    product = sx * sy
    pairs = upper_i.size
    tau_low = float(np.where(fixed, product, -1).sum() / pairs)
    tau_high = float(np.where(fixed, product, 1).sum() / pairs)
    (lo_x, hi_x), (lo_y, hi_y) = ranks
    d_min = np.maximum(0, np.maximum(lo_x - hi_y, lo_y - hi_x))
    d_max = np.maximum(hi_x - lo_y, hi_y - lo_x)
    scale = 6.0 / (k * (k**2 - 1))
    rho_low = float(max(-1.0, 1 - scale * (d_max**2).sum()))
    rho_high = float(min(1.0, 1 - scale * (d_min**2).sum()))
    return (tau_low, tau_high), (rho_low, rho_high)


def significant_rank_changes(
    correct_orig: np.ndarray,
    correct_new: np.ndarray,
    model_names: list[str] | None = None,
    alpha: float = 0.05,
) -> list[RankChange]:
    """Pairs of models whose order flips between two test sets, tested by exact McNemar.

    For every flipped pair, McNemar is run on each set (2 tests per pair); Holm adjusts
    over all those tests together. A flip is ``significant`` when A beats B significantly
    on one set and B beats A significantly on the other.
    """
    orig = as_correctness(correct_orig, "correct_orig")
    new = as_correctness(correct_new, "correct_new")
    n_models = orig.shape[0]
    names = model_names or [f"model_{i}" for i in range(n_models)]
    if len(names) != n_models or new.shape[0] != n_models:
        raise ValueError(f"expected {n_models} model names and correctness rows on both sets")
    acc_orig, acc_new = orig.mean(1, dtype=np.float64), new.mean(1, dtype=np.float64)
    pairs = [
        (i, j)
        for i in range(n_models)
        for j in range(i + 1, n_models)
        if np.sign(acc_orig[i] - acc_orig[j]) * np.sign(acc_new[i] - acc_new[j]) < 0
    ]
    if not pairs:
        return []
    p_values = []
    for i, j in pairs:
        p_values.append(mcnemar_exact(orig[i], orig[j]).p_value)
        p_values.append(mcnemar_exact(new[i], new[j]).p_value)
    adjusted, reject = holm_bonferroni(np.array(p_values), alpha)
    changes = []
    for k, (i, j) in enumerate(pairs):
        changes.append(RankChange(
            model_a=names[i], model_b=names[j],
            acc_orig_a=float(acc_orig[i]), acc_orig_b=float(acc_orig[j]),
            acc_new_a=float(acc_new[i]), acc_new_b=float(acc_new[j]),
            p_orig=p_values[2 * k], p_new=p_values[2 * k + 1],
            p_orig_holm=float(adjusted[2 * k]), p_new_holm=float(adjusted[2 * k + 1]),
            significant=bool(reject[2 * k] and reject[2 * k + 1]),
        ))
    return changes
