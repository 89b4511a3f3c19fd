"""The original ImageNet-C code, runnable on today's numpy / SciPy / scikit-image.

The original is ``imagenet-c==0.0.3`` (the PyPI copy of
``ImageNet-C/create_c/make_imagenet_c.py`` from hendrycks/robustness), installed with
``--no-deps`` by ``make install``. :func:`load_reference` imports its ``corruptions`` module
with API-drift shims applied *here*, never in the package under test:

* ``np.float_`` (removed in numpy 2) -> ``np.float64``;
* ``np.fromstring`` on bytes -> ``np.frombuffer``;
* ``skimage.filters.gaussian(multichannel=True)`` -> ``channel_axis=-1``;
* ``pkg_resources.resource_filename`` -> the frost textures folder;
* ``scipy.ndimage.interpolation`` -> ``scipy.ndimage`` when the alias is gone;
* ``skimage.util.random_noise(mode='s&p')`` -> scikit-image 0.13's algorithm,
  which the published ImageNet-C ran on (two ``np.random.choice`` draws from the
  global legacy stream; 0.19+ draws from an unseeded Generator instead).

Motion blur and snow need ImageMagick through Wand; :func:`reference_unavailable_reason`
says what is missing. Two users: ``benchmarks/corruptions.py`` (the "original" timings) and
the fidelity tests' oracle, ``tests/corruptions/reference.py``, which adds the pytest side
(skip, or fail under ``CI``), the parsed parameter tables and the test photographs. This
module imports nothing from ``tests/`` and nothing from pytest.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import types
import warnings
from pathlib import Path

import numpy as np

REFERENCE_PACKAGE = "imagenet_c"
FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")


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
