"""Paired comparisons on the same images: McNemar, paired difference, Holm, error consistency.

Inputs are per-image correctness vectors (bool or 0/1) of two models, or of one model
under two conditions, where entry i of both refers to the same image. Accuracies and
differences are fractions.

Discordant counts: b = #(A right, B wrong), c = #(A wrong, B right).

References:
    McNemar (1947), Psychometrika 12:153; exact form: binomial test of b out of b + c at 1/2
    (Fagerland, Lydersen & Laake 2013, BMC Med. Res. Methodol. 13:91).
    Holm (1979), Scand. J. Statist. 6:65 -- step-down Bonferroni.
    Geirhos, Meding & Wichmann (2020), NeurIPS, "Beyond accuracy: quantifying trial-by-trial
    behaviour of CNNs and humans by measuring error consistency" -- Cohen's kappa on
    per-image correctness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from robustness.stats.bootstrap import as_correctness


@dataclass(frozen=True)
class DiscordantCounts:
    """2x2 table of two paired correctness vectors (image counts)."""

    both_right: int
    only_a_right: int  # b
    only_b_right: int  # c
    both_wrong: int

    @property
    def n(self) -> int:
        return self.both_right + self.only_a_right + self.only_b_right + self.both_wrong


@dataclass(frozen=True)
class McNemarResult:
    """Test of equal accuracy for paired data; ``statistic`` is b for the exact test."""

    only_a_right: int
    only_b_right: int
    statistic: float
    p_value: float
    method: str


@dataclass(frozen=True)
class PairedDifference:
    """acc_a - acc_b on the same images with its standard error (fractions)."""

    estimate: float
    std_error: float
    n: int


def discordant_counts(correct_a: np.ndarray, correct_b: np.ndarray) -> DiscordantCounts:
    """Count the 2x2 table of paired correctness vectors of equal length."""
    a = as_correctness(correct_a, "correct_a").astype(bool)
    b = as_correctness(correct_b, "correct_b").astype(bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("paired tests need two 1-D correctness vectors over the same images, "
                         f"got shapes {a.shape} and {b.shape}")
    return DiscordantCounts(
        both_right=int(np.sum(a & b)),
        only_a_right=int(np.sum(a & ~b)),
        only_b_right=int(np.sum(~a & b)),
        both_wrong=int(np.sum(~a & ~b)),
    )


def mcnemar_exact_from_counts(only_a_right: int, only_b_right: int) -> McNemarResult:
    """Exact McNemar: two-sided binomial test of b successes in b + c trials at p = 1/2.

    p = min(1, 2 * P[Binom(b + c, 1/2) <= min(b, c)]); p = 1 when there are no discordant pairs.
    The binomial tail is the regularized incomplete beta function, P[Binom(n, 1/2) <= k] =
    I_{1/2}(n - k, k + 1) (scipy.special, not scipy.stats, which is slow to import).
    """
    b, c = int(only_a_right), int(only_b_right)
    discordant, k = b + c, min(b, c)
    p_value = 1.0 if discordant == 0 else min(1.0, 2 * special.betainc(discordant - k, k + 1, 0.5))
    return McNemarResult(b, c, float(b), float(p_value), "mcnemar-exact")


def mcnemar_chi2_from_counts(only_a_right: int, only_b_right: int) -> McNemarResult:
    """McNemar's chi-square with continuity correction: (|b - c| - 1)^2 / (b + c), 1 df."""
    b, c = int(only_a_right), int(only_b_right)
    if b + c == 0:
        return McNemarResult(b, c, 0.0, 1.0, "mcnemar-chi2-corrected")
    statistic = max(abs(b - c) - 1, 0) ** 2 / (b + c)
    return McNemarResult(b, c, float(statistic), float(special.chdtrc(1, statistic)),
                         "mcnemar-chi2-corrected")


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemarResult:
    """Exact McNemar test on two paired per-image correctness vectors."""
    table = discordant_counts(correct_a, correct_b)
    return mcnemar_exact_from_counts(table.only_a_right, table.only_b_right)


def mcnemar_chi2(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemarResult:
    """Continuity-corrected McNemar chi-square on two paired correctness vectors."""
    table = discordant_counts(correct_a, correct_b)
    return mcnemar_chi2_from_counts(table.only_a_right, table.only_b_right)


def paired_difference(correct_a: np.ndarray, correct_b: np.ndarray) -> PairedDifference:
    """acc_a - acc_b = (b - c)/n with standard error sqrt(((b + c)/n - ((b - c)/n)^2) / n).

    This is the plug-in standard error of the mean of d_i = a_i - b_i in {-1, 0, 1}.
    """
    table = discordant_counts(correct_a, correct_b)
    n = table.n
    diff = (table.only_a_right - table.only_b_right) / n
    discordant_rate = (table.only_a_right + table.only_b_right) / n
    std_error = float(np.sqrt(max(discordant_rate - diff**2, 0.0) / n))
    return PairedDifference(float(diff), std_error, n)


def holm_bonferroni(p_values, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjustment for m comparisons.

    Sort p ascending; adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)), returned in the
    input order. Returns (adjusted p-values, reject mask at family-wise error ``alpha``).
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError(f"expected a 1-D array of p-values in [0, 1], got {p_values!r}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted_sorted = np.maximum.accumulate(scaled)
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted, adjusted <= alpha


def error_consistency(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Cohen's kappa between two models' per-image correctness (Geirhos et al. 2020).

    kappa = (c_obs - c_exp) / (1 - c_exp), with c_obs the fraction of images where both are
    right or both wrong and c_exp = p_a p_b + (1 - p_a)(1 - p_b) for independent models with
    accuracies p_a, p_b. Undefined (nan) when c_exp = 1.
    """
    table = discordant_counts(correct_a, correct_b)
    n = table.n
    observed = (table.both_right + table.both_wrong) / n
    p_a = (table.both_right + table.only_a_right) / n
    p_b = (table.both_right + table.only_b_right) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    if expected == 1.0:
        return float("nan")
    return float((observed - expected) / (1 - expected))
