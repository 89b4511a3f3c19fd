"""Small stand-ins with hand-computable outputs, for engine and table tests.

``GrayModel`` predicts class ``round(255 * mean pixel)``: an image filled with
gray level v is classified as class v. ``GraySet`` holds such images with
chosen labels, so the expected accuracy is known by construction.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from robustness.datasets.base import BadImageError, Scoring, TestSetInfo
from robustness.datasets.classes import imagenet_wnids
from robustness.zoo import EvalTransform, ModelName, UnknownModelError


class GrayNet(torch.nn.Module):
    def __init__(self, offset: int = 0):
        super().__init__()
        self.offset = offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: N,3,H,W in [0,1]
        level = torch.round(x.mean(dim=(1, 2, 3)) * 255.0) + self.offset
        classes = torch.arange(1000, dtype=x.dtype, device=x.device)
        return -(classes[None, :] - level[:, None]).abs()


@dataclass(frozen=True)
class FakeInfo:
    name: str
    source: str = "fake"
    architecture: str = "gray"
    family: str | None = "gray"
    kind: str = "cnn"
    param_count: float = 0.0
    img_size: int = 8
    crop_pct: float = 1.0
    interpolation: str = "bilinear"
    num_classes: int = 1000
    label_space: str = "imagenet-1k"
    weights: str = "none"
    weights_sha256: str | None = None


class GrayModel:
    def __init__(self, name: str = "gray.a", offset: int = 0, family: str = "gray"):
        self.info = FakeInfo(name=name, family=family, param_count=1.5 + offset)
        self.network = GrayNet(offset)
        self.device = torch.device("cpu")

    def transform(self, img: Image.Image) -> Image.Image:
        return img.resize((8, 8))

    def transform_spec(self) -> dict:
        return {"resize": 8}


class GraySet(torch.utils.data.Dataset):
    """Solid gray images: item i has gray level ``levels[i]`` and label ``labels[i]``."""

    def __init__(self, name, levels, labels, root="/fake", baseline="imagenet", bad=(), delay=0.0,
                 scoring: Scoring | None = None):
        self.levels = list(levels)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.relpaths = [f"c{lab:04d}/img{i:05d}.png" for i, lab in enumerate(self.labels)]
        self.bad = set(bad)
        self.delay = delay
        self.info = TestSetInfo(name=name, root=Path(root), scoring=scoring or Scoring(), baseline=baseline)

    def __len__(self):
        return len(self.levels)

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        if i in self.bad:
            raise BadImageError(Path(self.info.root) / self.relpaths[i], OSError("image file is truncated"))
        img = Image.new("RGB", (12, 10), (self.levels[i],) * 3)
        return img, int(self.labels[i]), i, self.relpaths[i]


def gray_val_tree(root: Path, classes: range, per_class: int = 3) -> Path:
    """``root/imagenet/val/<wnid>/imgK.png`` (the real reader's layout); every image of class c
    is solid gray level c, so ``GrayModel`` classifies it as c."""
    for c in classes:
        folder = root / "imagenet" / "val" / imagenet_wnids()[c]
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (10, 8), (c, c, c)).save(folder / f"img{i}.png")
    return root


class NetworkSource:
    """A model source (``robustness.zoo.ModelSource``) over fixed networks: ``<prefix>ARCH``
    builds ``networks[ARCH]()``, stored as ``<prefix>ARCH.v1``, with 8 px inputs in [0, 1]
    (no resize, no normalisation). Register it with ``robustness.zoo.register_source``."""

    def __init__(self, prefix: str, networks: dict):
        self.prefix, self.name, self.networks = prefix, prefix.rstrip(":"), dict(networks)

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix)

    def parse(self, name: str):
        arch, _, tag = name.removeprefix(self.prefix).partition(".")
        return ModelName(self.name, arch, tag, self.prefix)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        arch = self.parse(name).architecture
        if arch not in self.networks:
            raise UnknownModelError(f"{name!r}: no such toy model")
        return f"{self.prefix}{arch}.v1"

    def expand(self, pattern: str) -> list[str]:
        names = (f"{self.prefix}{a}.v1" for a in self.networks)
        return [n for n in names if fnmatch.fnmatch(n, pattern)]

    def load(self, name, weights, pretrained, use_test_size):
        transform = EvalTransform(resize_size=8, crop_size=8, interpolation="bilinear",
                                  mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
        fields = {"name": self.canonical(name), "num_classes": 1000, "weights": "none",
                  "weights_sha256": None}
        return self.networks[self.parse(name).architecture](), transform, fields

