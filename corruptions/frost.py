"""Locating and loading the six frost photographs the frost corruption overlays.

The reference reads ``frost1.png .. frost6.jpg`` shipped next to its code. This package
ships byte-identical copies as package data (``corruptions/data/frost/``, with the
original's Apache-2.0 licence and attribution in its ``LICENSE`` and ``README.md``), so
frost needs no other package. Lookup order:

1. the ``folder`` argument, 2. the ``CORRUPTIONS_FROST_DIR`` environment variable,
3. the package data, read with :mod:`importlib.resources` (works from a wheel or a zip).

Textures are returned as uint8 HxWx3 **BGR** arrays (decoded by OpenCV, as the reference's
``cv2.imread`` does), cached per process.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
ENV_VAR = "CORRUPTIONS_FROST_DIR"

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def shipped_frost_dir() -> Traversable:
    """The package-data folder holding the six textures (``corruptions/data/frost``)."""
    return resources.files("corruptions") / "data" / "frost"


def _complete(folder: Traversable) -> bool:
    return all((folder / name).is_file() for name in FROST_FILES)


def frost_dir(folder: str | os.PathLike | None = None) -> Traversable:
    """The folder holding the six frost textures (a ``Path`` unless the package is zipped);
    a clear error when a folder given by argument or environment is incomplete."""
    explicit = folder if folder is not None else os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit)
        if not _complete(path):
            missing = [n for n in FROST_FILES if not (path / n).is_file()]
            raise FileNotFoundError(
                f"frost texture folder {path} is missing {', '.join(missing)}; it must hold "
                f"{', '.join(FROST_FILES)} (the ImageNet-C frost photographs). Point "
                f"{ENV_VAR} at a complete copy, or unset it to use the textures shipped with "
                "the package."
            )
        return path
    shipped = shipped_frost_dir()
    if not _complete(shipped):
        raise FileNotFoundError(
            f"the frost textures shipped with the package are missing from {shipped}: the "
            "installation is incomplete; reinstall robustness-harness, or set "
            f"{ENV_VAR} to a folder holding {', '.join(FROST_FILES)}."
        )
    return shipped


@functools.lru_cache(maxsize=32)
def _load(source: Traversable, scale: float) -> np.ndarray:
    data = np.frombuffer(source.read_bytes(), dtype=np.uint8)
    texture = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # BGR, as cv2.imread
    if texture is None:
        raise OSError(f"cannot decode frost texture {source}; expected a PNG/JPEG image")
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
    return _load(frost_dir(folder) / FROST_FILES[index], float(scale))
