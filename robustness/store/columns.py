"""What a unit stores, and how: the image lists and the per-image predictions (format 2).

A test set's *image list* (relative path and label of every image, in the reader's stable
order) is written once per distinct list under ``OUT/images/<list id>.parquet``, named by the
SHA-256 of its contents: every model evaluated on the set, and every ImageNet-C set of val's
images, shares one file. A unit's ``predictions.parquet`` holds one row per position of its
list, nothing else per image: the top-5 classes and the four correctness flags. A row whose
image could not be decoded (``--skip-bad-images``) is null in every prediction column, so
``avg(correct1)`` in SQL and ``mean()`` in pandas count only evaluated images.

Both are plain Parquet (zstd): pandas, polars and DuckDB read them without this package. The
constant columns ``model``, ``test_set`` and ``image_list`` (dictionary-encoded: a few bytes
per file) make a glob over the store self-describing; ``image_list`` plus the row number joins
a prediction to its image.

Format 1 (``records.npz``: every field per unit, paths as numpy unicode) is still read.
Resume checkpoints (``parts/part-*.npz``) stay npz: they are transient.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .files import atomic_write_bytes

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
#: per-image confidences, written by the engine for every unit of format 2 (optional for other
#: writers: absent ones are null); fractions, float16
CONFIDENCE_FIELDS = (
    "prob5",  # (N, 5): softmax probability of each top5 class over the set's scored classes
    "p_true",  # (N,): probability of the classes that count as correct for the image's label
)
#: the per-image correctness fields, and the count of each kept in meta.json (``counts``)
CORRECT_FIELDS = {"correct1": "k1", "correct5": "k5", "correct1_all": "k1_all", "correct5_all": "k5_all"}
#: version of the files a finished unit holds (1: records.npz; 2: image list + predictions.parquet)
FORMAT_VERSION = 2

IMAGES_DIR = "images"  # under the results folder
RECORDS_V1 = "records.npz"
PREDICTIONS = "predictions.parquet"
LOGITS = "logits.npy"  # float16 (positions, 1000), only under --save-logits
TOP5_COLUMNS = tuple(f"top5_{k}" for k in range(1, 6))  # k-th of the top-5 predicted classes
PROB5_COLUMNS = tuple(f"prob_{k}" for k in range(1, 6))  # its softmax probability (prob_1: max-softmax)
PARQUET_COMPRESSION = "zstd"


def _pyarrow():
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


# ---------------------------------------------------------------- resume checkpoints (npz)


def save_records(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_records(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def concat_records(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# ---------------------------------------------------------------- image lists


def image_list_id(relpaths, labels) -> str:
    """SHA-256 (hex) of an image list: its relative paths and labels, in order."""
    digest = hashlib.sha256()
    digest.update(f"{len(relpaths)}\n".encode())
    digest.update("\n".join(f"{p}\t{int(v)}" for p, v in zip(relpaths, np.asarray(labels).tolist(),
                                                              strict=True)).encode())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class ImageList:
    """A test set's images in the reader's order: position ``i`` is ``relpaths[i]`` with
    ``labels[i]`` (in the set's own label space). ``id`` names the list by its contents."""

    id: str
    relpaths: np.ndarray  # object (N,): POSIX paths relative to the set's root
    labels: np.ndarray  # int64 (N,)

    def __len__(self) -> int:
        return len(self.relpaths)

    @cached_property
    def stems(self) -> np.ndarray:
        """File names without folder and extension, the key that pairs images across lists
        (ImageNet-C keeps val's ``ILSVRC2012_val_XXXXXXXX`` names in its own folders)."""
        import pandas as pd

        names = pd.Series(self.relpaths, dtype=object).str.rsplit("/", n=1).str[-1]
        return names.str.rsplit(".", n=1).str[0].to_numpy(dtype=object)

    @classmethod
    def of(cls, relpaths, labels) -> ImageList:
        relpaths = np.asarray([str(p) for p in relpaths], dtype=object)
        labels = np.asarray(labels, dtype=np.int64)
        return cls(image_list_id(relpaths, labels), relpaths, labels)


def image_list_path(out: Path, list_id: str) -> Path:
    return Path(out) / IMAGES_DIR / f"{list_id}.parquet"


def write_image_list(out: Path, images: ImageList) -> Path:
    """Write ``OUT/images/<id>.parquet`` unless it exists (its name is its content's hash)."""
    path = image_list_path(out, images.id)
    if path.is_file():
        return path
    pa, pq = _pyarrow()
    table = pa.table({
        "image_list": pa.DictionaryArray.from_arrays(np.zeros(len(images), dtype=np.int32), [images.id]),
        "relpath": pa.array(images.relpaths.tolist(), type=pa.string()),
        "label": pa.array(images.labels, type=pa.int64()),
    })
    atomic_write_bytes(path, _parquet_bytes(table))
    return path


@lru_cache(maxsize=16)
def _read_image_list(path: str) -> ImageList:
    _, pq = _pyarrow()
    with pq.ParquetFile(path) as file:
        table = file.read(columns=["relpath", "label"])
    return ImageList(Path(path).stem, table.column("relpath").to_numpy(zero_copy_only=False).astype(object),
                     table.column("label").to_numpy().astype(np.int64))


def read_image_list(out: Path, list_id: str) -> ImageList:
    """The image list ``list_id`` of the results folder ``out`` (cached: lists never change)."""
    path = image_list_path(out, list_id)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the image list of a finished unit is missing; the store "
                                f"under {out} is incomplete (copy its {IMAGES_DIR}/ folder too)")
    return _read_image_list(str(path))


