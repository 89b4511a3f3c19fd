"""The torch path on a CUDA device against the same path on the CPU (runs where a GPU is).

Same parameters (the numpy sampler's) must give the same uint8 output on both devices
up to float rounding (within 1 level); the torch sampler must run on the device and be
seeded per image there too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import photo

from corruptions import ALL
from corruptions.batched import corrupt_batch, numpy_params, transform_batch

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA device here: these compare the torch path on a GPU with the CPU",
)


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    images = np.stack([photo(i % 3, 224) for i in range(4)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


@pytest.mark.parametrize("name", sorted(ALL))
def test_cuda_equals_cpu_for_the_same_parameters(name, photos):
    for severity in (1, 3, 5):
        params = numpy_params(photos, name, severity, [7, 8, 9, 10], "imagenet")
        cpu = transform_batch(photos, name, severity, params)
        gpu = transform_batch(photos.cuda(), name, severity, params)
        assert gpu.device.type == "cuda" and gpu.dtype == torch.uint8
        diff = (gpu.cpu().to(torch.int16) - cpu.to(torch.int16)).abs()
        assert int(diff.max()) <= 1, (name, severity, int(diff.max()))
        assert float(diff.float().mean()) <= 0.05, (name, severity)


DETERMINISTIC = {"contrast", "brightness", "saturate", "defocus_blur", "zoom_blur",
                 "gaussian_blur", "pixelate", "jpeg_compression"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ALL))
def test_cuda_sampler_runs_and_is_seeded_per_image(name, photos):
    """photos[0] and photos[3] are the same photograph: seeds 5 and 7 differ unless the
    corruption draws nothing; the first image alone with seed 5 gives the same output."""
    images = photos.cuda()
    a = corrupt_batch(images, name, 3, [5, 6, 8, 7])
    b = corrupt_batch(images[:1], name, 3, [5])
    assert a.device.type == "cuda" and a.shape == images.shape
    assert torch.equal(a[0], b[0])
    assert torch.equal(a[0], a[3]) == (name in DETERMINISTIC)
