"""Fits across models: transforms, OLS against scipy, bootstrap band, effective robustness."""

import numpy as np
import pytest
from scipy import stats

from robustness.stats.fits import (
    effective_robustness,
    fit_band,
    fit_line,
    inverse_transform,
    relative_robustness,
    transform,
)


def test_transforms_known_values_and_round_trip():
    assert transform(0.975, "probit") == pytest.approx(1.959963984540054)
    assert transform(0.5, "logit") == pytest.approx(0.0)
    assert transform(0.8, "logit") == pytest.approx(np.log(4))
    grid = np.linspace(0.01, 0.99, 17)
    for kind in ("linear", "probit", "logit"):
        np.testing.assert_allclose(inverse_transform(transform(grid, kind), kind), grid)
    assert np.all(np.isfinite(transform([0.0, 1.0], "probit")))
    with pytest.raises(ValueError, match="fractions"):
        transform([76.1], "probit")
    with pytest.raises(ValueError, match="unknown transform"):
        transform([0.5], "arcsine")


def _synthetic_models(n_models=60, slope=1.1, intercept=-0.4, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    acc_orig = rng.uniform(0.55, 0.88, n_models)
    probit_new = intercept + slope * stats.norm.ppf(acc_orig) + rng.normal(0, noise, n_models)
    return acc_orig, stats.norm.cdf(probit_new)


@pytest.mark.parametrize("kind", ["linear", "probit", "logit"])
def test_fit_matches_scipy_linregress_on_transformed_values(kind):
    acc_orig, acc_new = _synthetic_models()
    fit = fit_line(acc_orig, acc_new, kind, n_bootstrap=200)
    forward = {"linear": lambda p: p, "probit": stats.norm.ppf,
               "logit": lambda p: np.log(p / (1 - p))}[kind]
    reference = stats.linregress(forward(acc_orig), forward(acc_new))
    assert fit.slope == pytest.approx(reference.slope, rel=1e-10)
    assert fit.intercept == pytest.approx(reference.intercept, rel=1e-10, abs=1e-12)
    assert fit.r_squared == pytest.approx(reference.rvalue**2, rel=1e-10)
    assert fit.slope_interval.low < fit.slope < fit.slope_interval.high


def test_slope_bootstrap_interval_covers_the_true_slope():
    hits = []
    for rep in range(300):
        acc_orig, acc_new = _synthetic_models(n_models=40, seed=rep)
        interval = fit_line(acc_orig, acc_new, "probit", n_bootstrap=300, seed=rep).slope_interval
        hits.append(interval.contains(1.1))
    # percentile bootstrap over 40 models: near nominal, a little liberal
    assert 0.90 <= np.mean(hits) <= 0.98


def test_band_brackets_the_line_and_is_widest_at_the_edges():
    acc_orig, acc_new = _synthetic_models()
    fit = fit_line(acc_orig, acc_new, "probit", n_bootstrap=500)
    grid = np.linspace(0.55, 0.88, 21)
    low, high = fit_band(fit, grid)
    line = fit.predict(grid)
    assert np.all(low <= line) and np.all(line <= high)
    width = high - low
    assert width[0] > width[10] and width[-1] > width[10]


def test_effective_robustness_is_distance_above_the_line_in_accuracy():
    acc_orig = np.array([0.6, 0.7, 0.8, 0.9])
    acc_new = stats.norm.cdf(-0.3 + 1.05 * stats.norm.ppf(acc_orig))
    fit = fit_line(acc_orig, acc_new, "probit", n_bootstrap=0)
    assert fit.slope == pytest.approx(1.05) and fit.intercept == pytest.approx(-0.3)
    np.testing.assert_allclose(effective_robustness(acc_orig, acc_new, fit), 0, atol=1e-12)
    np.testing.assert_allclose(effective_robustness(acc_orig, acc_new + 0.02, fit), 0.02)
    assert relative_robustness(0.66, 0.63) == pytest.approx(0.03)


def test_timm_probit_fit_of_imagenetv2_on_val(timm_val_v2):
    acc_val = timm_val_v2["top1_val"].to_numpy() / 100
    acc_v2 = timm_val_v2["top1_v2"].to_numpy() / 100
    assert len(acc_val) == 1556
    fit = fit_line(acc_val, acc_v2, "probit", n_bootstrap=200)
    reference = stats.linregress(stats.norm.ppf(acc_val), stats.norm.ppf(acc_v2))
    assert fit.r_squared > 0.9
    assert fit.slope == pytest.approx(reference.slope, rel=1e-10)
    assert fit.intercept == pytest.approx(reference.intercept, rel=1e-10)


def test_testbed_effective_robustness_on_imagenetv2_averages_near_zero(testbed):
    both = testbed.dropna(subset=["val", "imagenetv2-matched-frequency-format-val"])
    acc_val = both["val"].to_numpy() / 100
    acc_v2 = both["imagenetv2-matched-frequency-format-val"].to_numpy() / 100
    fit = fit_line(acc_val, acc_v2, "logit", n_bootstrap=0)
    er = effective_robustness(acc_val, acc_v2, fit)
    # Residuals average zero on the logit scale by construction; in accuracy they stay
    # within a fraction of a percentage point on average.
    assert abs(er.mean()) < 0.002
    assert np.abs(er).mean() < 0.01


def _testbed_rule_slope(acc_orig, acc_new, kind):
    """imagenet-testbed's behaviour written out: transform without clipping (0 -> -inf,
    1 -> +inf), drop every model whose transformed values are not finite, then OLS."""
    with np.errstate(divide="ignore"):
        f = stats.norm.ppf if kind == "probit" else lambda p: np.log(p / (1 - p))
        x, y = f(np.asarray(acc_orig)), f(np.asarray(acc_new))
    keep = np.isfinite(x) & np.isfinite(y)
    return stats.linregress(x[keep], y[keep]).slope, np.flatnonzero(~keep)


@pytest.mark.parametrize("kind", ["probit", "logit"])
def test_models_at_exactly_0_or_1_are_left_out_by_default_as_the_testbed_does(kind):
    acc_orig = np.array([0.60, 0.70, 0.75, 0.80, 0.90, 1.00])
    acc_new = np.array([0.30, 0.42, 0.00, 0.55, 0.71, 0.93])
    expected_slope, expected_out = _testbed_rule_slope(acc_orig, acc_new, kind)
    fit = fit_line(acc_orig, acc_new, kind, n_bootstrap=50)
    assert fit.excluded == tuple(expected_out) == (2, 5) and fit.n_models == 4
    assert fit.slope == pytest.approx(expected_slope, rel=1e-12) and not fit.clipped
    clipped = fit_line(acc_orig, acc_new, kind, n_bootstrap=0, clip_extremes=True)
    by_hand = stats.linregress(transform(np.clip(acc_orig, 1e-4, 1 - 1e-4), kind),
                               transform(np.clip(acc_new, 1e-4, 1 - 1e-4), kind)).slope
    assert clipped.slope == pytest.approx(by_hand, rel=1e-12)
    assert clipped.excluded == () and clipped.clipped and clipped.n_models == 6
    linear = fit_line(acc_orig, acc_new, "linear", n_bootstrap=0)  # 0 and 1 are ordinary there
    assert linear.excluded == () and linear.n_models == 6
    with pytest.raises(ValueError, match="at least 3 models"):
        fit_line([0.5, 0.6, 1.0, 0.0], [0.4, 0.5, 0.6, 0.7], kind, n_bootstrap=0)


def test_testbed_imagenet_a_fit_leaves_out_resnet50_at_0_percent(testbed):
    both = testbed[["model", "val", "imagenet-a"]].dropna()
    x, y = both["val"].to_numpy() / 100, both["imagenet-a"].to_numpy() / 100
    expected_slope, expected_out = _testbed_rule_slope(x, y, "probit")
    fit = fit_line(x, y, "probit", n_bootstrap=0)
    assert [both["model"].iloc[i] for i in fit.excluded] == ["resnet50"]
    assert fit.excluded == tuple(expected_out)
    assert fit.slope == pytest.approx(expected_slope, rel=1e-12)
    clipped = fit_line(x, y, "probit", n_bootstrap=0, clip_extremes=True)
    assert abs(fit.slope - clipped.slope) > 0.004  # 0.4662 against 0.4611
