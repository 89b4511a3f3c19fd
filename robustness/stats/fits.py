"""Linear fits of accuracy on a new test set against accuracy on the original one, across models.

"Accuracy on the line": across many models, t(acc_new) ~ b0 + b1 t(acc_orig) for a
transform t (identity, probit or logit). Effective robustness is a model's distance above
that line, in accuracy units:

    ER(f) = acc_new(f) - t^-1(b0 + b1 t(acc_orig(f))),

with the line fitted on a chosen baseline set of models. Relative robustness of an
intervention f0 -> f is acc_new(f) - acc_new(f0).

Units: accuracies are fractions in [0, 1]; transformed values are unbounded.

Accuracies of exactly 0 or 1 have no probit or logit value. By default :func:`fit_line`
leaves such models out of a probit/logit fit and names them (``FitResult.excluded``), as
imagenet-testbed does (there the transform gives an infinite value and the model drops out
of the fit). ``clip_extremes=True`` keeps them, clipped to [EPS, 1 - EPS], which moves the
line (testbed ResNet-50 at 0.0% on ImageNet-A: docs/reference-parity.md).

References:
    Recht, Roelofs, Schmidt & Shankar (2019), ICML, "Do ImageNet classifiers generalize to
    ImageNet?" -- linear and probit fits of ImageNetV2 on ImageNet accuracy.
    Taori et al. (2020), NeurIPS, "Measuring robustness to natural distribution shifts in
    image classification" -- effective and relative robustness, logit axes.
    Miller et al. (2021), ICML, "Accuracy on the line" -- probit axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from robustness.stats.intervals import Interval

Transform = Literal["linear", "probit", "logit"]
TRANSFORMS: tuple[str, ...] = ("linear", "probit", "logit")
#: with clipping, accuracies are clipped to [EPS, 1 - EPS] before probit/logit (0% -> 0.01%)
EPS = 1e-4


@dataclass(frozen=True)
class FitResult:
    """OLS fit t(acc_new) = intercept + slope * t(acc_orig) over models.

    ``slope_interval`` and ``intercept_interval`` are percentile bootstrap intervals over
    models; ``bootstrap_slopes``/``bootstrap_intercepts`` keep the resamples for bands.
    ``excluded``: positions (in the input arrays) of models left out because an accuracy is
    exactly 0 or 1 on probit/logit axes; ``n_models`` counts the models fitted.
    """

    slope: float
    intercept: float
    r_squared: float
    transform: str
    n_models: int
    slope_interval: Interval | None = None
    intercept_interval: Interval | None = None
    bootstrap_slopes: np.ndarray | None = None
    bootstrap_intercepts: np.ndarray | None = None
    excluded: tuple[int, ...] = ()
    clipped: bool = False  # extreme accuracies were clipped to [EPS, 1 - EPS] and kept

    def predict(self, acc_orig) -> np.ndarray:
        """Accuracy on the new set predicted by the line, as a fraction."""
        scaled = self.intercept + self.slope * transform(acc_orig, self.transform)
        return inverse_transform(scaled, self.transform)


def _check_kind(kind: str) -> None:
    if kind not in TRANSFORMS:
        raise ValueError(f"unknown transform {kind!r}; expected one of {TRANSFORMS}")


def transform(acc, kind: Transform = "probit", eps: float = EPS) -> np.ndarray:
    """Map accuracies (fractions) to the fit scale: identity, Phi^-1(p) or log(p / (1 - p)).

    Probit and logit clip p to [eps, 1 - eps] first.
    """
    _check_kind(kind)
    p = np.asarray(acc, dtype=np.float64)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("accuracies must be fractions in [0, 1] (divide percentages by 100)")
    if kind == "linear":
        return p
    p = np.clip(p, eps, 1 - eps)
    return special.ndtri(p) if kind == "probit" else special.logit(p)


def inverse_transform(value, kind: Transform = "probit") -> np.ndarray:
    """Inverse of :func:`transform` (without undoing the clipping)."""
    _check_kind(kind)
    x = np.asarray(value, dtype=np.float64)
    if kind == "linear":
        return x
    return special.ndtr(x) if kind == "probit" else special.expit(x)


def extreme_accuracies(acc_orig, acc_new, kind: Transform = "probit") -> np.ndarray:
    """Bool mask of models with an accuracy (fraction) of exactly 0 or 1 on either set, which
    have no probit/logit value; all False on linear axes."""
    _check_kind(kind)
    a, b = np.asarray(acc_orig, dtype=np.float64), np.asarray(acc_new, dtype=np.float64)
    if kind == "linear":
        return np.zeros(np.broadcast(a, b).shape, dtype=bool)
    return (a <= 0) | (a >= 1) | (b <= 0) | (b >= 1)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of y on x along the last axis (vectorised over leading axes)."""
    x_centred = x - x.mean(axis=-1, keepdims=True)
    y_centred = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (x_centred * y_centred).sum(-1) / (x_centred**2).sum(-1)
    intercept = y.mean(-1) - slope * x.mean(-1)
    return slope, intercept


