"""Reading finished units: the public, typed view of the store (both formats).

``Store.find(model, test_set)`` gives a :class:`Unit`; ``Unit.meta``, ``.spec``, ``.counts()``
(from meta.json, no per-image file read), ``.image_list()``, ``.column(name)`` (one per-image
field aligned with the image list) and ``.records()`` (the typed :class:`UnitRecords` of the
evaluated images). ``Store.units()`` is a table of the current units, read from meta.json only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .columns import (
    CONFIDENCE_FIELDS,
    CORRECT_FIELDS,
    RECORD_FIELDS,
    ImageList,
    read_image_list,
    read_prediction_columns,
)
from .files import atomic_write_json, read_json_file, safe_name
from .units import UnitDir, _pair_names

if TYPE_CHECKING:
    import pandas as pd

_RECORD_DTYPES: dict[str, Any] = {
    "index": np.int64,
    "relpath": str,
    "label": np.int64,
    "top5": np.int16,
    "correct1": bool,
    "correct5": bool,
    "correct1_all": bool,
    "correct5_all": bool,
}


@dataclass(frozen=True)
class UnitRecords:
    """Per-image records of a finished unit, one array entry per evaluated image (see
    ``RECORD_FIELDS``). ``logits`` (float16, (N, 1000)) is filled only when the unit saved
    logits and the caller asked for them (``Unit.records(logits=True)``), else None. A field
    left out on purpose (``Unit.records(fields=...)``) is None."""

    index: np.ndarray  # int64 (N,): position in the reader's stable order
    relpath: np.ndarray  # str (N,): path relative to the test set's root
    label: np.ndarray  # int64 (N,): label in the set's own label space
    top5: np.ndarray  # int16 (N, 5): predicted ImageNet-1k classes under the set's scoring
    correct1: np.ndarray  # bool (N,): top-1 correct under the set's scoring
    correct5: np.ndarray  # bool (N,)
    correct1_all: np.ndarray  # bool (N,): plain 1000-way top-1
    correct5_all: np.ndarray  # bool (N,)
    logits: np.ndarray | None = None  # float16 (N, 1000) or None
    prob5: np.ndarray | None = None  # float16 (N, 5): probabilities of top5 (None: not stored/asked)
    p_true: np.ndarray | None = None  # float16 (N,): probability of the correct classes

    def __len__(self) -> int:
        return next((len(v) for v in self.to_arrays().values()), 0)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    fields: tuple[str, ...] = RECORD_FIELDS) -> UnitRecords:
        """Typed records from per-image arrays: ``fields`` (all by default) must be there, the
        others are None; ``logits`` is kept when present; other keys are ignored."""
        unknown = [f for f in fields if f not in RECORD_FIELDS]
        if unknown:
            known = (*RECORD_FIELDS, *CONFIDENCE_FIELDS)
            raise ValueError(f"unknown record field(s) {', '.join(unknown)}; known: {', '.join(known)}")
        missing = [f for f in fields if f not in arrays]
        if missing:
            raise KeyError(f"records lack field(s) {', '.join(missing)}")
        typed = {f: np.asarray(arrays[f]).astype(_RECORD_DTYPES[f], copy=False) if f in fields else None
                 for f in RECORD_FIELDS}
        extra = {f: None if arrays.get(f) is None else np.asarray(arrays[f]).astype(np.float16, copy=False)
                 for f in ("logits", *CONFIDENCE_FIELDS)}
        return cls(**typed, **extra)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fields as arrays (fields that are None left out)."""
        names = (*RECORD_FIELDS, "logits", *CONFIDENCE_FIELDS)
        return {f: getattr(self, f) for f in names if getattr(self, f) is not None}


