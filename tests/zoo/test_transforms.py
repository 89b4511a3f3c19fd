"""Our geometric transform must produce exactly the pixels timm's and torchvision's own
evaluation pipelines produce (compared after their ToTensor/Normalize)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from timm.data import create_transform, resolve_data_config
from timm.models import get_pretrained_cfg
from torchvision.models import get_model_weights
from torchvision.transforms import functional as TF

from robustness.zoo.transforms import (
    EvalTransform,
    timm_eval_transform,
    torchvision_eval_transform,
)


def _image(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def _normalized(ours: EvalTransform, img: Image.Image) -> torch.Tensor:
    return TF.normalize(TF.to_tensor(ours(img)), list(ours.mean), list(ours.std))


# center crop with test size, squash crop mode, crop_pct > 1, bilinear interpolation
TIMM_NAMES = [
    "resnet50.a1_in1k",
    "vit_base_patch16_224.augreg2_in21k_ft_in1k",
    "convnext_tiny.fb_in22k_ft_in1k_384",
    "volo_d4_448.sail_in1k",
    "cspresnet50.ra_in1k",
]


@pytest.mark.parametrize("name", TIMM_NAMES)
@pytest.mark.parametrize("size", [(300, 200), (150, 410)])
def test_matches_timm_eval_pipeline(name: str, size: tuple[int, int]) -> None:
    config = resolve_data_config({}, pretrained_cfg=get_pretrained_cfg(name).to_dict(),
                                 use_test_size=True)  # fmt: skip
    ours = timm_eval_transform(config)
    theirs = create_transform(**config, is_training=False)
    img = _image(*size)
    expected = theirs(img)
    assert expected.shape == (3, ours.crop_size, ours.crop_size)
    assert torch.allclose(_normalized(ours, img), expected, atol=1e-6)


def test_timm_sizes_follow_floor_of_crop_pct() -> None:
    # resnet50.a1_in1k: test_input_size 288, test_crop_pct 1.0; train size 224 at crop_pct 0.95
    cfg = get_pretrained_cfg("resnet50.a1_in1k").to_dict()
    test = timm_eval_transform(resolve_data_config({}, pretrained_cfg=cfg, use_test_size=True))
    train = timm_eval_transform(resolve_data_config({}, pretrained_cfg=cfg))
    assert (test.resize_size, test.crop_size) == (288, 288)
    assert (train.resize_size, train.crop_size) == (math.floor(224 / 0.95), 224) == (235, 224)
    assert train.interpolation == "bicubic"


def test_border_crop_mode_refused() -> None:
    config = {"input_size": (3, 224, 224), "crop_pct": 1.0, "crop_mode": "border",
              "interpolation": "bicubic", "mean": (0.5,) * 3, "std": (0.5,) * 3}  # fmt: skip
    with pytest.raises(ValueError, match="'border'"):
        timm_eval_transform(config)


TORCHVISION_WEIGHTS = [
    ("resnet50", "IMAGENET1K_V2", 232, 224, "bilinear"),
    ("vit_b_16", "IMAGENET1K_SWAG_E2E_V1", 384, 384, "bicubic"),
    ("efficientnet_b0", "IMAGENET1K_V1", 256, 224, "bicubic"),
]


@pytest.mark.parametrize(("arch", "member", "resize", "crop", "interpolation"), TORCHVISION_WEIGHTS)
def test_matches_torchvision_weights_transforms(
    arch: str, member: str, resize: int, crop: int, interpolation: str
) -> None:
    weights = get_model_weights(arch)[member]
    ours = torchvision_eval_transform(weights)
    # published values from the torchvision model docs
    assert (ours.resize_size, ours.crop_size, ours.interpolation) == (resize, crop, interpolation)
    img = _image(333, 257, seed=1)
    expected = weights.transforms()(img)
    assert torch.allclose(_normalized(ours, img), expected, atol=1e-6)


def test_spec_is_json_and_describes_everything() -> None:
    ours = EvalTransform(256, 224, "bilinear", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    spec = json.loads(json.dumps(ours.spec()))
    assert spec == {
        "resize_size": 256,
        "resize_mode": "shorter_side",
        "crop_size": 224,
        "crop_pct": 0.875,
        "interpolation": "bilinear",
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    }


def test_output_size_and_aspect_handling() -> None:
    shorter = EvalTransform(40, 32, "bilinear", (0.5,) * 3, (0.5,) * 3)
    squash = EvalTransform(40, 32, "bilinear", (0.5,) * 3, (0.5,) * 3, resize_mode="squash")
    img = _image(160, 80)
    assert shorter(img).size == (32, 32) and squash(img).size == (32, 32)
    # a horizontal gradient survives squash with a wider field of view than shorter-side
    ramp = Image.fromarray(np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (80, 1)), "L")
    left_short = np.asarray(shorter(ramp))[:, 0].mean()
    left_squash = np.asarray(squash(ramp))[:, 0].mean()
    assert left_squash < left_short  # squash keeps more of the dark left edge


def test_bad_parameters_rejected() -> None:
    with pytest.raises(ValueError):
        EvalTransform(256, 224, "sideways", (0.5,) * 3, (0.5,) * 3)
    with pytest.raises(ValueError):
        EvalTransform(256, 224, "bilinear", (0.5,) * 3, (0.5,) * 3, resize_mode="pad")
