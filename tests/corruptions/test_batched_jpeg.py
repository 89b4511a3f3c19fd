"""The torch JPEG round trip against Pillow (libjpeg-turbo): bit-equal, every quality and size."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
import torch
from PIL import Image
from reference import photo

from corruptions.batched.jpeg import downsample_h2v2, jpeg_roundtrip, quant_tables
from corruptions.params import severity_params
from corruptions.params.digital import TABLES


def pillow_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def ours(image: np.ndarray, quality: int) -> np.ndarray:
    batch = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return jpeg_roundtrip(batch, quality)[0].permute(1, 2, 0).numpy()


PRESET_QUALITIES = sorted({int(severity_params(TABLES, preset, "jpeg_compression", s))
                           for preset in TABLES for s in range(1, 6)})  # fmt: skip


@pytest.mark.parametrize("quality", [*PRESET_QUALITIES, 1, 95, 100])
def test_bit_equal_to_pillow_on_photographs(quality):
    for index in range(3):
        image = photo(index, 224)
        np.testing.assert_array_equal(ours(image, quality), pillow_roundtrip(image, quality))


@pytest.mark.parametrize("size", [(31, 45), (17, 9), (64, 48), (5, 3), (2, 7), (1, 1)])
def test_bit_equal_to_pillow_at_odd_sizes(size):
    """Edge padding (rows, columns, chroma blocks) and the narrow-plane upsampling rule."""
    rng = np.random.RandomState(sum(size))
    for image in (photo(1, max(size))[: size[0], : size[1]].copy(),
                  rng.randint(0, 256, (*size, 3)).astype(np.uint8)):  # fmt: skip
        for quality in (7, 50, 90):
            np.testing.assert_array_equal(ours(image, quality), pillow_roundtrip(image, quality))


def test_batch_equals_images_one_by_one():
    images = np.stack([photo(i, 64) for i in range(3)])
    batch = jpeg_roundtrip(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), 18)
    for i in range(3):
        np.testing.assert_array_equal(batch[i].permute(1, 2, 0).numpy(), pillow_roundtrip(images[i], 18))


@pytest.mark.parametrize("quality", [7, 25, 50, 75, 100])
def test_quant_tables_are_the_ones_pillow_writes(quality):
    buffer = BytesIO()
    Image.fromarray(photo(0, 32)).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        written = {k: np.asarray(list(v)).reshape(8, 8) for k, v in decoded.quantization.items()}
    luma, chroma = quant_tables(quality)
    np.testing.assert_array_equal(luma, written[0])
    np.testing.assert_array_equal(chroma, written[1])


def test_reciprocal_quantisation_equals_rounded_division():
    """libjpeg-turbo quantises with ``compute_reciprocal``'s multiply-and-shift (16-bit DCT
    elements); for every baseline divisor and every 15-bit magnitude it equals
    ``(|x| + d // 2) // d``, the rounding the module uses."""
    magnitudes = np.arange(1 << 15, dtype=np.int64)
    for q in range(1, 256):
        divisor = q << 3
        b = divisor.bit_length() - 1
        r = 16 + b
        fq, fr = divmod(1 << r, divisor)
        c = divisor // 2
        if fr == 0:
            fq, r = fq >> 1, r - 1
        elif fr <= divisor // 2:
            c += 1
        else:
            fq += 1
        reciprocal = ((magnitudes + c) * fq) >> r
        np.testing.assert_array_equal(reciprocal, (magnitudes + divisor // 2) // divisor)


def test_downsampling_bias_alternates_1_2():
    """Hand case: each 2x2 sum is 2 (quotient 0 with bias 1, still 0 with bias 2) or 6."""
    plane = torch.tensor([[[1, 0, 1, 0, 2, 1, 2, 1], [0, 1, 0, 1, 1, 2, 1, 2]]])
    # sums 2, 2, 6, 6 -> (2+1)>>2=0, (2+2)>>2=1, (6+1)>>2=1, (6+2)>>2=2
    assert downsample_h2v2(plane).tolist() == [[[0, 1, 1, 2]]]
