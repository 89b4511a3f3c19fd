"""The per-image prediction store: one folder per unit, written atomically.

Layout under a results directory ``OUT``::

    OUT/units/<model>/<test set>/<key16>/
        records.npz    per-image records of a finished unit (see RECORD_FIELDS)
        meta.json      the unit's metadata (model, test set, transform, versions, timings, skipped images)
        parts/         partial records of an unfinished unit, one file per checkpoint (resume)
        error.json     the last failure of this unit, if it failed (removed when it succeeds)

A unit is *finished* exactly when ``records.npz`` and ``meta.json`` exist: both
are written to a temporary name and renamed into place (``meta.json`` last), so
a killed process never leaves a half-written finished unit. A finished unit is
never recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RECORD_FIELDS = (
    "index",  # int64: position in the reader's stable order
    "relpath",  # str: path relative to the test set's root
    "label",  # int64: label in the set's own label space
    "top5",  # int16 (N, 5): predicted ImageNet-1k classes under the set's scoring
    "correct1",  # bool: top-1 correct under the set's scoring (restricted for subsets)
    "correct5",  # bool
    "correct1_all",  # bool: plain 1000-way top-1 (same as correct1 for full sets)
    "correct5_all",  # bool
)
FORMAT_VERSION = 1


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def unit_key(spec: dict[str, Any]) -> str:
    """Stable hash (sha256 hex) of everything that changes a unit's output."""
    return hashlib.sha256(canonical_json({"format": FORMAT_VERSION, **spec}).encode()).hexdigest()


def safe_name(name: str) -> str:
    """A file-system-safe folder name for a model or test-set name."""
    out = "".join(c if c.isalnum() or c in "._-+" else "_" for c in name)
    return out.strip(".") or "_"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save_records(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write_bytes(path, _npz_bytes(arrays))


def load_records(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def concat_records(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@dataclass(frozen=True)
class UnitDir:
    """Paths of one unit in the store."""

    root: Path

    @property
    def records(self) -> Path:
        return self.root / "records.npz"

    @property
    def meta(self) -> Path:
        return self.root / "meta.json"

    @property
    def parts(self) -> Path:
        return self.root / "parts"

    @property
    def error(self) -> Path:
        return self.root / "error.json"

    def finished(self) -> bool:
        return self.meta.is_file() and self.records.is_file()

    def read_meta(self) -> dict[str, Any]:
        return json.loads(self.meta.read_text())

    def read_records(self) -> dict[str, np.ndarray]:
        return load_records(self.records)

    def part_files(self) -> list[Path]:
        if not self.parts.is_dir():
            return []
        return sorted(self.parts.glob("part-*.npz"))

    def write_part(self, start: int, arrays: dict[str, np.ndarray]) -> None:
        save_records(self.parts / f"part-{start:09d}.npz", arrays)

    def finish(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        save_records(self.records, arrays)
        atomic_write_json(self.meta, meta)
        shutil.rmtree(self.parts, ignore_errors=True)
        self.error.unlink(missing_ok=True)

    def record_error(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.error, info)


class Store:
    """A results directory holding units."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.units_root = self.out / "units"

    def unit(self, model: str, test_set: str, key: str) -> UnitDir:
        return UnitDir(self.units_root / safe_name(model) / safe_name(test_set) / key[:16])

    def iter_units(self) -> Iterator[UnitDir]:
        if not self.units_root.is_dir():
            return
        for meta in sorted(self.units_root.glob("*/*/*/meta.json")):
            u = UnitDir(meta.parent)
            if u.records.is_file():
                yield u

    def iter_errors(self) -> Iterator[tuple[UnitDir, dict[str, Any]]]:
        if not self.units_root.is_dir():
            return
        for err in sorted(self.units_root.glob("*/*/*/error.json")):
            u = UnitDir(err.parent)
            if not u.finished():
                yield u, json.loads(err.read_text())
