"""Shared pieces of the torch path: the batched-corruption record and filters.

Conventions: images are NCHW tensors on any device. Inside a transform they are
uint8 levels (0-255) in and out; arithmetic is float32 on the images' device.
The numpy path's final ``np.uint8`` truncation is reproduced by
:func:`truncate_levels` (clip to [0, 1], times 255, truncate toward zero).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

TensorParams = dict[str, Any]
WORK_DTYPE = torch.float32


@dataclass(frozen=True)
class BatchedCorruption:
    """One corruption's torch path.

    ``sample(generators, severity, shape, preset, device)``: draws the batch's
        random parameters with torch, one ``torch.Generator`` per image (same
        distribution as the numpy sampler, not the same numbers).
    ``from_numpy(params_list, images, severity, preset)``: stacks parameters the
        numpy ``sample_parameters`` drew (one dict per image) into tensors, so
        the torch transform can replay the numpy path's exact noise.
    ``transform(images_uint8_nchw, params, severity, preset)``: uint8 NCHW out.
    """

    name: str
    sample: Callable[[Sequence[torch.Generator], int, tuple[int, ...], str, torch.device], TensorParams]
    from_numpy: Callable[[Sequence[dict], torch.Tensor, int, str], TensorParams]
    transform: Callable[[torch.Tensor, TensorParams, int, str], torch.Tensor]


def no_params_sample(generators, severity, shape, preset, device) -> TensorParams:
    return {}


def no_params_from_numpy(params_list, images, severity, preset) -> TensorParams:
    return {}


def to_unit(images: torch.Tensor, dtype: torch.dtype = WORK_DTYPE) -> torch.Tensor:
    """uint8 levels -> floats in [0, 1] (the reference's ``x / 255.``), float32 by default."""
    return images.to(dtype) / 255.0


def truncate_levels(unit: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats -> uint8 levels, clipped then truncated like ``np.uint8(clip(x) * 255)``."""
    return (unit.clamp(0, 1) * 255).to(torch.uint8)


def truncate_0_255(values: torch.Tensor) -> torch.Tensor:
    """0-255 floats -> uint8 levels, clipped then truncated."""
    return values.clamp(0, 255).to(torch.uint8)


def stack_numpy(arrays: Sequence[np.ndarray], device: torch.device, hwc: bool = True) -> torch.Tensor:
    """Stack per-image numpy arrays into one float32 tensor; HWC arrays become NCHW."""
    t = torch.from_numpy(np.stack([np.asarray(a) for a in arrays]))
    if hwc and t.ndim == 4:
        t = t.permute(0, 3, 1, 2)
    return t.to(device=device, dtype=WORK_DTYPE if t.is_floating_point() else t.dtype)


def per_image(generators: Sequence[torch.Generator], draw: Callable[[torch.Generator], torch.Tensor]):
    """Stack ``draw(g)`` over the batch's per-image generators."""
    return torch.stack([draw(g) for g in generators])


# ------------------------------------------------------------------ padding and filters


def boundary_index(idx: torch.Tensor, n: int, mode: str) -> torch.Tensor:
    """Map integer positions on a length-``n`` axis inside it, by scipy.ndimage's boundary modes.

    ``nearest`` (a a | a b c | c c), ``reflect`` (b a | a b c | c b, half-sample
    symmetric), ``mirror`` (c b | a b c | b a, OpenCV's reflect-101 / torch's reflect).
    Any distance outside works (the pattern repeats).
    """
    if mode == "nearest":
        return idx.clamp(0, n - 1)
    if mode == "reflect":
        period = 2 * n
        idx = idx % period
        return torch.where(idx >= n, period - 1 - idx, idx)
    if mode == "mirror":
        if n == 1:
            return torch.zeros_like(idx)
        period = 2 * n - 2
        idx = idx % period
        return torch.where(idx >= n, period - idx, idx)
    raise ValueError(f"unknown boundary mode {mode!r}; use nearest, reflect or mirror")


def pad_indices(n: int, before: int, after: int, mode: str, device: torch.device) -> torch.Tensor:
    """Indices into a length-``n`` axis padded by ``before``/``after`` (see :func:`boundary_index`)."""
    return boundary_index(torch.arange(-before, n + after, device=device), n, mode)


def pad2d(x: torch.Tensor, pad_h: int, pad_w: int, mode: str) -> torch.Tensor:
    """Pad the last two axes of ``x`` by ``pad_h`` / ``pad_w`` on both sides."""
    h, w = x.shape[-2:]
    rows = pad_indices(h, pad_h, pad_h, mode, x.device)
    cols = pad_indices(w, pad_w, pad_w, mode, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def gaussian_kernel1d(sigma: float, truncate: float) -> np.ndarray:
    """scipy.ndimage's 1-D Gaussian: radius ``int(truncate * sigma + 0.5)``, normalised."""
    if float(sigma) <= 0:  # scipy leaves the axis unfiltered
        return np.ones(1)
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (float(sigma) ** 2) * x**2)
    return w / w.sum()


@functools.lru_cache(maxsize=256)
def _filter_matrix_np(n: int, kernel: tuple[float, ...], mode: str) -> np.ndarray:
    """(n, n) matrix ``A`` with ``A @ v`` = ``v`` correlated with ``kernel`` under ``mode``.

    Boundary handling is folded in: a tap that falls outside adds its weight to
    the pixel the boundary mode reads instead (so ``A`` is exact, not truncated).
    """
    r = (len(kernel) - 1) // 2
    src = pad_indices(n, r, r, mode, torch.device("cpu")).numpy()
    mat = np.zeros((n, n), dtype=np.float64)
    rows = np.arange(n)
    for t, weight in enumerate(kernel):
        np.add.at(mat, (rows, src[rows + t]), weight)
    return mat


def filter_matrix(n: int, kernel: np.ndarray, mode: str, like: torch.Tensor) -> torch.Tensor:
    """:func:`_filter_matrix_np` as a tensor with ``like``'s dtype and device."""
    mat = _filter_matrix_np(n, tuple(float(k) for k in np.ravel(kernel)), mode)
    return torch.from_numpy(mat).to(device=like.device, dtype=like.dtype)


def separable_filter(x: torch.Tensor, kernel: np.ndarray, mode: str) -> torch.Tensor:
    """Correlate the last two axes of ``x`` (N, C, H, W) with ``kernel`` (rows, then columns).

    Done as two dense matrix products with the boundary-folded filter matrices:
    exact up to float rounding, and fast on CPUs and GPUs alike.
    """
    h, w = x.shape[-2:]
    rows = filter_matrix(h, kernel, mode, x)
    cols = filter_matrix(w, kernel, mode, x)
    return torch.matmul(torch.matmul(rows, x), cols.T)


def gaussian_filter(x: torch.Tensor, sigma: float, mode: str = "nearest", truncate: float = 4.0):
    """``scipy.ndimage.gaussian_filter`` over the last two axes (per channel)."""
    return separable_filter(x, gaussian_kernel1d(sigma, truncate), mode)


def filter2d(x: torch.Tensor, kernel: np.ndarray, mode: str = "mirror") -> torch.Tensor:
    """OpenCV ``filter2D`` (correlation, anchor at the centre) per channel of NCHW ``x``.

    Pads by the kernel's half-size under ``mode`` (OpenCV's default border is
    reflect-101, ``mirror`` here), then correlates through the FFT (as OpenCV
    does for large kernels).
    """
    n, c, h, w = x.shape
    k = torch.as_tensor(np.array(kernel), dtype=x.dtype, device=x.device)
    kh, kw = k.shape
    padded = pad2d(x, (kh - 1) // 2, (kw - 1) // 2, mode)
    ph, pw = padded.shape[-2:]
    # Correlation = convolution with the flipped kernel; keep the fully overlapped part.
    spectrum = torch.fft.rfft2(padded, s=(ph, pw)) * torch.fft.rfft2(k.flip(0, 1), s=(ph, pw))
    full = torch.fft.irfft2(spectrum, s=(ph, pw))
    return full[..., kh - 1 : kh - 1 + h, kw - 1 : kw - 1 + w].contiguous()
