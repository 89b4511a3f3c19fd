"""JPEG compression on NCHW batches: libjpeg's baseline round trip in integer tensor arithmetic.

The reference saves with Pillow (``quality=q``) and decodes with Pillow. Pillow
calls libjpeg(-turbo) with its defaults, and every lossy step of that path is
integer arithmetic with published constants, so it can be replayed exactly on
any device (bit-equal to Pillow: tested on photographs and odd sizes):

encoder
  * RGB -> YCbCr with libjpeg's 16-bit fixed-point tables (``jccolor.c``).
  * Edge padding: columns to a whole chroma block (16 px), rows to even by
    repeating the last one; chroma 2x2 averaged with the alternating 1, 2
    rounding bias (``jcsample.c``, 4:2:0 is Pillow's default); each plane's
    rows then padded to whole blocks by repeating its last row (``jcprepct.c``).
  * The accurate integer forward DCT (``jfdctint.c``: 13-bit constants, 2 extra
    bits after the first pass, output 8x the DCT).
  * Quantisation by the Annex K tables scaled to the quality (``jcparam.c``:
    ``5000 / q`` below 50, ``200 - 2 q`` above, clamped to 1-255 for baseline),
    rounded half away from zero. libjpeg-turbo multiplies by reciprocals; that
    equals the rounded division for every 15-bit input (checked in the tests).
decoder
  * Dequantisation and the accurate integer inverse DCT (``jidctint.c``), its
    output range-limited through libjpeg's table (``x & 1023`` wraps).
  * "Fancy" h2v2 chroma upsampling (``jdsample.c``): a triangle filter
    ``(3 * near + far)`` both ways, rounded with +8 / +7, edges repeated.
  * YCbCr -> RGB with libjpeg's tables (``jdcolor.c``).

The entropy coding is lossless and skipped. Integers are int64 (libjpeg's JLONG).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

STD_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
STD_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
)  # fmt: skip

CONST_BITS = 13
PASS1_BITS = 2
SCALEBITS = 16
ONE_HALF = 1 << (SCALEBITS - 1)


def _fix13(x: float) -> int:
    return int(x * (1 << CONST_BITS) + 0.5)


def _fix16(x: float) -> int:
    return int(x * (1 << SCALEBITS) + 0.5)


F_0_298, F_0_390, F_0_541, F_0_765 = _fix13(0.298631336), _fix13(0.390180644), _fix13(0.541196100), _fix13(0.765366865)
F_0_899, F_1_175, F_1_501, F_1_847 = _fix13(0.899976223), _fix13(1.175875602), _fix13(1.501321110), _fix13(1.847759065)
F_1_961, F_2_053, F_2_562, F_3_072 = _fix13(1.961570560), _fix13(2.053119869), _fix13(2.562915447), _fix13(3.072711026)


def quality_scale(quality: int) -> int:
    """libjpeg's ``jpeg_quality_scaling``: percentage applied to the Annex K tables."""
    quality = min(max(int(quality), 1), 100)
    return 5000 // quality if quality < 50 else 200 - quality * 2


@functools.lru_cache(maxsize=32)
def quant_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """(luminance, chrominance) 8x8 quantisation tables in natural order, baseline (1-255)."""
    scale = quality_scale(quality)

    def scaled(table):
        values = (np.asarray(table, dtype=np.int64) * scale + 50) // 100
        return np.clip(values, 1, 255).reshape(8, 8)

    return scaled(STD_LUMINANCE), scaled(STD_CHROMINANCE)


def _descale(x: torch.Tensor, n: int) -> torch.Tensor:
    return (x + (1 << (n - 1))) >> n


# ------------------------------------------------------------------ colour
def rgb_to_ycc(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) int64 RGB levels -> YCbCr levels (``jccolor.c``)."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    offset = 128 << SCALEBITS
    y = (_fix16(0.29900) * r + _fix16(0.58700) * g + _fix16(0.11400) * b + ONE_HALF) >> SCALEBITS
    cb = (-_fix16(0.16874) * r - _fix16(0.33126) * g + _fix16(0.5) * b + offset + ONE_HALF - 1) >> SCALEBITS
    cr = (_fix16(0.5) * r - _fix16(0.41869) * g - _fix16(0.08131) * b + offset + ONE_HALF - 1) >> SCALEBITS
    return torch.stack([y, cb, cr], 1)


def ycc_to_rgb(y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor) -> torch.Tensor:
    """YCbCr int64 planes (N, H, W) -> (N, 3, H, W) RGB levels (``jdcolor.c``)."""
    cb, cr = cb - 128, cr - 128
    red = y + ((_fix16(1.40200) * cr + ONE_HALF) >> SCALEBITS)
    green = y + ((-_fix16(0.34414) * cb + ONE_HALF - _fix16(0.71414) * cr) >> SCALEBITS)
    blue = y + ((_fix16(1.77200) * cb + ONE_HALF) >> SCALEBITS)
    return torch.stack([red, green, blue], 1).clamp(0, 255)


