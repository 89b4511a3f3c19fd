"""Finding image files on disk and decoding them to RGB.

Conventions
-----------
* Accepted image files: ``.jpeg``, ``.jpg``, ``.png`` (any letter case).
  Names starting with ``.`` (hidden files, macOS ``._*`` forks) are ignored.
* Decoded images are PIL images in mode ``RGB`` (8 bit per channel, 0-255).
  Other modes are converted with PIL's ``Image.convert("RGB")``, the convention
  of torchvision's and timm's default loaders, so accuracies stay comparable
  with published numbers: grayscale is replicated to three channels, CMYK
  uses PIL's conversion, and transparency is *dropped* (the colour stored under
  a transparent pixel is kept; nothing is composited on a background).
* Truncated or undecodable files raise :class:`BadImageError`; truncated
  JPEGs are never silently padded (``ImageFile.LOAD_TRUNCATED_IMAGES`` is not
  touched).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .base import BadImageError

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")

# What PIL raises on missing, truncated, corrupt or oversized files (OSError covers
# "image file is truncated"; the others come from individual format plugins).
_DECODE_ERRORS = (
    OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, ValueError,
    EOFError, IndexError, struct.error,
)


def is_hidden(name: str) -> bool:
    """Whether a file or folder name is hidden (starts with a dot)."""
    return name.startswith(".")


def is_image_name(name: str) -> bool:
    """Whether ``name`` is a visible file name with an accepted image extension."""
    return not is_hidden(name) and name.lower().endswith(IMAGE_EXTENSIONS)


def visible_entries(folder: Path) -> list[os.DirEntry]:
    """Non-hidden entries of ``folder``, sorted by name."""
    with os.scandir(folder) as it:
        return sorted((e for e in it if not is_hidden(e.name)), key=lambda e: e.name)


def subfolder_names(folder: Path) -> list[str]:
    """Sorted names of the visible sub-folders of ``folder``."""
    return [e.name for e in visible_entries(folder) if e.is_dir()]


def image_names(folder: Path) -> tuple[list[str], list[str]]:
    """(image file names, other visible file names) directly inside ``folder``, sorted."""
    images, others = [], []
    for e in visible_entries(folder):
        if e.is_dir():
            continue
        (images if is_image_name(e.name) else others).append(e.name)
    return images, others


def crop_border(image: Image.Image, border_px: int) -> Image.Image:
    """Remove ``border_px`` pixels from each of the four sides."""
    if border_px <= 0:
        return image
    w, h = image.size
    if w <= 2 * border_px or h <= 2 * border_px:
        raise ValueError(f"image of size {w}x{h} is too small to crop a {border_px}-px border")
    return image.crop((border_px, border_px, w - border_px, h - border_px))


def load_rgb(path: Path) -> Image.Image:
    """Decode ``path`` fully and return it as a PIL ``RGB`` image.

    Raises :class:`BadImageError` (naming ``path``) if the file is missing,
    truncated, or not a decodable image.
    """
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened
            if image.mode == "P" and "transparency" in image.info:
                # Same pixels as convert("RGB") but without PIL's palette warning.
                image = image.convert("RGBA")
            return image.convert("RGB")
    except _DECODE_ERRORS as exc:
        raise BadImageError(Path(path), exc) from exc
