"""Noise corruptions on NCHW batches: gaussian, shot, impulse, speckle.

Same formulas as :mod:`corruptions.noise` (0-1 floats, clip, times 255,
truncate). Torch sampling draws the same distributions per subpixel:
``normal(0, c)``, ``poisson(x * c)``, and two Bernoulli masks for impulse.
"""

from __future__ import annotations

import torch

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
def _shot_sample(generators, severity, shape, preset, device):
    # The Poisson rate depends on the image, so the draw is deferred to the transform.
    return {"generators": list(generators)}


def _shot_from_numpy(params_list, images, severity, preset):
    hwc = images.permute(0, 2, 3, 1).cpu().numpy()
    counts = [shot_counts(img, p, severity, preset) for img, p in zip(hwc, params_list)]
    return {"counts": stack_numpy(counts, images.device)}


def _shot(images, params, severity, preset):
    photons = float(severity_params(TABLES, preset, "shot_noise", severity))
    counts = params.get("counts")
    if counts is None:
        rates = to_unit(images) * photons
        counts = torch.stack(
            [torch.poisson(r, generator=g) for r, g in zip(rates, params["generators"])]
        )
    return truncate_levels(counts / photons)


# ---------------------------------------------------------------- impulse
def _impulse_sample(generators, severity, shape, preset, device):
    amount = _std("impulse_noise", severity, preset)
    c, h, w = shape[1:]

    def masks(g):
        flipped = torch.rand((c, h, w), generator=g, device=device) < amount
        salted = torch.rand((c, h, w), generator=g, device=device) < 0.5
        return torch.stack([flipped, salted])

    both = per_image(generators, masks)
    return {"flipped": both[:, 0], "salted": both[:, 1]}


def _impulse_from_numpy(params_list, images, severity, preset):
    return {
        key: stack_numpy([p[key] for p in params_list], images.device)
        for key in ("flipped", "salted")
    }


def _impulse(images, params, severity, preset):
    unit = to_unit(images)
    flipped, salted = params["flipped"], params["salted"]
    unit = torch.where(flipped & salted, torch.ones_like(unit), unit)
    unit = torch.where(flipped & ~salted, torch.zeros_like(unit), unit)
    return truncate_levels(unit)


BATCHED = (
    BatchedCorruption("gaussian_noise", _normal_sampler("gaussian_noise"), _noise_from_numpy, _gaussian),
    BatchedCorruption("speckle_noise", _normal_sampler("speckle_noise"), _noise_from_numpy, _speckle),
    BatchedCorruption("shot_noise", _shot_sample, _shot_from_numpy, _shot),
    BatchedCorruption("impulse_noise", _impulse_sample, _impulse_from_numpy, _impulse),
)
