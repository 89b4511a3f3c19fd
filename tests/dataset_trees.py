"""Builders for tiny on-disk test-set trees (a few 8x6 images per class) used by the reader tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

# Real ImageNet-1k wnids with their standard (sorted-wnid) indices, from torchvision's table.
TENCH, GOLDFISH, STINGRAY, KIT_FOX, TOILET_TISSUE = (
    "n01440764", "n01443537", "n01498041", "n02119789", "n15075141")
INDEX = {TENCH: 0, GOLDFISH: 1, STINGRAY: 6, KIT_FOX: 278, TOILET_TISSUE: 999}


def write_image(path: Path, color=(200, 30, 30), size=(8, 6), mode: str = "RGB") -> Path:
    """A small solid-colour image; format from the suffix (.png or JPEG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, color)
    if mode != "RGB":
        image = image.convert(mode)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    image.save(path, format=fmt)
    return path


def class_tree(root: Path, folders: dict[str, Iterable[str]]) -> Path:
    """``root/<folder>/<name>`` images for each folder -> file names mapping."""
    for folder, names in folders.items():
        for name in names:
            write_image(root / folder / name)
    return root


def val_name(number: int, ext: str = "JPEG") -> str:
    return f"ILSVRC2012_val_{number:08d}.{ext}"


def write_kaggle_csv(path: Path, labels: dict[int, str]) -> Path:
    """Kaggle ``LOC_val_solution.csv``: val number -> wnid (boxes are dummy numbers)."""
    rows = ["ImageId,PredictionString"]
    for number, wnid in labels.items():
        rows.append(f"ILSVRC2012_val_{number:08d},{wnid} 10 20 100 200 {wnid} 1 2 3 4")
    path.write_text("\n".join(rows) + "\n")
    return path


def write_objectnet_mappings(
    mappings: Path,
    folder_to_label: dict[str, str],
    label_to_imagenet: dict[str, str],
    line_permutation_step: int = 7,
) -> dict[int, int]:
    """ObjectNet's four mapping files. ImageNet class ``i`` (standard index) is written on line
    ``(i * step) % 1000`` of ``imagenet_to_label_2012_v2``, a non-trivial order.
    Returns {standard index: line}."""
    from robustness.datasets.classes import imagenet_names

    names = imagenet_names()
    line_of = {i: (i * line_permutation_step) % 1000 for i in range(1000)}
    lines = [""] * 1000
    for i, line in line_of.items():
        lines[line] = names[i]
    mappings.mkdir(parents=True, exist_ok=True)
    (mappings / "imagenet_to_label_2012_v2").write_text("\n".join(lines) + "\n")
    (mappings / "pytorch_to_imagenet_2012_id.json").write_text(
        json.dumps({str(i): line for i, line in line_of.items()}))
    (mappings / "folder_to_objectnet_label.json").write_text(json.dumps(folder_to_label))
    (mappings / "objectnet_to_imagenet_1k.json").write_text(json.dumps(label_to_imagenet))
    return line_of


def imagenet_p_tree(data_root: Path, perturbations: str, difficulties: str = "1", *,
                    wnids: Iterable[str] = (TENCH, GOLDFISH), per_class: int = 2, seed: int = 0,
                    resize: int = 40, crop: int = 32) -> Path:
    """``data_root/imagenet/val/<wnid>/ILSVRC2012_val_<k>.png`` (textured 52 x 40 images: a
    ramp plus seeded noise, different per image) and ``data_root/imagenet-p`` built from them
    by corruptions' ImageNet-P builder (``perturbations``, ``difficulties`` as it takes them),
    with small frames (``resize``/``crop`` px) so the videos encode fast. Returns data_root."""
    import numpy as np

    from corruptions.imagenet_p import build_imagenet_p

    rng = np.random.RandomState(seed)
    val = data_root / "imagenet" / "val"
    for k, wnid in enumerate(wnids):
        (val / wnid).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            ramp = np.linspace(0, 255, 52)[None, :, None] * np.ones((40, 1, 3))
            pixels = ramp * (0.3 + 0.2 * i) + rng.randint(0, 60, (40, 52, 3)) + 40 * k
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                val / wnid / val_name(10 * k + i, "png"))
    build_imagenet_p(val, data_root / "imagenet-p", perturbations=perturbations,
                     difficulties=difficulties, seed=seed, resize=resize, crop=crop, progress=False)
    return data_root