def fit_line(
    acc_orig,
    acc_new,
    kind: Transform = "probit",
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
    clip_extremes: bool = False,
) -> FitResult:
    """OLS fit of t(acc_new) on t(acc_orig) with a bootstrap over models.

    R^2 is the squared Pearson correlation of the transformed values. Resamples in which all
    chosen models share one original accuracy have no slope and are dropped.
    Set ``n_bootstrap=0`` to skip the bootstrap. On probit/logit axes, models with an
    accuracy of exactly 0 or 1 are left out (``FitResult.excluded``) unless
    ``clip_extremes`` clips them to [EPS, 1 - EPS]; at least 3 models must remain.
    """
    a = np.asarray(acc_orig, dtype=np.float64)
    b = np.asarray(acc_new, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("expected two 1-D arrays of per-model accuracies of equal length >= 3, "
                         f"got shapes {a.shape} and {b.shape}")
    extreme = extreme_accuracies(a, b, kind)
    excluded: tuple[int, ...] = ()
    if extreme.any() and not clip_extremes:
        excluded = tuple(int(i) for i in np.flatnonzero(extreme))
        a, b = a[~extreme], b[~extreme]
    x = transform(a, kind)
    y = transform(b, kind)
    if x.size < 3:
        raise ValueError(f"need at least 3 models to fit, got {x.size}"
                         + (f" after leaving out {len(excluded)} with accuracy exactly 0 or 1"
                            if excluded else ""))
    clipped = bool(clip_extremes and extreme.any())
    slope, intercept = _ols(x, y)
    r_squared = float(np.corrcoef(x, y)[0, 1] ** 2)
    if n_bootstrap <= 0:
        return FitResult(float(slope), float(intercept), r_squared, kind, x.size,
                         excluded=excluded, clipped=clipped)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_bootstrap, x.size))
    boot_slopes, boot_intercepts = _ols(x[idx], y[idx])
    keep = np.isfinite(boot_slopes)
    boot_slopes, boot_intercepts = boot_slopes[keep], boot_intercepts[keep]
    if not keep.any():  # every resample drew models of one baseline accuracy: no interval
        slope_ci = intercept_ci = np.array([np.nan, np.nan])
    else:
        slope_ci = np.quantile(boot_slopes, [alpha / 2, 1 - alpha / 2])
        intercept_ci = np.quantile(boot_intercepts, [alpha / 2, 1 - alpha / 2])
    return FitResult(
        slope=float(slope),
        intercept=float(intercept),
        r_squared=r_squared,
        transform=kind,
        n_models=x.size,
        slope_interval=Interval(float(slope), *map(float, slope_ci), "bootstrap-models", alpha),
        intercept_interval=Interval(float(intercept), *map(float, intercept_ci),
                                    "bootstrap-models", alpha),
        bootstrap_slopes=boot_slopes,
        bootstrap_intercepts=boot_intercepts,
        excluded=excluded,
        clipped=clipped,
    )


def fit_band(fit: FitResult, acc_grid, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise percentile band of the fitted line over ``acc_grid`` (fractions), for plots.

    Returns (low, high) accuracies on the new set, from the bootstrap lines in ``fit``.
    """
    if fit.bootstrap_slopes is None or fit.bootstrap_intercepts is None:
        raise ValueError("fit has no bootstrap resamples; call fit_line with n_bootstrap > 0")
    x = transform(acc_grid, fit.transform)
    lines = fit.bootstrap_intercepts[:, None] + fit.bootstrap_slopes[:, None] * x[None, :]
    low, high = np.quantile(lines, [alpha / 2, 1 - alpha / 2], axis=0)
    return inverse_transform(low, fit.transform), inverse_transform(high, fit.transform)


def effective_robustness(acc_orig, acc_new, fit: FitResult) -> np.ndarray:
    """ER = acc_new - t^-1(b0 + b1 t(acc_orig)), in accuracy fractions (Taori et al. 2020).

    ``fit`` should come from :func:`fit_line` on the chosen baseline models.
    """
    return np.asarray(acc_new, dtype=np.float64) - fit.predict(acc_orig)


def relative_robustness(acc_new_intervened, acc_new_baseline) -> np.ndarray:
    """Relative robustness of an intervention f0 -> f: acc_new(f) - acc_new(f0) (fractions)."""
    return (np.asarray(acc_new_intervened, dtype=np.float64)
            - np.asarray(acc_new_baseline, dtype=np.float64))
