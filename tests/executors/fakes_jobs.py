"""Picklable model and test-set factories for jobs (they run in other processes, even under Slurm).

``GrayZoo`` loads ``GrayModel`` stand-ins by name; ``GrayShelf`` opens
``GraySet`` stand-ins by name. A set named in ``broken`` has an unreadable
image, so its units always fail; ``delay`` slows every image (seconds) so a
job can be caught while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fakes import GrayModel, GraySet
from PIL import Image

from robustness.engine import EvalConfig

MODELS = {"gray.a": 0, "gray.b": 1, "gray.c": 2}  # name -> offset of its predictions
CONFIG = EvalConfig(batch_size=4, workers=0, device="cpu", precision="fp32", progress=False,
                    checkpoint_every=4)


@dataclass(frozen=True)
class GrayZoo:
    def __call__(self, name: str, weights=None, device=None) -> GrayModel:
        if name not in MODELS:
            raise KeyError(f"unknown test model {name!r}")
        return GrayModel(name, offset=MODELS[name])


def set_levels(name: str, n: int) -> tuple[list[int], list[int]]:
    """Gray levels and labels of test set ``name``: distinct per set, some labels off by one."""
    start = 10 + 7 * (sum(map(ord, name)) % 20)
    levels = [start + 3 * i for i in range(n)]
    labels = [lv + (1 if i % 4 == 1 else 0) for i, lv in enumerate(levels)]
    return levels, labels


@dataclass(frozen=True)
class GrayShelf:
    n_images: int = 8
    delay: float = 0.0
    broken: tuple[str, ...] = ()
    slow: tuple[str, ...] = field(default=())  # only these sets are slowed by ``delay``; empty: all

    def __call__(self, name: str, data_root=None, root=None) -> GraySet:
        levels, labels = set_levels(name, self.n_images)
        delay = self.delay if (not self.slow or name in self.slow) else 0.0
        bad = {2} if name in self.broken else set()
        return GraySet(name, levels, labels, root=f"/fake/{name}", bad=bad, delay=delay)


def make_source(root: Path, n_classes: int = 3, per_class: int = 2, seed: int = 0) -> Path:
    """SRC/<wnid>/<file>.JPEG with small noisy gradients, for corruption builds."""
    rng = np.random.default_rng(seed)
    src = root / "src"
    for c in range(n_classes):
        folder = src / f"n{c + 1:08d}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            h, w = 30 + 5 * i, 41
            yy, xx = np.mgrid[0:h, 0:w]
            base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], -1)
            img = np.clip(base + rng.normal(0, 15, base.shape), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(folder / f"img_{c}_{i}.JPEG", format="JPEG", quality=95)
    return src


def image_files(out: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``out`` except manifests."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.name.startswith("manifest")}


def table_bytes(out: Path) -> dict[str, bytes]:
    """The CSV tables written into ``out`` (file name -> bytes)."""
    return {p.name: p.read_bytes() for p in sorted(Path(out).glob("*.csv"))}