class Unit:
    """A finished unit folder, read through the store's schema (format 1 or 2).

    ``meta`` (the unit's meta.json, read once), ``spec`` (spec.json, or None when missing),
    ``counts()``, ``image_list()``, ``column()``, ``records()``, and the names ``model``,
    ``test_set``, ``key`` and ``path``. ``Unit(path)`` opens a unit by its folder (e.g. the
    ``path`` column of ``Store.units()`` or ``units_frame``).
    """

    def __init__(self, path: str | Path):
        self.dir = UnitDir(Path(path))
        self._meta: dict[str, Any] | None = None
        self._spec: dict[str, Any] | None = None
        self._v1_images: ImageList | None = None

    def __repr__(self) -> str:
        return f"Unit({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unit) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def path(self) -> Path:
        return self.dir.root

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = self.dir.read_meta()
        return self._meta

    @property
    def spec(self) -> dict[str, Any] | None:
        if self._spec is None:
            self._spec = self.dir.read_spec()
        return self._spec

    @property
    def format(self) -> int:
        """The unit's file format (1: records.npz, 2: image list + predictions.parquet)."""
        return int(self.meta.get("format", 1))

    @property
    def model(self) -> str:
        """The model's name (from meta.json)."""
        return (_pair_names(self.meta) or ("", ""))[0]

    @property
    def test_set(self) -> str:
        """The test set's name (from meta.json)."""
        return (_pair_names(self.meta) or ("", ""))[1]

    @property
    def key(self) -> str:
        return str(self.meta.get("key", ""))

    @property
    def precision(self) -> str | None:
        spec = self.spec
        return (spec or {}).get("precision", self.meta.get("precision"))

    @property
    def save_logits(self) -> bool:
        return bool((self.spec or {}).get("save_logits"))

    def superseded(self) -> bool:
        return self.dir.superseded()

    def counts(self) -> dict[str, int]:
        """Images evaluated (``n``) and correct (``k1``, ``k5``, ``k1_all``, ``k5_all``, see
        ``CORRECT_FIELDS``), from meta.json: no per-image file is read, except for a format-1
        unit whose meta lacks an accuracy."""
        meta = self.meta
        if "counts" in meta:
            return {k: int(v) for k, v in meta["counts"].items()}
        n = int(meta["n"])
        percent = {"k1": "top1", "k5": "top5", "k1_all": "top1_all", "k5_all": "top5_all"}
        if all(meta.get(p) is not None for p in percent.values()):  # 100 * k / n, exact in float
            return {"n": n, **{k: int(round(float(meta[p]) * n / 100.0)) for k, p in percent.items()}}
        rec = self.records(fields=tuple(CORRECT_FIELDS))
        return {"n": n, **{k: int(getattr(rec, f).sum()) for f, k in CORRECT_FIELDS.items()}}

    def image_list(self) -> ImageList:
        """The test set's image list this unit's predictions are aligned with (format 1: the
        evaluated images, read from the unit's own records)."""
        if self.format >= 2:
            return read_image_list(self.dir.out, str(self.meta["image_list"]))
        if self._v1_images is None:
            rec = self.records(fields=("relpath", "label"))
            self._v1_images = ImageList.of(rec.relpath, rec.label)
        return self._v1_images

    @property
    def has_confidences(self) -> bool:
        """Whether the unit stored per-image confidences (``CONFIDENCE_FIELDS``): every unit the
        engine finished in format 2; not format-1 units (recompute them with ``robustness eval
        ... --upgrade-old-units``)."""
        return self.format >= 2 and bool(self.meta.get("confidences"))

    def columns(self, names: tuple[str, ...]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Several fields of :meth:`column` in one read of the predictions file: (name -> values,
        the evaluated mask)."""
        if self.format < 2:
            pairs = {name: self.column(name) for name in names}
            return {k: v[0] for k, v in pairs.items()}, next(iter(pairs.values()))[1]
        for name in names:
            self._check_column(name)
        return read_prediction_columns(self.dir.predictions, tuple(names))

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """One per-image field (``top5``, a correctness field, ``prob5`` or ``p_true``) aligned
        with :meth:`image_list`, and the evaluated mask (images skipped as unreadable are False
        and read as False / -1 / NaN). ValueError for a confidence the unit did not store."""
        self._check_column(name)
        if self.format >= 2:
            values, evaluated = read_prediction_columns(self.dir.predictions, (name,))
            return values[name], evaluated
        values = getattr(self.records(fields=(name,)), name)
        return values, np.ones(len(values), dtype=bool)

    def _check_column(self, name: str) -> None:
        known = ("top5", *CORRECT_FIELDS, *CONFIDENCE_FIELDS)
        if name not in known:
            raise ValueError(f"unknown prediction column {name!r}; known: {', '.join(known)}")
        if name in CONFIDENCE_FIELDS and not self.has_confidences:
            raise ValueError(f"{self.path}: this unit stored no per-image confidences (finished by "
                             "an older version); recompute it with `robustness eval --models "
                             f"{self.model} --test-sets {self.test_set} --upgrade-old-units --out "
                             f"{self.dir.out}`")

    def records(self, logits: bool = False, fields: tuple[str, ...] | None = None) -> UnitRecords:
        """The unit's per-image records of the evaluated images; saved logits are read only when
        ``logits``, and only ``fields`` (names from ``RECORD_FIELDS`` and ``CONFIDENCE_FIELDS``)
        when given, the others None; by default every field the unit stored."""
        confidences = CONFIDENCE_FIELDS if self.has_confidences else ()
        wanted = (*RECORD_FIELDS, *confidences) if fields is None else tuple(fields)
        confidences = tuple(f for f in confidences if f in wanted)
        fields = tuple(f for f in wanted if f not in CONFIDENCE_FIELDS)
        if self.format < 2:
            with np.load(self.dir.records, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k in fields or (logits and k == "logits")}
            return UnitRecords.from_arrays(arrays, fields)
        predicted = tuple(f for f in fields if f in ("top5", *CORRECT_FIELDS)) + confidences
        values, evaluated = read_prediction_columns(self.dir.predictions, predicted)
        arrays = {f: v[evaluated] for f, v in values.items()}
        if "index" in fields:
            arrays["index"] = np.flatnonzero(evaluated)
        if "relpath" in fields or "label" in fields:
            images = self.image_list()
            arrays["relpath"] = images.relpaths[evaluated].astype(str)
            arrays["label"] = images.labels[evaluated]
        if logits and self.dir.logits.is_file():
            arrays["logits"] = np.load(self.dir.logits, allow_pickle=False)[evaluated]
        return UnitRecords.from_arrays(arrays, fields)


UNITS_COLUMNS = ["model", "test_set", "key", "path", "n", "top1", "top5", "precision", "finished_at"]


class Store:
    """A results directory holding units."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.units_root = self.out / "units"

    def unit(self, model: str, test_set: str, key: str) -> UnitDir:
        return UnitDir(self.pair_dir(model, test_set) / key[:16])

    def pair_dir(self, model: str, test_set: str) -> Path:
        """The folder of every unit of one (model, test set) pair."""
        return self.units_root / safe_name(model) / safe_name(test_set)

    def pair_units(self, model: str, test_set: str) -> list[UnitDir]:
        folder = self.pair_dir(model, test_set)
        if not folder.is_dir():
            return []
        return [UnitDir(p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]

    def record_pair_error(self, model: str, test_set: str, info: dict[str, Any]) -> None:
        """A failure before the unit's key was known (model not loaded, set not opened)."""
        atomic_write_json(self.pair_dir(model, test_set) / "error.json", info)

    def read_pair_error(self, model: str, test_set: str) -> dict[str, Any] | None:
        return read_json_file(self.pair_dir(model, test_set) / "error.json")

    def pairs(self) -> list[tuple[str, str]]:
        """(model, test set) of every pair folder holding a unit or a recorded failure, read from
        the names inside its files (folder names are file-system-safe spellings)."""
        out: dict[tuple[str, str], None] = {}
        if not self.units_root.is_dir():
            return []
        for pair_dir in sorted(p for p in self.units_root.glob("*/*") if p.is_dir()):
            candidates = [pair_dir / "error.json"]
            for unit_dir in sorted(p for p in pair_dir.iterdir() if p.is_dir()):
                candidates += [unit_dir / "spec.json", unit_dir / "meta.json", unit_dir / "error.json"]
            for path in candidates:
                names = _pair_names(read_json_file(path))
                if names is not None:
                    out[names] = None
                    break
        return list(out)

    def iter_units(self, include_superseded: bool = False, models: list[str] | None = None,
                   test_sets: list[str] | None = None) -> Iterator[UnitDir]:
        """Finished units (not those replaced by a newer unit, unless asked); with ``models`` or
        ``test_sets``, only the pair folders of those names are listed (files of other units are
        not touched)."""
        if not self.units_root.is_dir():
            return
        metas: set[Path] = set()
        if models is None and test_sets is None:
            metas.update(self.units_root.glob("*/*/*/meta.json"))
        for model in models or []:
            metas.update(self.units_root.glob(f"{safe_name(model)}/*/*/meta.json"))  # safe names hold no glob characters
        for test_set in test_sets or []:
            metas.update(self.units_root.glob(f"*/{safe_name(test_set)}/*/meta.json"))
        for meta in sorted(metas):
            u = UnitDir(meta.parent)
            if u.finished() and (include_superseded or not u.superseded()):
                yield u

    def iter_errors(self) -> Iterator[tuple[UnitDir, dict[str, Any]]]:
        if not self.units_root.is_dir():
            return
        for err in sorted(self.units_root.glob("*/*/*/error.json")):
            u = UnitDir(err.parent)
            if not u.finished():
                yield u, json.loads(err.read_text())

    def find_all(self, model: str, test_set: str, precision: str | None = None,
                 save_logits: bool | None = None) -> list[Unit]:
        """Current (not superseded) finished units of a pair, with the given settings when given."""
        out = []
        for d in self.pair_units(model, test_set):
            if not d.finished() or d.superseded():
                continue
            unit = Unit(d.root)
            if (unit.model, unit.test_set) != (model, test_set):  # another name with the same folder
                continue
            if precision is not None and unit.precision != precision:
                continue
            if save_logits is not None and unit.save_logits != bool(save_logits):
                continue
            out.append(unit)
        return out

    def find(self, model: str, test_set: str, precision: str | None = None,
             save_logits: bool | None = None) -> Unit | None:
        """The current finished unit of ``model`` on ``test_set`` (None when there is none).

        ``precision`` / ``save_logits`` pick among units of other settings; when several remain,
        the most recently finished one (the one the tables use)."""
        found = self.find_all(model, test_set, precision, save_logits)
        if not found:
            return None
        return max(found, key=lambda u: (str(u.meta.get("finished_at", "")), str(u.path)))

    def finished_units(self, include_superseded: bool = False, models: list[str] | None = None,
                       test_sets: list[str] | None = None) -> Iterator[Unit]:
        """Finished units as :class:`Unit` (not those replaced by a newer unit, unless asked;
        only those of ``models`` / ``test_sets`` when given, see :meth:`iter_units`)."""
        for d in self.iter_units(include_superseded, models, test_sets):
            unit = Unit(d.root)
            if models is None and test_sets is None:
                yield unit
            elif unit.model in (models or ()) or unit.test_set in (test_sets or ()):
                yield unit  # (another name with the same safe folder name is left out)

    def units(self) -> pd.DataFrame:
        """One row per current finished unit (read from meta.json only, no per-image file):
        ``UNITS_COLUMNS``, sorted by test set and model."""
        import pandas as pd

        rows = []
        for unit in self.finished_units():
            c = unit.counts()
            rows.append({"model": unit.model, "test_set": unit.test_set, "key": unit.key,
                         "path": str(unit.path), "n": c["n"], "top1": 100.0 * c["k1"] / c["n"],
                         "top5": 100.0 * c["k5"] / c["n"], "precision": unit.meta.get("precision"),
                         "finished_at": unit.meta.get("finished_at", "")})
        df = pd.DataFrame(rows, columns=UNITS_COLUMNS)
        return df.sort_values(["test_set", "model", "finished_at"]).reset_index(drop=True)

