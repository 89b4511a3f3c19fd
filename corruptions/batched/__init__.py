"""The batched torch path: corrupt NCHW batches on any device.

One call::

    from corruptions.batched import corrupt_batch
    out = corrupt_batch(images, "glass_blur", severity=3, seeds=[11, 12, 13])

* ``images``: NCHW, uint8 levels (0-255) or floating point in [0, 1] (as
  torchvision's ``ToTensor``). The output has the input's dtype and device;
  float output is ``levels / 255`` (the numpy path's truncated uint8 levels).
* ``seeds``: one integer per image (e.g. :func:`corruptions.base.image_seed`).
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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ..base import check_severity
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


def _as_levels(images: torch.Tensor) -> torch.Tensor:
    """NCHW uint8 or float in [0, 1] -> uint8 levels (floats rounded to the nearest level)."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected NCHW images with 3 channels, got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise ValueError(f"expected uint8 (0-255) or float (0-1) images, got {images.dtype}")
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def _restore_dtype(levels: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return levels if like.dtype == torch.uint8 else levels.to(like.dtype) / 255.0


def _check_seeds(seeds: Sequence[int], n: int) -> list[int]:
    seeds = [int(s) for s in seeds]
    if len(seeds) != n:
        raise ValueError(f"need one seed per image: {n} images, {len(seeds)} seeds")
    return seeds


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
    check_severity(severity)
    levels = _as_levels(images)
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
    check_severity(severity)
    get_corruption(name)  # clear error for unknown names
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
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
