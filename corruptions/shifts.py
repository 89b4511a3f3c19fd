"""Shift ladders built on albumentations: rain, sun flare, shadow, ISO noise, colour shift,
downscale; five severities each (``benchmark="shifts"``, ``family="albumentations"``).

These are **not ImageNet-C** corruptions and have no published reference; the ladders
(parameters per severity) are in :mod:`corruptions.params.shifts`. Images are uint8 HxWx3
(0-255); lengths in the ladders are fractions of the shorter side.

Determinism: ``sample_parameters`` draws a 32-bit seed (and, for ``color_shift``, the three
signs) from the given ``RandomState``; ``transform`` builds the albumentations transform
with ``p=1`` inside a ``Compose`` seeded with that seed, so it is pure: same image, params
and severity, same output. albumentations is imported only when a shift is applied, with
its network update check switched off (``NO_ALBUMENTATIONS_UPDATE=1``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .base import Corruption, Params
from .params.shifts import LADDERS


def _albumentations():
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations

    return albumentations


def ladder_kwargs(name: str, severity: int, shape: tuple[int, ...]) -> dict[str, Any]:
    """The ladder's keyword arguments at ``severity`` (1-5), ``*_fraction`` lengths in pixels."""
    if name not in LADDERS:
        raise KeyError(f"unknown shift {name!r}; known: {', '.join(LADDERS)}")
    if int(severity) != severity or not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}")
    side = min(shape[0], shape[1])
    kwargs = {**LADDERS[name]["fixed"], **LADDERS[name]["severities"][int(severity) - 1]}
    for key in [k for k in kwargs if k.endswith("_fraction")]:
        kwargs[key.removesuffix("_fraction")] = max(1, int(round(kwargs.pop(key) * side)))
    return kwargs


def _build(name: str, kwargs: dict[str, Any], params: Params):
    A = _albumentations()
    if name == "color_shift":
        s = kwargs["shift"]
        r, g, b = (float(sign * s) for sign in params["signs"])
        return A.RGBShift(r_shift_limit=(r, r), g_shift_limit=(g, g), b_shift_limit=(b, b), p=1.0)
    if name == "downscale":
        import cv2

        scale = kwargs["scale"]
        return A.Downscale(scale_range=(scale, scale), p=1.0,
                           interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR})  # fmt: skip
    return getattr(A, LADDERS[name]["transform"])(**kwargs, p=1.0)


def _sampler(name: str):
    def sample(rng: np.random.RandomState, severity: int, shape, preset) -> Params:
        params: Params = {"seed": int(rng.randint(low=0, high=2**32))}
        if name == "color_shift":
            params["signs"] = [int(s) for s in rng.choice([-1, 1], size=3)]
        return params

    return sample


def _transformer(name: str):
    def transform(image: np.ndarray, params: Params, severity: int, preset: str) -> np.ndarray:
        A = _albumentations()
        kwargs = ladder_kwargs(name, severity, image.shape)
        pipeline = A.Compose([_build(name, kwargs, params)], seed=params["seed"])
        out = pipeline(image=np.ascontiguousarray(image))["image"]
        return np.asarray(out, dtype=np.uint8)

    return transform


def _shift(name: str) -> Corruption:
    return Corruption(name, "albumentations", _sampler(name), _transformer(name), benchmark="shifts")


CORRUPTIONS = tuple(_shift(name) for name in LADDERS)
NAMES = tuple(LADDERS)