# ------------------------------------------------------------------ sampling
def _repeat_edge(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Pad the last two axes to ``rows`` x ``cols`` by repeating the last row / column."""
    h, w = x.shape[-2:]
    if rows > h:
        x = torch.cat([x, x[..., -1:, :].expand(*x.shape[:-2], rows - h, x.shape[-1])], -2)
    if cols > w:
        x = torch.cat([x, x[..., :, -1:].expand(*x.shape[:-1], cols - w)], -1)
    return x


def downsample_h2v2(plane: torch.Tensor) -> torch.Tensor:
    """2x2 average of (N, 2h, 2w) levels with libjpeg's bias 1, 2, 1, 2 along each row."""
    n, h2, w2 = plane.shape
    sums = plane.reshape(n, h2 // 2, 2, w2 // 2, 2).sum((2, 4))
    bias = torch.tensor([1, 2], device=plane.device, dtype=plane.dtype).repeat(w2 // 4 + 1)[: w2 // 2]
    return (sums + bias) >> 2


def upsample_h2v2_fancy(plane: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """libjpeg's triangle-filter 2x upsampling of the (N, height, width) real samples.

    Each output row mixes its own input row (x3) with the nearer neighbour row;
    each output column then mixes that column sum (x3) with the nearer
    neighbour's: ``(3 c + left + 8) >> 4`` and ``(3 c + right + 7) >> 4``.
    Rows and columns beyond the edges repeat the edge. libjpeg only filters planes
    wider than 2 samples; narrower ones are repeated 2x2.
    """
    x = plane[:, :height, :width]
    if width <= 2:
        return x.repeat_interleave(2, 1).repeat_interleave(2, 2)
    above = torch.cat([x[:, :1], x[:, :-1]], 1)
    below = torch.cat([x[:, 1:], x[:, -1:]], 1)
    out_rows = []
    for neighbour in (above, below):  # output rows 2i and 2i + 1
        colsum = 3 * x + neighbour
        left = torch.cat([colsum[:, :, :1], colsum[:, :, :-1]], 2)
        right = torch.cat([colsum[:, :, 1:], colsum[:, :, -1:]], 2)
        even = (3 * colsum + left + 8) >> 4
        odd = (3 * colsum + right + 7) >> 4
        out_rows.append(torch.stack([even, odd], 3).reshape(x.shape[0], height, 2 * width))
    return torch.stack(out_rows, 2).reshape(x.shape[0], 2 * height, 2 * width)


# ------------------------------------------------------------------ DCT
def _blocks(plane: torch.Tensor) -> torch.Tensor:
    """(N, 8a, 8b) -> (N, a, b, 8, 8)."""
    n, h, w = plane.shape
    return plane.reshape(n, h // 8, 8, w // 8, 8).transpose(2, 3)


def _unblocks(blocks: torch.Tensor) -> torch.Tensor:
    n, a, b = blocks.shape[:3]
    return blocks.transpose(2, 3).reshape(n, a * 8, b * 8)


def _fdct_1d(d: torch.Tensor, first_pass: bool) -> torch.Tensor:
    """One pass of ``jpeg_fdct_islow`` along the last axis (8 samples)."""
    d0, d1, d2, d3, d4, d5, d6, d7 = d.unbind(-1)
    tmp0, tmp7, tmp1, tmp6 = d0 + d7, d0 - d7, d1 + d6, d1 - d6
    tmp2, tmp5, tmp3, tmp4 = d2 + d5, d2 - d5, d3 + d4, d3 - d4
    tmp10, tmp13, tmp11, tmp12 = tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2
    shift = CONST_BITS - PASS1_BITS if first_pass else CONST_BITS + PASS1_BITS
    if first_pass:
        out0, out4 = (tmp10 + tmp11) << PASS1_BITS, (tmp10 - tmp11) << PASS1_BITS
    else:
        out0, out4 = _descale(tmp10 + tmp11, PASS1_BITS), _descale(tmp10 - tmp11, PASS1_BITS)
    z1 = (tmp12 + tmp13) * F_0_541
    out2 = _descale(z1 + tmp13 * F_0_765, shift)
    out6 = _descale(z1 - tmp12 * F_1_847, shift)
    z1, z2, z3, z4 = tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7
    z5 = (z3 + z4) * F_1_175
    tmp4, tmp5, tmp6, tmp7 = tmp4 * F_0_298, tmp5 * F_2_053, tmp6 * F_3_072, tmp7 * F_1_501
    z1, z2, z3, z4 = -z1 * F_0_899, -z2 * F_2_562, -z3 * F_1_961 + z5, -z4 * F_0_390 + z5
    out7 = _descale(tmp4 + z1 + z3, shift)
    out5 = _descale(tmp5 + z2 + z4, shift)
    out3 = _descale(tmp6 + z2 + z3, shift)
    out1 = _descale(tmp7 + z1 + z4, shift)
    return torch.stack([out0, out1, out2, out3, out4, out5, out6, out7], -1)


def fdct_islow(blocks: torch.Tensor) -> torch.Tensor:
    """(..., 8, 8) samples minus 128 -> coefficients scaled by 8 (rows, then columns)."""
    rows = _fdct_1d(blocks, True)
    return _fdct_1d(rows.transpose(-1, -2), False).transpose(-1, -2)


def _idct_1d(c: torch.Tensor, shift: int) -> torch.Tensor:
    """One pass of ``jpeg_idct_islow`` along the last axis; outputs descaled by ``shift``."""
    c0, c1, c2, c3, c4, c5, c6, c7 = c.unbind(-1)
    z1 = (c2 + c6) * F_0_541
    tmp2 = z1 - c6 * F_1_847
    tmp3 = z1 + c2 * F_0_765
    tmp0, tmp1 = (c0 + c4) << CONST_BITS, (c0 - c4) << CONST_BITS
    tmp10, tmp13, tmp11, tmp12 = tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2
    t0, t1, t2, t3 = c7, c5, c3, c1
    z1, z2, z3, z4 = t0 + t3, t1 + t2, t0 + t2, t1 + t3
    z5 = (z3 + z4) * F_1_175
    t0, t1, t2, t3 = t0 * F_0_298, t1 * F_2_053, t2 * F_3_072, t3 * F_1_501
    z1, z2, z3, z4 = -z1 * F_0_899, -z2 * F_2_562, -z3 * F_1_961 + z5, -z4 * F_0_390 + z5
    t0, t1, t2, t3 = t0 + z1 + z3, t1 + z2 + z4, t2 + z2 + z3, t3 + z1 + z4
    outs = (tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0,
            tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3)  # fmt: skip
    return torch.stack([_descale(o, shift) for o in outs], -1)


def idct_range_limit(x: torch.Tensor) -> torch.Tensor:
    """libjpeg's post-IDCT table on ``x & 1023``: x + 128 clamped to 0-255, wrapping far out."""
    v = x & 1023
    return torch.where(v < 128, v + 128, torch.where(v < 512, 255, torch.where(v < 896, 0, v - 896)))


def idct_islow(coefficients: torch.Tensor) -> torch.Tensor:
    """(..., 8, 8) dequantised coefficients -> samples 0-255 (columns, then rows)."""
    columns = _idct_1d(coefficients.transpose(-1, -2), CONST_BITS - PASS1_BITS).transpose(-1, -2)
    return idct_range_limit(_idct_1d(columns, CONST_BITS + PASS1_BITS + 3))


def _quantised_roundtrip(plane: torch.Tensor, table: np.ndarray) -> torch.Tensor:
    """Blocks of one padded plane through FDCT, quantisation, dequantisation and IDCT."""
    q = torch.from_numpy(table).to(plane.device)
    coefficients = fdct_islow(_blocks(plane - 128))
    divisor = q << 3
    magnitude = (coefficients.abs() + (divisor >> 1)) // divisor
    quantised = torch.where(coefficients < 0, -magnitude, magnitude)
    return _unblocks(idct_islow(quantised * q))


def _ceil_to(n: int, m: int) -> int:
    return -(-n // m) * m


def jpeg_roundtrip(levels: torch.Tensor, quality: int) -> torch.Tensor:
    """Pillow's ``save(..., 'JPEG', quality=quality)`` then decode, on uint8 NCHW RGB levels."""
    n, _, h, w = levels.shape
    luma_table, chroma_table = quant_tables(int(quality))
    ycc = rgb_to_ycc(levels.to(torch.int64))
    ycc = _repeat_edge(ycc, _ceil_to(h, 2), _ceil_to(w, 16))
    chroma_h, chroma_w = -(-h // 2), -(-w // 2)

    y = _repeat_edge(ycc[:, 0], _ceil_to(h, 8), _ceil_to(w, 8))[:, : _ceil_to(h, 8), : _ceil_to(w, 8)]
    y = _quantised_roundtrip(y, luma_table)[:, :h, :w]
    chroma = []
    for plane in (ycc[:, 1], ycc[:, 2]):
        small = downsample_h2v2(plane)
        small = _repeat_edge(small, _ceil_to(chroma_h, 8), small.shape[-1])
        decoded = _quantised_roundtrip(small, chroma_table)
        chroma.append(upsample_h2v2_fancy(decoded, chroma_h, chroma_w)[:, :h, :w])
    return ycc_to_rgb(y, *chroma).to(torch.uint8)
