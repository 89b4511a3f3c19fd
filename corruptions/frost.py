"""Locating and loading the six frost photographs the frost corruption overlays.

The reference reads ``frost1.png .. frost6.jpg`` shipped next to its code. The
PyPI wheel of ``imagenet-c==0.0.3`` does not ship them (its sdist does), but
``imagecorruptions==1.1.2`` ships byte-identical copies in its ``frost/`` data
folder. Lookup order:

1. the ``folder`` argument, 2. the ``CORRUPTIONS_FROST_DIR`` environment variable,
3. ``imagenet_c``'s and then ``imagecorruptions``' installed ``frost/`` folder,
located with ``importlib.util.find_spec`` *without importing* the package.

Textures are returned as uint8 HxWx3 **BGR** arrays (``cv2.imread`` order, as the
reference reads them), cached per process.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import cv2
import numpy as np

FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
ENV_VAR = "CORRUPTIONS_FROST_DIR"
_PACKAGES = ("imagenet_c", "imagecorruptions")


def _package_frost_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "frost"


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FROST_FILES)


def frost_dir(folder: str | os.PathLike | None = None) -> Path:
    """The folder holding the six frost textures; a clear error when none is found."""
    explicit = folder if folder is not None else os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit)
        if not _complete(path):
            missing = [n for n in FROST_FILES if not (path / n).is_file()]
            raise FileNotFoundError(
                f"frost texture folder {path} is missing {', '.join(missing)}; it must hold "
                f"{', '.join(FROST_FILES)} (the ImageNet-C frost photographs). Point "
                f"{ENV_VAR} at a complete copy, or install imagecorruptions==1.1.2 (--no-deps)."
            )
        return path
    for package in _PACKAGES:
        path = _package_frost_dir(package)
        if path is not None and _complete(path):
            return path
    raise FileNotFoundError(
        "frost textures not found: install imagecorruptions==1.1.2 (`pip install --no-deps "
        f"imagecorruptions==1.1.2`, done by `make install`) or set {ENV_VAR} to a folder "
        f"holding {', '.join(FROST_FILES)}."
    )


@functools.lru_cache(maxsize=32)
def _load(path: str, scale: float) -> np.ndarray:
    texture = cv2.imread(path)  # BGR uint8, like the reference
    if texture is None:
        raise OSError(f"cannot decode frost texture {path}; expected a PNG/JPEG image")
    if scale != 1.0:
        # tiny-imagenet and CIFAR presets shrink the photographs first (bilinear).
        texture = cv2.resize(texture, (0, 0), fx=scale, fy=scale)
    texture.setflags(write=False)
    return texture


def load_frost_texture(
    index: int, scale: float = 1.0, folder: str | os.PathLike | None = None
) -> np.ndarray:
    """Frost photograph ``index`` (0-5; the reference only draws 0-4) as uint8 HxWx3 BGR,
    resized by ``scale`` with ``cv2.resize`` (bilinear) when ``scale != 1``."""
    if not 0 <= index < len(FROST_FILES):
        raise ValueError(f"frost texture index must be 0-5, got {index}")
    return _load(str(frost_dir(folder) / FROST_FILES[index]), float(scale))
