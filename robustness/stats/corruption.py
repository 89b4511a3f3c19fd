"""ImageNet-C corruption metrics: CE, mCE, relative CE/mCE, unnormalised mCE, severity curves.

For a model f, corruption c and severity s = 1..5 with top-1 error E^f_{s,c} (a fraction):

    CE^f_c          = sum_s E^f_{s,c} / sum_s E^AlexNet_{s,c}
    relative CE^f_c = sum_s (E^f_{s,c} - E^f_clean) / sum_s (E^AlexNet_{s,c} - E^AlexNet_clean)
    mCE             = mean of CE_c over the 15 common corruptions (same for relative mCE)
    unnormalised mCE = mean of E^f_{s,c} over the corruptions and severities: two versions,
                      over the 15 common corruptions (the paper's definition,
                      ``unnormalized_mce``) and over all 19 released ones (what the original
                      ``ImageNet-C/test.py`` prints as "mCE (unnormalized by AlexNet errors)",
                      ``unnormalized_mce_19``)

Results are fractions (ResNet-50's published mCE 76.7% is 0.767 here).

AlexNet's clean error for relative CE is :data:`ALEXNET_CLEAN_ERROR` = 0.435, the value the
paper prints (Table 1, 43.5%) and ImageNet-C-bar's baseline pickle stores
(facebookresearch/augmentation-corruption ``experiments/baseline_data/mCE_baseline_imagenet.p``,
``clean: 43.5``). torchvision's AlexNet measures 43.478% (:data:`ALEXNET_CLEAN_ERROR_TORCHVISION`);
the two move a relative mCE by about 0.07 points (docs/reference-parity.md).

Reference: Hendrycks & Dietterich (2019), ICLR, "Benchmarking neural network robustness to
common corruptions and perturbations"; AlexNet's errors are the ImageNet-C README's table,
shipped in ``alexnet_errors.csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from corruptions.base import ALL, COMMON, HELD_OUT

N_SEVERITIES = 5
#: the 15 corruptions of mCE (the paper); defined once, in the generator's catalogue
COMMON_CORRUPTIONS: tuple[str, ...] = COMMON
#: the 4 held-out corruptions released with ImageNet-C for validation
EXTRA_CORRUPTIONS: tuple[str, ...] = HELD_OUT
#: all 19 released corruptions: what ``ImageNet-C/test.py`` averages
ALL_CORRUPTIONS: tuple[str, ...] = ALL
#: AlexNet top-1 error on clean ImageNet val used by relative CE (fraction): the paper's 43.5%
ALEXNET_CLEAN_ERROR = 0.435
#: torchvision's AlexNet measured on val (top-1 56.522%); not used by default
ALEXNET_CLEAN_ERROR_TORCHVISION = 0.43478


@dataclass(frozen=True)
class CorruptionSummary:
    """Per-corruption CE and relative CE with their means over ``corruptions`` (fractions)."""

    corruptions: tuple[str, ...]
    ce: dict[str, float | np.ndarray]
    relative_ce: dict[str, float | np.ndarray] | None
    mce: float | np.ndarray
    relative_mce: float | np.ndarray | None
    unnormalized_mce: float | np.ndarray
    """Mean error over ``corruptions`` x 5 severities (the 15 common ones by default)."""
    unnormalized_mce_19: float | np.ndarray | None = None
    """Mean error over all 19 corruptions x 5 severities (``ImageNet-C/test.py``'s print);
    None unless ``errors`` holds all 19."""


@cache
def alexnet_errors() -> dict[str, np.ndarray]:
    """AlexNet's published top-1 errors: corruption -> array of 5 fractions (severity 1..5)."""
    text = resources.files("robustness.stats").joinpath("alexnet_errors.csv").read_text()
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    table = {
        row["corruption"]: np.array([float(row[f"severity_{s}"]) for s in range(1, 6)])
        for row in rows
    }
    for values in table.values():
        values.setflags(write=False)
    return table


def _severity_errors(errors: Mapping[str, np.ndarray], corruption: str) -> np.ndarray:
    if corruption not in errors:
        raise KeyError(f"no errors for corruption {corruption!r}; expected a mapping from each of "
                       f"{list(COMMON_CORRUPTIONS)} to 5 per-severity errors (fractions)")
    values = np.asarray(errors[corruption], dtype=np.float64)
    if values.shape[-1] != N_SEVERITIES:
        raise ValueError(f"{corruption}: expected errors for severities 1..5 on the last axis, "
                         f"got shape {values.shape}")
    if np.any((values < 0) | (values > 1)):
        raise ValueError(f"{corruption}: errors must be fractions in [0, 1] "
                         "(divide percentages by 100; error = 1 - accuracy)")
    return values


def _reference(corruption: str, baseline: Mapping[str, np.ndarray] | None) -> np.ndarray:
    table = alexnet_errors() if baseline is None else baseline
    if corruption not in table:
        raise KeyError(f"no baseline errors for corruption {corruption!r}")
    return np.asarray(table[corruption], dtype=np.float64)


def corruption_error(
    errors: Mapping[str, np.ndarray],
    corruption: str,
    baseline: Mapping[str, np.ndarray] | None = None,
) -> float | np.ndarray:
    """CE_c = sum_s E_{s,c} / sum_s E^AlexNet_{s,c}; ``errors[c]`` has shape (..., 5)."""
    values = _severity_errors(errors, corruption)
    result = values.sum(-1) / _reference(corruption, baseline).sum()
    return float(result) if np.ndim(result) == 0 else result


def relative_corruption_error(
    errors: Mapping[str, np.ndarray],
    clean_error,
    corruption: str,
    baseline: Mapping[str, np.ndarray] | None = None,
    baseline_clean_error: float = ALEXNET_CLEAN_ERROR,
) -> float | np.ndarray:
    """Relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^AlexNet_{s,c} - E^AlexNet_clean)."""
    values = _severity_errors(errors, corruption)
    clean = np.asarray(clean_error, dtype=np.float64)[..., None]
    reference = _reference(corruption, baseline) - baseline_clean_error
    result = (values - clean).sum(-1) / reference.sum()
    return float(result) if np.ndim(result) == 0 else result


def summarize_corruptions(
    errors: Mapping[str, np.ndarray],
    clean_error=None,
    corruptions: Sequence[str] = COMMON_CORRUPTIONS,
    baseline: Mapping[str, np.ndarray] | None = None,
    baseline_clean_error: float = ALEXNET_CLEAN_ERROR,
) -> CorruptionSummary:
    """CE, mCE, relative CE/mCE (when ``clean_error`` is given) and unnormalised mCE (over
    ``corruptions``, and over all 19 when ``errors`` has them).

    Args:
        errors: corruption name -> top-1 errors (fractions), shape (5,) or (n_models, 5).
        clean_error: clean top-1 error (fraction), scalar or (n_models,); None skips relative.
        corruptions: which corruptions to average; the 15 common ones by default.
        baseline_clean_error: the reference model's clean error (fraction) for relative CE.
    """
    names = tuple(corruptions)
    ce = {c: corruption_error(errors, c, baseline) for c in names}
    mce = np.mean([ce[c] for c in names], axis=0)
    unnormalized = unnormalized_mce(errors, names)
    all_19 = unnormalized_mce(errors, ALL_CORRUPTIONS) if set(ALL_CORRUPTIONS) <= set(errors) else None
    relative = relative_mce = None
    if clean_error is not None:
        relative = {
            c: relative_corruption_error(errors, clean_error, c, baseline, baseline_clean_error)
            for c in names
        }
        relative_mce = _scalar(np.mean([relative[c] for c in names], axis=0))
    return CorruptionSummary(names, ce, relative, _scalar(mce), relative_mce, _scalar(unnormalized),
                             None if all_19 is None else _scalar(all_19))


def unnormalized_mce(errors: Mapping[str, np.ndarray],
                     corruptions: Sequence[str] = COMMON_CORRUPTIONS) -> float | np.ndarray:
    """Mean top-1 error (fraction) over ``corruptions`` x 5 severities, not normalised by
    AlexNet. The paper's unnormalised mCE uses the 15 common corruptions (the default);
    ``ImageNet-C/test.py`` prints the mean over all 19 (pass :data:`ALL_CORRUPTIONS`)."""
    raw = np.stack([_severity_errors(errors, c) for c in corruptions])
    return _scalar(raw.mean(axis=(0, -1)))


def severity_curves(
    errors: Mapping[str, np.ndarray], corruptions: Sequence[str] = COMMON_CORRUPTIONS
) -> tuple[np.ndarray, np.ndarray]:
    """Per-severity error curves: (per corruption, shape (n_corruptions, ..., 5); mean over them)."""
    curves = np.stack([_severity_errors(errors, c) for c in corruptions])
    return curves, curves.mean(axis=0)


def _scalar(value):
    return float(value) if np.ndim(value) == 0 else value
