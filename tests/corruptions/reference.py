"""The original ImageNet-C code as a test oracle.

The oracle is ``imagenet-c==0.0.3`` (the PyPI copy of
``ImageNet-C/create_c/make_imagenet_c.py`` from hendrycks/robustness), run on
the current stack with API-drift shims applied *here, in the test code*:

* ``np.float_`` (removed in numpy 2) -> ``np.float64``;
* ``np.fromstring`` on bytes -> ``np.frombuffer``;
* ``skimage.filters.gaussian(multichannel=True)`` -> ``channel_axis=-1``;
* ``pkg_resources.resource_filename`` -> the frost textures folder;
* ``scipy.ndimage.interpolation`` -> ``scipy.ndimage`` when the alias is gone;
* ``skimage.util.random_noise(mode='s&p')`` -> scikit-image 0.13's algorithm,
  which the published ImageNet-C ran on (two ``np.random.choice`` draws from the
  global legacy stream; 0.19+ draws from an unseeded Generator instead).

Motion blur and snow need ImageMagick through Wand; ``require_reference()``
skips a test with the reason when it is missing, and fails it when the ``CI``
environment variable is set.

Seeding convention: ``reference_corrupt(img, name, sev, seed)`` seeds numpy's
global stream with ``np.random.seed(seed)``; our code must give the same output
from ``corrupt(img, name, sev, rng=our_rng(seed))``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REFERENCE_PACKAGE = "imagenet_c"
FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
PHOTO_NAMES = ("astronaut", "chelsea", "coffee")


# ---------------------------------------------------------------- frost folder
def frost_folder() -> Path | None:
    """The six frost textures: ``$CORRUPTIONS_FROST_DIR`` or imagecorruptions' data folder.

    imagenet-c 0.0.3's wheel does not ship its ``frost/`` folder, so the oracle
    reads the copies shipped with ``imagecorruptions`` (located without importing
    it: its import needs ``pkg_resources``).
    """
    env = os.environ.get("CORRUPTIONS_FROST_DIR")
    candidates = [Path(env)] if env else []
    for pkg in ("imagenet_c", "imagecorruptions"):
        spec = importlib.util.find_spec(pkg)
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / "frost")
    for folder in candidates:
        if all((folder / f).is_file() for f in FROST_FILES):
            return folder
    return None


# ---------------------------------------------------------------- shims
def _random_noise_sp_013(image, mode="s&p", amount=0.05, salt_vs_pepper=0.5, clip=True, **_):
    """scikit-image 0.13 ``random_noise`` restricted to the 's&p' mode the reference uses."""
    if mode != "s&p":
        raise NotImplementedError(f"shim only covers mode='s&p', got {mode!r}")
    low_clip = -1.0 if image.min() < 0 else 0.0
    out = np.array(image, dtype=np.float64, copy=True)
    p, q = amount, salt_vs_pepper
    flipped = np.random.choice([True, False], size=image.shape, p=[p, 1 - p])
    salted = np.random.choice([True, False], size=image.shape, p=[q, 1 - q])
    peppered = ~salted
    out[flipped & salted] = 1
    out[flipped & peppered] = low_clip
    if clip:
        out = np.clip(out, low_clip, 1.0)
    return out


def _gaussian_shim(image, sigma=1, *args, multichannel=None, **kwargs):
    """``skimage.filters.gaussian`` with the removed ``multichannel`` keyword mapped."""
    from skimage.filters import gaussian

    if multichannel:
        kwargs["channel_axis"] = -1
    return gaussian(image, sigma, *args, **kwargs)


class _NumpyShim(types.ModuleType):
    """numpy, plus the two names the reference uses that numpy 2 dropped or changed."""

    float_ = np.float64

    def __init__(self) -> None:
        super().__init__("numpy_shim")

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def fromstring(data, dtype=float, *args, **kwargs):
        if isinstance(data, bytes | bytearray | memoryview):
            return np.frombuffer(data, dtype=dtype)
        return np.fromstring(data, dtype, *args, **kwargs)


def _resource_filename(folder: Path):
    def resource_filename(_package: str, relative: str) -> str:
        return str(folder / Path(relative).name)

    return resource_filename


def reference_unavailable_reason() -> str | None:
    """Why the oracle cannot run here, or None when it can."""
    if importlib.util.find_spec(REFERENCE_PACKAGE) is None:
        return (
            "the reference ImageNet-C code is not installed: run "
            "`.venv/bin/pip install --no-deps imagenet-c==0.0.3 imagecorruptions==1.1.2` "
            "(or `make install`)"
        )
    if frost_folder() is None:
        return (
            "frost textures not found: install imagecorruptions==1.1.2 (--no-deps) or set "
            "CORRUPTIONS_FROST_DIR to a folder holding " + ", ".join(FROST_FILES)
        )
    try:
        import wand.api  # noqa: F401  (loads libMagickWand)
    except ImportError as exc:
        return (
            f"Wand/ImageMagick unavailable ({exc}); install Debian's libmagickwand-dev "
            "(`make system-deps`) and the dev extras"
        )
    return None


@functools.cache
def load_reference() -> types.ModuleType:
    """Import ``imagenet_c.corruptions`` with the shims applied; cached."""
    import scipy.ndimage

    np_shim = _NumpyShim()
    added: list[str] = []
    if importlib.util.find_spec("pkg_resources") is None:
        fake = types.ModuleType("pkg_resources")
        fake.resource_filename = _resource_filename(Path("."))
        sys.modules["pkg_resources"] = fake
        added.append("pkg_resources")
    try:
        importlib.import_module("scipy.ndimage.interpolation")
    except ImportError:
        sys.modules["scipy.ndimage.interpolation"] = scipy.ndimage
        added.append("scipy.ndimage.interpolation")
    real_float = getattr(np, "float_", None)
    np.float_ = np.float64  # the module body only looks it up later, but be safe
    try:
        with warnings.catch_warnings():  # its scipy.ndimage.interpolation import is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            module = importlib.import_module(f"{REFERENCE_PACKAGE}.corruptions")
    finally:
        for name in added:
            sys.modules.pop(name, None)
        if real_float is None:
            del np.float_
    import skimage.color

    module.np = np_shim
    module.gaussian = _gaussian_shim
    module.sk = types.SimpleNamespace(
        util=types.SimpleNamespace(random_noise=_random_noise_sp_013),
        color=skimage.color,
    )
    module.resource_filename = _resource_filename(frost_folder())
    return module


def require_reference() -> types.ModuleType:
    """Return the shimmed oracle; skip with the reason (fail under ``CI``) when unavailable."""
    reason = reference_unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the reference oracle is required: {reason}")
        pytest.skip(reason)
    return load_reference()


def reference_corrupt(image: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    """The reference's output for a uint8 HxWx3 image (0-255), as uint8.

    Seeds the global stream with ``np.random.seed(seed)``, calls the reference
    function on a PIL image (as ``imagenet_c.corrupt`` does) and truncates with
    ``np.uint8`` as the reference's saver did.
    """
    module = require_reference()
    func = getattr(module, name)
    np.random.seed(seed)
    out = func(Image.fromarray(np.ascontiguousarray(image)), severity)
    return np.uint8(np.asarray(out))


def our_rng(seed: int) -> np.random.RandomState:
    """The RandomState whose draws equal the reference's after ``np.random.seed(seed)``."""
    return np.random.RandomState(seed)


