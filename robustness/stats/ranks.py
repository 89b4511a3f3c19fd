"""Do models keep their ranking on a new test set? Rank correlations and significant swaps.

Kendall tau-b over pairs of models i < j, with s_x = sign(x_i - x_j), s_y = sign(y_i - y_j):

    tau_b = sum s_x s_y / sqrt(sum s_x^2 * sum s_y^2)

(ties count zero in the numerator and are removed from the denominators; Kendall 1945).
Spearman's rho is the Pearson correlation of average ranks. Both are vectorised over
leading axes so a bootstrap over images computes all resamples at once.

Units: accuracies are fractions; per-image correctness has shape (n_models, n_images).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from robustness.stats.bootstrap import as_correctness, bootstrap_accuracies, percentile_interval
from robustness.stats.intervals import Interval
from robustness.stats.paired import holm_bonferroni, mcnemar_exact


@dataclass(frozen=True)
class RankStability:
    """Rank agreement of models between an original and a new test set."""

    kendall_tau: Interval
    spearman_rho: Interval
    n_models: int


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


def kendall_tau_b(x, y) -> np.ndarray:
    """Kendall tau-b between x and y along the last axis (models); handles ties."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    upper = np.triu_indices(a.shape[-1], k=1)
    sign_x = np.sign(a[..., :, None] - a[..., None, :])[..., upper[0], upper[1]]
    sign_y = np.sign(b[..., :, None] - b[..., None, :])[..., upper[0], upper[1]]
    numerator = (sign_x * sign_y).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return numerator / np.sqrt((sign_x**2).sum(-1) * (sign_y**2).sum(-1))


def spearman_rho(x, y) -> np.ndarray:
    """Spearman's rho (Pearson correlation of average ranks) along the last axis."""
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

    Intervals are percentile bootstraps over images: each set's images are resampled
    independently, with one resample shared by all models of a set (paired across models).

    Args:
        correct_orig: per-image correctness on the original set, shape (n_models, n_images_orig).
        correct_new: per-image correctness on the new set, shape (n_models, n_images_new).
    """
    orig = as_correctness(correct_orig, "correct_orig")
    new = as_correctness(correct_new, "correct_new")
    if orig.ndim != 2 or new.ndim != 2 or orig.shape[0] != new.shape[0]:
        raise ValueError("expected correctness matrices (n_models, n_images) with the same "
                         f"models in the same order, got shapes {orig.shape} and {new.shape}")
    rng = np.random.default_rng(seed)
    boot_orig = bootstrap_accuracies(orig, n_resamples, rng)
    boot_new = bootstrap_accuracies(new, n_resamples, rng)
    acc_orig, acc_new = orig.mean(1, dtype=np.float64), new.mean(1, dtype=np.float64)
    tau = float(kendall_tau_b(acc_orig, acc_new))
    rho = float(spearman_rho(acc_orig, acc_new))
    tau_low, tau_high = percentile_interval(kendall_tau_b(boot_orig, boot_new), alpha)
    rho_low, rho_high = percentile_interval(spearman_rho(boot_orig, boot_new), alpha)
    return RankStability(
        kendall_tau=Interval(tau, float(tau_low), float(tau_high), "bootstrap-images", alpha),
        spearman_rho=Interval(rho, float(rho_low), float(rho_high), "bootstrap-images", alpha),
        n_models=orig.shape[0],
    )


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
