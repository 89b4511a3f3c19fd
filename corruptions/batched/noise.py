"""Noise corruptions on NCHW batches: gaussian, shot, impulse, speckle.

Same formulas as :mod:`corruptions.noise` (0-1 floats, clip, times 255,
truncate). Torch sampling draws the same distributions per subpixel:

* gaussian, speckle: ``normal(0, c)``.
* shot: ``poisson(x * c)``. The rate takes one of 256 values per severity (one per
  level), so counts come from exact per-level inverse-CDF tables (float64 Poisson
  CDFs with a guide table): one uniform per subpixel, vectorised, on any device.
* impulse: one uniform ``u`` per subpixel; ``u < amount`` flips it, and a flipped
  subpixel is salt when ``u < amount / 2`` (the two Bernoulli masks of the numpy
  path, ``P(flip) = amount`` and ``P(salt | flip) = 1/2``, from one draw). Levels stay
  uint8: ``uint8(clip(L / 255) * 255) == L`` for every level, so the float round
  trip of the numpy path changes nothing.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from scipy import stats

from ..noise import shot_counts
from ..params import severity_params
from ..params.noise import TABLES
from .base import BatchedCorruption, per_image, stack_numpy, to_unit, truncate_levels


def _std(name: str, severity: int, preset: str) -> float:
    return float(severity_params(TABLES, preset, name, severity))


def _normal_sampler(name: str):
    def sample(generators, severity, shape, preset, device):
        std = _std(name, severity, preset)
        c, h, w = shape[1:]
        noise = per_image(generators, lambda g: torch.randn((c, h, w), generator=g, device=device))
        return {"noise": noise * std}

    return sample


def _noise_from_numpy(params_list, images, severity, preset):
    return {"noise": stack_numpy([p["noise"] for p in params_list], images.device)}


# ---------------------------------------------------------------- gaussian / speckle
def _gaussian(images, params, severity, preset):
    return truncate_levels(to_unit(images) + params["noise"])


def _speckle(images, params, severity, preset):
    unit = to_unit(images)
    return truncate_levels(unit + unit * params["noise"])


# ---------------------------------------------------------------- shot
LEVELS = 256


@functools.lru_cache(maxsize=16)
def poisson_level_tables(photons: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF tables for ``poisson(level / 255 * photons)``, one row per level.

    Returns ``cdf`` (256, K) float64 with ``cdf[L, k] = P(count <= k)`` (the last
    column set to 1: K reaches past the float64 tail of the largest rate), and
    ``guide`` (256, M) int64 with ``guide[L, j]`` the smallest ``k`` with
    ``cdf[L, k] >= j / M``, where the search for a uniform ``u`` starts.
    """
    rates = np.arange(LEVELS) / 255.0 * float(photons)
    top = rates[-1]
    k_max = int(top + 15 * np.sqrt(top) + 40)
    cdf = stats.poisson.cdf(np.arange(k_max)[None, :], rates[:, None])
    cdf[:, -1] = 1.0
    m = 2 * k_max
    guide = np.stack([np.searchsorted(row, np.arange(m) / m, side="left") for row in cdf])
    return cdf, guide.astype(np.int64)


def poisson_counts(levels: torch.Tensor, photons: float, uniforms: torch.Tensor) -> torch.Tensor:
    """Poisson counts with rate ``levels / 255 * photons`` by inversion of ``uniforms``.

    ``levels``: uint8 tensor; ``uniforms``: float64 in [0, 1) of the same shape.
    Each count is the smallest ``k`` with ``CDF(k) >= u``: exact inverse-CDF sampling
    (float64 CDFs), found from the guide table in about one step.
    """
    cdf_np, guide_np = poisson_level_tables(float(photons))
    k_max, m = cdf_np.shape[1], guide_np.shape[1]
    cdf = torch.from_numpy(cdf_np).to(uniforms.device).reshape(-1)
    guide = torch.from_numpy(guide_np).to(uniforms.device).reshape(-1)
    level = levels.reshape(-1).long()
    u = uniforms.reshape(-1)
    k = guide[level * m + (u * m).long().clamp_(max=m - 1)]
    row = level * k_max
    active = (cdf[row + k] < u).nonzero().squeeze(1)
    while active.numel():
        k[active] += 1
        active = active[cdf[row[active] + k[active]] < u[active]]
    return k.reshape(levels.shape)


def _shot_sample(generators, severity, shape, preset, device):
    c, h, w = shape[1:]
    uniforms = per_image(generators, lambda g: torch.rand((c, h, w), generator=g, device=device,
                                                          dtype=torch.float64))  # fmt: skip
    return {"uniforms": uniforms}


def _shot_from_numpy(params_list, images, severity, preset):
    hwc = images.permute(0, 2, 3, 1).cpu().numpy()
    counts = [shot_counts(img, p, severity, preset) for img, p in zip(hwc, params_list)]
    return {"counts": stack_numpy(counts, images.device)}


def _shot(images, params, severity, preset):
    photons = float(severity_params(TABLES, preset, "shot_noise", severity))
    counts = params.get("counts")
    if counts is None:
        counts = poisson_counts(images, photons, params["uniforms"])
    return truncate_levels(counts / photons)


# ---------------------------------------------------------------- impulse
def _impulse_sample(generators, severity, shape, preset, device):
    amount = _std("impulse_noise", severity, preset)
    c, h, w = shape[1:]
    u = per_image(generators, lambda g: torch.rand((c, h, w), generator=g, device=device))
    return {"flipped": u < amount, "salted": u < amount / 2}


def _impulse_from_numpy(params_list, images, severity, preset):
    return {
        key: stack_numpy([p[key] for p in params_list], images.device)
        for key in ("flipped", "salted")
    }


def _impulse(images, params, severity, preset):
    flipped, salted = params["flipped"], params["salted"]
    noise_levels = salted.to(torch.uint8) * 255
    return torch.where(flipped, noise_levels, images)


BATCHED = (
    BatchedCorruption("gaussian_noise", _normal_sampler("gaussian_noise"), _noise_from_numpy, _gaussian),
    BatchedCorruption("speckle_noise", _normal_sampler("speckle_noise"), _noise_from_numpy, _speckle),
    BatchedCorruption("shot_noise", _shot_sample, _shot_from_numpy, _shot),
    BatchedCorruption("impulse_noise", _impulse_sample, _impulse_from_numpy, _impulse),
)