# ---------------------------------------------------------------- parsed tables
_BINOPS = {
    ast.Mult: lambda a, b: a * b,
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Div: lambda a, b: a / b,
}


def _evaluate_literal(node: ast.AST):
    """Evaluate numbers, tuples, lists, + - * /, unary minus and ``np.arange(...)``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate_literal(e) for e in node.elts)
    if isinstance(node, ast.List):
        return [_evaluate_literal(e) for e in node.elts]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_evaluate_literal(node.left), _evaluate_literal(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate_literal(node.operand)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "arange"
        and not node.keywords
    ):
        return np.arange(*[_evaluate_literal(a) for a in node.args])
    raise ValueError(f"unsupported expression in reference table: {ast.dump(node)}")


def reference_source() -> str:
    """Text of the installed reference ``imagenet_c/corruptions.py`` (read, never executed)."""
    spec = importlib.util.find_spec(REFERENCE_PACKAGE)
    if spec is None or not spec.origin:
        raise FileNotFoundError(reference_unavailable_reason())
    return (Path(spec.origin).parent / "corruptions.py").read_text()


@functools.cache
def reference_tables() -> dict[str, list]:
    """``{corruption_name: [sev1, ..., sev5]}`` parsed from the reference's ``c = [...]`` lines.

    This is the imagenet (224 px) table; entries are numbers, tuples, or numpy
    arrays (``zoom_blur``'s ``np.arange``), evaluated from the source's syntax tree.
    """
    tables: dict[str, list] = {}
    for node in ast.parse(reference_source()).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for statement in node.body:
            targets = getattr(statement, "targets", [])
            if len(targets) == 1 and getattr(targets[0], "id", None) == "c":
                value = statement.value
                if isinstance(value, ast.Subscript):  # c = [...][severity - 1]
                    value = value.value
                tables[node.name] = _evaluate_literal(value)
                break
    return tables


def require_reference_source() -> dict[str, list]:
    """Parsed reference tables; skip (fail under ``CI``) when imagenet-c is not installed."""
    if importlib.util.find_spec(REFERENCE_PACKAGE) is None:
        reason = reference_unavailable_reason()
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and the reference source is required: {reason}")
        pytest.skip(reason)
    return reference_tables()


# ---------------------------------------------------------------- test photos
def resize_center_crop(image: np.ndarray, resize: int = 256, crop: int = 224) -> np.ndarray:
    """Resize the shorter side to ``resize`` (PIL bilinear), then center-crop ``crop`` px."""
    pil = Image.fromarray(image)
    w, h = pil.size
    scale = resize / min(w, h)
    new_w, new_h = max(resize, round(w * scale)), max(resize, round(h * scale))
    pil = pil.resize((new_w, new_h), Image.BILINEAR)
    left, top = (new_w - crop) // 2, (new_h - crop) // 2
    return np.asarray(pil.crop((left, top, left + crop, top + crop)))


@functools.cache
def _photo(i: int, size: int) -> np.ndarray:
    import skimage.data

    raw = getattr(skimage.data, PHOTO_NAMES[i])()
    if size == 224:
        return resize_center_crop(raw, 256, 224)
    return resize_center_crop(raw, round(size * 256 / 224), size)


def photo_224(i: int) -> np.ndarray:
    """Real photograph ``i`` (0-2: astronaut, chelsea, coffee) as 224x224x3 uint8,
    after Resize(256) + CenterCrop(224) like the reference pipeline."""
    return _photo(i % len(PHOTO_NAMES), 224).copy()


def photo(i: int, size: int) -> np.ndarray:
    """Real photograph ``i`` at ``size`` x ``size`` (same resize-then-crop rule)."""
    return _photo(i % len(PHOTO_NAMES), size).copy()


def agreement(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(fraction of subpixels within 1 level, mean absolute difference in levels)."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    diff = np.abs(ours.astype(np.int16) - ref.astype(np.int16))
    return float(np.mean(diff <= 1)), float(diff.mean())
