"""Finding image files on disk and decoding them to RGB.

Conventions
-----------
* Accepted image files: ``.jpeg``, ``.jpg``, ``.png`` (any letter case).
  Names starting with ``.`` (hidden files, macOS ``._*`` forks) are ignored.
* Decoded images are PIL images in mode ``RGB`` (8 bit per channel, 0-255).
  8-bit modes are converted with PIL's ``Image.convert("RGB")``, the convention
  of torchvision's and timm's default loaders, so accuracies stay comparable
  with published numbers: grayscale (``L``, ``1``) is replicated to three
  channels, palettes (``P``, ``PA``) are looked up, CMYK, YCbCr, LAB and HSV use
  PIL's conversions, and transparency is *dropped* (``RGBA``, ``LA``, ``PA``, ``P``
  with a transparent entry: the colour stored under a transparent pixel is
  kept; nothing is composited on a background).
* Modes PIL's ``convert`` would clip (it treats them as 0-255) are scaled first:
  16-bit grayscale (``I;16``, ``I;16B``, ``I;16L``, and ``I`` as PIL opens
  16-bit files) maps 0-65535 to 0-255 as ``round(value / 257)``; an ``I``
  image with values outside 0-65535 is refused. Float grayscale (``F``) must
  hold values in [0, 1] and maps them as ``round(value * 255)``; any other range
  (0-255 floats, HDR, NaN) is ambiguous and refused, naming the file.
* Truncated or undecodable files raise :class:`BadImageError`; truncated
  JPEGs are never silently padded (``ImageFile.LOAD_TRUNCATED_IMAGES`` is not
  touched).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
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
    """Decode ``path`` fully and return it as a PIL ``RGB`` image (8 bit, 0-255).

    Raises :class:`BadImageError` (naming ``path``) if the file is missing,
    truncated, not a decodable image, or holds pixels with an ambiguous range
    (see the module docstring).
    """
    try:
        with Image.open(path) as opened:
            opened.load()
            return to_rgb(opened, path)
    except BadImageError:
        raise
    except UnidentifiedImageError as exc:
        reason = "not an image file PIL can identify (JPEG or PNG expected)"
        raise BadImageError(Path(path), reason) from exc
    except _DECODE_ERRORS as exc:
        raise BadImageError(Path(path), exc) from exc


def to_rgb(image: Image.Image, path: Path | str = "<in-memory image>") -> Image.Image:
    """A decoded PIL image of any mode -> mode ``RGB`` (8 bit, 0-255), as the module docstring says.

    ``path`` only names the image in a :class:`BadImageError`.
    """
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode == "I" or mode.startswith("I;16"):
        return _gray_to_rgb(sixteen_bit_to_8bit(np.asarray(image), Path(path), mode))
    if mode == "F":
        return _gray_to_rgb(unit_float_to_8bit(np.asarray(image), Path(path)))
    if mode == "P" and "transparency" in image.info:
        # Same pixels as convert("RGB") but without PIL's palette warning.
        image = image.convert("RGBA")
    return image.convert("RGB")


def sixteen_bit_to_8bit(values: np.ndarray, path: Path, mode: str = "I;16") -> np.ndarray:
    """16-bit gray levels (0-65535) -> uint8 levels (0-255): ``round(value / 257)``.

    Refuses (``BadImageError``) values outside 0-65535, e.g. a 32-bit ``I`` image.
    """
    values = np.asarray(values).astype(np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise BadImageError(
            path,
            f"mode {mode} pixels range from {values.min()} to {values.max()}, outside the "
            "16-bit range 0-65535 this loader scales to 0-255; save the image as 8-bit "
            "(or 16-bit) PNG",
        )
    # round(v / 257) without floats: 257 is odd, so there are no ties.
    return ((values + 128) // 257).astype(np.uint8)


def unit_float_to_8bit(values: np.ndarray, path: Path) -> np.ndarray:
    """Float gray values in [0, 1] -> uint8 levels (0-255): ``round(value * 255)``.

    Refuses (``BadImageError``) NaN or any value outside [0, 1]: a 0-255 or HDR
    float image cannot be told apart from a 0-1 one without guessing.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size and not (np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1):
        finite = values[np.isfinite(values)]
        found = f"values from {finite.min():g} to {finite.max():g}" if finite.size else "no finite values"
        n_bad = int((~np.isfinite(values)).sum())
        if n_bad:
            found += f" and {n_bad} NaN/infinite pixel(s)"
        raise BadImageError(
            path,
            f"float (mode F) pixels must be in [0, 1], found {found}; the scale is ambiguous, "
            "so convert the file to 8-bit RGB (PNG or JPEG)",
        )
    return np.rint(values * 255).astype(np.uint8)


def _gray_to_rgb(levels: np.ndarray) -> Image.Image:
    """uint8 HxW levels (0-255) -> PIL ``RGB`` with the level on all three channels."""
    return Image.fromarray(np.ascontiguousarray(levels, dtype=np.uint8)).convert("RGB")
