"""The original ImageNet-C code as a test oracle.

The oracle is ``imagenet-c==0.0.3`` (the PyPI copy of
``ImageNet-C/create_c/make_imagenet_c.py`` from hendrycks/robustness), run on
the current stack with API-drift shims applied outside the package under test:
``benchmarks/reference.py`` loads it (the benchmark times the same code) and lists
the shims. This module adds what the tests need on top:

* ``require_reference()`` skips a test with the reason when the oracle cannot run
  (motion blur and snow need ImageMagick through Wand), and fails it when the ``CI``
  environment variable is set;
* the reference's parameter tables parsed from its source, the real test
  photographs, and the agreement measure.

Seeding convention: ``reference_corrupt(img, name, sev, seed)`` seeds numpy's
global stream with ``np.random.seed(seed)``; our code must give the same output
from ``corrupt(img, name, sev, rng=our_rng(seed))``.

``benchmarks/reference.py`` is loaded by its file path (``benchmarks/`` is a folder of
scripts, not a package on the path); nothing in ``corruptions/`` or ``benchmarks/``
imports this module.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PHOTO_NAMES = ("astronaut", "chelsea", "coffee")


def _load_runner() -> types.ModuleType:
    """``benchmarks/reference.py``, the shimmed original code, imported once by path."""
    name = "benchmarks_reference"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "benchmarks" / "reference.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_runner = _load_runner()
REFERENCE_PACKAGE = _runner.REFERENCE_PACKAGE
FROST_FILES = _runner.FROST_FILES
frost_folder = _runner.frost_folder
load_reference = _runner.load_reference


def reference_unavailable_reason() -> str | None:
    """Why the oracle cannot run here, or None when it can (see ``benchmarks/reference.py``)."""
    return _runner.reference_unavailable_reason()


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
