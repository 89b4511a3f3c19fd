"""The batched torch path: corrupt NCHW batches on any device.

One call::

    from corruptions.batched import corrupt_batch
    out = corrupt_batch(images, "glass_blur", severity=3, seeds=[11, 12, 13])

* ``images``: NCHW, uint8 levels (0-255) or floating point in [0, 1] (as
  torchvision's ``ToTensor``). The output has the input's dtype and device;
  float output is ``levels / 255`` (the numpy path's truncated uint8 levels).
  Floats outside [0, 1] (0-255 floats, NaN) are refused, not clamped.
* ``seeds``: one integer per image, 0 <= seed < 2**32, as Python ints, numpy
  integers or an integer array/tensor (e.g. :func:`corruptions.base.image_seed`);
  floats and booleans are refused, not truncated.
* ``severity``: an integer 1-5 (Python or numpy; not a bool or float).
* ``sampler="torch"`` (default) draws the random parameters with
  ``torch.Generator(device).manual_seed(seed)`` per image: same distribution as
  the numpy path, not the same numbers, fast on a GPU.
  ``sampler="numpy"`` replays the numpy path's sampler with
  ``np.random.RandomState(seed)`` per image (the reference's RNG stream) and
  then runs the torch transform: within 1 level of :func:`corruptions.corrupt`
  with the same RandomState.
* Corruptions without a torch transform (:data:`NATIVE` lists those with one)
  run the numpy path per image on the CPU (a thread pool as wide as torch's
  CPU threads) and are copied back; they always use the numpy sampler. So do
  those in :data:`NUMPY_ON_CPU` when the batch is on the CPU (their torch
  transform is exact but slower there).
* On the CPU a batch runs in chunks of about four 224 px images
  (:data:`CPU_CHUNK_SUBPIXELS`); the output does not depend on the chunking.

Geometry: images must already be at the size to corrupt (224 x 224 after the
builder's resize and crop for the ``imagenet`` preset); other sizes follow the
numpy path's rules.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ..base import check_preset, check_severity
from ..errors import UserInputError
from ..registry import get_corruption
from . import blur, digital, noise, weather
from .base import BatchedCorruption

_TABLE: dict[str, BatchedCorruption] = {
    c.name: c for mod in (noise, blur, weather, digital) for c in mod.BATCHED
}
NATIVE: tuple[str, ...] = tuple(sorted(_TABLE))
SAMPLERS = ("torch", "numpy")
# Native but measured 2-10x slower than the numpy path on CPUs (Pillow's C resampler and
# libjpeg beat tensor arithmetic there): corrupt_batch runs the numpy path for these on CPU
# tensors (pixelate within 1 level, JPEG bit-equal, as tested).
NUMPY_ON_CPU = frozenset({"pixelate", "jpeg_compression"})
# On CPUs a batch is corrupted in chunks of about this many subpixels (4 images at 224 px):
# the float64/int64 temporaries then stay a few MB, which the allocator reuses, instead of
# fresh 30+ MB mappings whose page faults dominated (measured 1.5-7x slower at 32 images).
# Results do not depend on it: every image has its own generator.
CPU_CHUNK_SUBPIXELS = 4 * 3 * 224 * 224


def _cpu_chunks(levels: torch.Tensor) -> int | None:
    """Images per chunk for a CPU batch, or None when the batch is run whole."""
    if levels.device.type != "cpu":
        return None
    per_image = max(1, levels[0].numel())
    chunk = max(1, CPU_CHUNK_SUBPIXELS // per_image)
    return chunk if levels.shape[0] > chunk else None


MAX_SEED = 2**32 - 1  # numpy's RandomState takes 0 .. 2**32 - 1


def _as_levels(images: torch.Tensor) -> torch.Tensor:
    """NCHW uint8 (0-255) or float in [0, 1] -> uint8 levels (floats rounded to the nearest level).

    Floats with any value outside [0, 1] (or NaN) are refused: clamping 0-255
    floats would silently turn most pixels white.
    """
    if not isinstance(images, torch.Tensor):
        raise UserInputError(
            f"images must be a torch.Tensor (NCHW), got {type(images).__name__}; for one numpy "
            "HxWx3 image use corruptions.corrupt, or torch.from_numpy(batch).permute(0, 3, 1, 2)"
        )
    if images.ndim != 4 or images.shape[1] != 3:
        raise UserInputError(
            f"expected NCHW images with 3 channels, got shape {tuple(images.shape)}; "
            "permute NHWC batches with images.permute(0, 3, 1, 2)"
        )
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise UserInputError(
            f"expected uint8 (0-255) or float (0-1) images, got {images.dtype}; "
            "convert 0-255 integers with images.to(torch.uint8) after checking the range"
        )
    _check_unit_range(images)
    return (images * 255).round().to(torch.uint8)


def _check_unit_range(images: torch.Tensor) -> None:
    """Refuse float images with a value outside [0, 1] or NaN (one device sync)."""
    if images.numel() == 0:
        return
    outside = ~((images >= 0) & (images <= 1))  # NaN compares False: counted as outside
    if not bool(outside.any()):
        return
    n_nan = int(torch.isnan(images).sum())
    finite = images[torch.isfinite(images)]
    found = (f"values from {float(finite.min()):g} to {float(finite.max()):g}"
             if finite.numel() else "no finite values")  # fmt: skip
    if n_nan:
        found += f" and {n_nan} NaN"
    raise UserInputError(
        f"float images must be in [0, 1] (NCHW); got {found}; divide 0-255 images by 255 or "
        "pass uint8"
    )


def _restore_dtype(levels: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return levels if like.dtype == torch.uint8 else levels.to(like.dtype) / 255.0


def _check_seeds(seeds: Sequence[int], n: int) -> list[int]:
    """One seed per image as Python ints, each an integer 0 <= seed < 2**32."""
    if isinstance(seeds, torch.Tensor | np.ndarray):
        if seeds.ndim != 1 or not _integer_dtype(seeds):
            raise UserInputError(
                f"seeds must be one integer per image (a 1-D integer array), got a "
                f"{seeds.ndim}-D array of {seeds.dtype}; pass e.g. [image_seed(...), ...]"
            )
        seeds = seeds.tolist()
    elif isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise UserInputError(
            f"seeds must be a sequence of integers, one per image, got {type(seeds).__name__}"
            f"{' ' + repr(seeds) if isinstance(seeds, int | float) else ''}; pass e.g. [seed] "
            "for one image"
        )
    out = []
    for i, s in enumerate(seeds):
        if isinstance(s, bool | np.bool_) or not isinstance(s, int | np.integer):
            raise UserInputError(
                f"seeds[{i}] is {s!r} ({type(s).__name__}); seeds must be integers "
                f"(0 to {MAX_SEED}), not floats or booleans, which would be truncated"
            )
        if not 0 <= int(s) <= MAX_SEED:
            raise UserInputError(
                f"seeds[{i}] is {int(s)}, outside 0 to {MAX_SEED} (2**32 - 1, what "
                "np.random.RandomState takes); reduce it, e.g. seed % 2**32, or use "
                "corruptions.image_seed"
            )
        out.append(int(s))
    if len(out) != n:
        raise UserInputError(f"need one seed per image: {n} images, {len(out)} seeds")
    return out


def _integer_dtype(array: torch.Tensor | np.ndarray) -> bool:
    """Whether a tensor or array holds integers (not floats, complex numbers or booleans)."""
    if isinstance(array, torch.Tensor):
        return not (array.is_floating_point() or array.is_complex() or array.dtype == torch.bool)
    return array.dtype.kind in "iu"


def _check_sampler(sampler: str) -> None:
    if sampler not in SAMPLERS:
        raise UserInputError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")


def numpy_params(levels: torch.Tensor, name: str, severity: int, seeds: Sequence[int], preset: str):
    """The numpy sampler's parameters, one dict per image, from ``RandomState(seed)``."""
    corruption = get_corruption(name)
    shape = (levels.shape[2], levels.shape[3], levels.shape[1])
    return [
        corruption.sample_parameters(np.random.RandomState(s), severity, shape, preset)
        for s in seeds
    ]