# ---------------------------------------------------------------- predictions


def _parquet_bytes(table) -> bytes:
    _, pq = _pyarrow()
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=PARQUET_COMPRESSION)
    return buf.getvalue()


def _constant(pa, value: str, n: int):
    return pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), [value])


def predictions_bytes(arrays: dict[str, np.ndarray], evaluated: np.ndarray, *, model: str,
                      test_set: str, list_id: str) -> bytes:
    """``predictions.parquet`` of one unit: one row per image-list position; rows where
    ``evaluated`` is False are null in every prediction column."""
    pa, _ = _pyarrow()
    n = len(evaluated)
    mask = ~np.asarray(evaluated, dtype=bool)
    columns: dict[str, Any] = {"model": _constant(pa, model, n), "test_set": _constant(pa, test_set, n),
                               "image_list": _constant(pa, list_id, n)}
    top5 = np.asarray(arrays["top5"], dtype=np.int16).reshape(n, -1)
    for k, name in enumerate(TOP5_COLUMNS):  # a set scored over fewer than 5 classes: nulls
        column = top5[:, k] if k < top5.shape[1] else np.full(n, -1, dtype=np.int16)
        columns[name] = pa.array(column, type=pa.int16(), mask=mask | (k >= top5.shape[1]))
    for name in CORRECT_FIELDS:
        columns[name] = pa.array(np.asarray(arrays[name], dtype=bool), type=pa.bool_(), mask=mask)
    prob5 = arrays.get("prob5")
    prob5 = (np.full((n, 5), np.nan, dtype=np.float16) if prob5 is None
             else np.asarray(prob5, dtype=np.float16).reshape(n, -1))
    for k, name in enumerate(PROB5_COLUMNS):
        column = prob5[:, k] if k < prob5.shape[1] else np.full(n, np.nan, dtype=np.float16)
        columns[name] = pa.array(column, type=pa.float16(), mask=mask | np.isnan(column))
    p_true = arrays.get("p_true")
    p_true = np.full(n, np.nan, dtype=np.float16) if p_true is None else np.asarray(p_true, dtype=np.float16)
    columns["p_true"] = pa.array(p_true, type=pa.float16(), mask=mask | np.isnan(p_true))
    return _parquet_bytes(pa.table(columns))


def read_prediction_columns(path: Path, names: tuple[str, ...]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Columns ``names`` of a ``predictions.parquet`` (``top5`` reads the five class columns as
    (N, 5) int16) and the evaluated mask (N,), both aligned with the unit's image list. Null
    entries (images not evaluated; ranks beyond the classes of a set scored over fewer than 5;
    confidences a writer left out) read as False / -1 / NaN."""
    _, pq = _pyarrow()
    grouped = {"top5": TOP5_COLUMNS, "prob5": PROB5_COLUMNS}
    wanted = [c for name in names for c in grouped.get(name, (name,))]
    first = "correct1"
    with pq.ParquetFile(path) as file:  # one file: no dataset discovery
        table = file.read(columns=list(dict.fromkeys([first, *wanted])))
    evaluated = table.column(first).is_valid().to_numpy(zero_copy_only=False)
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "top5":
            out[name] = np.stack([table.column(c).fill_null(-1).to_numpy().astype(np.int16)
                                  for c in TOP5_COLUMNS], axis=1)
        elif name == "prob5":
            out[name] = np.stack([_floats(table.column(c)) for c in PROB5_COLUMNS], axis=1)
        elif name == "p_true":
            out[name] = _floats(table.column(name))
        else:
            out[name] = table.column(name).fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    return out, evaluated


def _floats(column) -> np.ndarray:
    """A float16 column as float16 numpy, nulls as NaN."""
    import pyarrow.compute as pc

    return pc.fill_null(column.cast("float32"), float("nan")).to_numpy().astype(np.float16)


def logits_bytes(logits: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(logits, dtype=np.float16), allow_pickle=False)
    return buf.getvalue()
