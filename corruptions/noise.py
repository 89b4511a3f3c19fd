"""Noise corruptions: gaussian, shot (Poisson), impulse (salt & pepper), speckle.

Faithful to ``make_imagenet_c.py``: pixels are scaled to 0-1 as float64,
noise is drawn from the legacy ``RandomState`` in the reference's order, the
result is clipped to [0, 1], multiplied by 255 and truncated with ``np.uint8``
(not rounded), as the reference's saver did.

* ``impulse_noise`` follows scikit-image 0.13's ``random_noise(mode='s&p')``,
  which the published ImageNet-C ran on: flip each subpixel with probability
  ``amount``, then salt vs pepper with probability 1/2, both drawn as
  ``np.random.choice([True, False], p=[q, 1 - q])`` would draw them.
* ``shot_noise`` draws ``poisson(x * c)``: how many uniforms the legacy sampler
  consumes depends on the image, so its parameters are a snapshot of the RNG
  state and the draw is replayed inside the transform (its output depends only
  on its inputs). The replay then moves the caller's ``rng`` to where the
  reference's draw leaves the stream (the same state however often it runs),
  so consecutive calls on one stream get fresh noise, as in the reference.

All four work at any image size: noise is drawn per subpixel of the given shape.
"""

from __future__ import annotations

import numpy as np

from .base import Corruption, Params, clip_scale_truncate, to_unit
from .params import severity_params
from .params.noise import TABLES


def choice_true(rng: np.random.RandomState, prob: float, shape: tuple[int, ...]) -> np.ndarray:
    """``rng.choice([True, False], size=shape, p=[prob, 1 - prob])``, drawn faster.

    The legacy ``choice`` draws one ``random_sample`` per element and picks index
    0 where the sample is below the normalised CDF's first entry; this does the
    same comparison without the search (same stream, same result).
    """
    cdf = np.cumsum([prob, 1 - prob])
    cdf /= cdf[-1]
    return rng.random_sample(shape) < cdf[0]


# ---------------------------------------------------------------- gaussian
def _sample_gaussian(rng, severity, shape, preset) -> Params:
    std = severity_params(TABLES, preset, "gaussian_noise", severity)
    return {"noise": rng.normal(size=shape, scale=std)}


def _gaussian(image, params, severity, preset) -> np.ndarray:
    noisy = to_unit(image)
    noisy += params["noise"]
    return clip_scale_truncate(noisy)


# ---------------------------------------------------------------- shot
def _sample_shot(rng, severity, shape, preset) -> Params:
    return {"rng_state": rng.get_state(), "stream": rng}


def shot_counts(image: np.ndarray, params: Params, severity: int, preset: str) -> np.ndarray:
    """The Poisson photon counts ``poisson(x * c)`` replayed from the snapshot RNG state.

    Afterwards ``params["stream"]`` (the sampler's RandomState, if present) is
    set to the state the draw ends in, as if it had drawn the counts itself.
    """
    photons = severity_params(TABLES, preset, "shot_noise", severity)
    replay = np.random.RandomState()
    replay.set_state(params["rng_state"])
    counts = replay.poisson(to_unit(image) * photons)
    stream = params.get("stream")
    if stream is not None:
        stream.set_state(replay.get_state())
    return counts


def _shot(image, params, severity, preset) -> np.ndarray:
    photons = severity_params(TABLES, preset, "shot_noise", severity)
    return clip_scale_truncate(shot_counts(image, params, severity, preset) / float(photons))


# ---------------------------------------------------------------- impulse
def _sample_impulse(rng, severity, shape, preset) -> Params:
    amount = severity_params(TABLES, preset, "impulse_noise", severity)
    flipped = choice_true(rng, amount, shape)
    salted = choice_true(rng, 0.5, shape)
    return {"flipped": flipped, "salted": salted}


def _impulse(image, params, severity, preset) -> np.ndarray:
    unit = to_unit(image)
    flipped, salted = params["flipped"], params["salted"]
    unit[flipped & salted] = 1.0
    unit[flipped & ~salted] = 0.0
    return clip_scale_truncate(unit)


# ---------------------------------------------------------------- speckle
def _sample_speckle(rng, severity, shape, preset) -> Params:
    std = severity_params(TABLES, preset, "speckle_noise", severity)
    return {"noise": rng.normal(size=shape, scale=std)}


def _speckle(image, params, severity, preset) -> np.ndarray:
    unit = to_unit(image)
    noisy = unit * params["noise"]
    noisy += unit  # x + x * noise (addition commutes exactly)
    return clip_scale_truncate(noisy)


CORRUPTIONS = (
    Corruption("gaussian_noise", "noise", _sample_gaussian, _gaussian),
    Corruption("shot_noise", "noise", _sample_shot, _shot),
    Corruption("impulse_noise", "noise", _sample_impulse, _impulse),
    Corruption("speckle_noise", "noise", _sample_speckle, _speckle, benchmark="imagenet-c"),
)