def transform_batch(
    images: torch.Tensor,
    name: str,
    severity: int,
    params_list: Sequence[dict],
    preset: str = "imagenet",
) -> torch.Tensor:
    """The torch transform fed the numpy path's sampled parameters (one dict per image)."""
    severity = check_severity(severity)
    get_corruption(name)  # clear error for unknown names
    check_preset(preset)
    levels = _as_levels(images)
    if len(params_list) != levels.shape[0]:
        raise UserInputError(
            f"need one parameter dict per image: {levels.shape[0]} images, "
            f"{len(params_list)} dicts (from numpy_params)"
        )
    if levels.shape[0] == 0:
        return images.clone()
    if name not in _TABLE:
        return _restore_dtype(_numpy_route(levels, name, severity, preset, params_list=params_list), images)
    chunk = _cpu_chunks(levels)
    if chunk is not None:
        return torch.cat([transform_batch(images[i : i + chunk], name, severity,
                                          params_list[i : i + chunk], preset)
                          for i in range(0, images.shape[0], chunk)])  # fmt: skip
    batched = _TABLE[name]
    params = batched.from_numpy(params_list, levels, severity, preset)
    return _restore_dtype(batched.transform(levels, params, severity, preset), images)


def corrupt_batch(
    images: torch.Tensor,
    name: str,
    severity: int,
    seeds: Sequence[int],
    preset: str = "imagenet",
    sampler: str = "torch",
) -> torch.Tensor:
    """Corrupt a batch (see the module docstring for dtypes, seeds and samplers)."""
    severity = check_severity(severity)
    get_corruption(name)  # clear error for unknown names
    check_preset(preset)
    _check_sampler(sampler)
    levels = _as_levels(images)
    seeds = _check_seeds(seeds, levels.shape[0])
    if levels.shape[0] == 0:
        return images.clone()
    if name not in _TABLE or (levels.device.type == "cpu" and name in NUMPY_ON_CPU):
        return _restore_dtype(_numpy_route(levels, name, severity, preset, seeds=seeds), images)
    chunk = _cpu_chunks(levels)
    if chunk is not None:
        return torch.cat([corrupt_batch(images[i : i + chunk], name, severity, seeds[i : i + chunk],
                                        preset, sampler)
                          for i in range(0, images.shape[0], chunk)])  # fmt: skip
    if sampler == "numpy":
        params = numpy_params(levels, name, severity, seeds, preset)
        return transform_batch(images, name, severity, params, preset)
    batched = _TABLE[name]
    generators = [torch.Generator(device=levels.device).manual_seed(s) for s in seeds]
    params = batched.sample(generators, severity, tuple(levels.shape), preset, levels.device)
    return _restore_dtype(batched.transform(levels, params, severity, preset), images)


def _numpy_route(levels, name, severity, preset, seeds=None, params_list=None) -> torch.Tensor:
    """The numpy path per image, ``RandomState(seed)`` sampling unless ``params_list`` is given.

    Images run in a thread pool as wide as torch's CPU threads: the numpy path spends
    its time in OpenCV, scipy, Pillow and numpy's RNG, which release the GIL.
    """
    corruption = get_corruption(name)
    hwc = levels.permute(0, 2, 3, 1).cpu().numpy()
    shape = hwc.shape[1:]
    out = np.empty_like(hwc)

    local = threading.local()

    def one(i: int) -> None:
        image = np.ascontiguousarray(hwc[i])
        if params_list is None:
            # Re-seeding equals RandomState(seed) and skips its 0.1 ms construction.
            if not hasattr(local, "rng"):
                local.rng = np.random.RandomState()
            rng = local.rng
            rng.seed(seeds[i])
            params = corruption.sample_parameters(rng, severity, shape, preset)
        else:
            params = params_list[i]
        out[i] = corruption.transform(image, params, severity, preset)

    workers = min(len(hwc), max(1, torch.get_num_threads()))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(len(hwc))))
    else:
        for i in range(len(hwc)):
            one(i)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous().to(levels.device)


__all__ = ["NATIVE", "NUMPY_ON_CPU", "SAMPLERS", "corrupt_batch", "numpy_params", "transform_batch"]
