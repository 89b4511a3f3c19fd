"""The candidate-pool format: one table row per image, with its annotation counts.

A pool file is a CSV (or parquet, when ``pyarrow`` is installed) with one row per image::

    path,wnid,shown,selected,source,date,dup_group,previous
    n01440764/flickr_123.jpg,n01440764,10,7,flickr,2018-03-02,,0

Required columns

* ``path``     image file, relative to the pool root (default: the folder holding the
  pool file) or absolute. Unique within the file.
* ``wnid``     the ImageNet-1k WordNet ID of the class the image was collected for.
* ``shown``    how many annotators saw the image for that class (integer >= 1).
* ``selected`` how many of them selected it as containing the class (0 <= selected <= shown).

Optional columns: ``source`` (e.g. flickr), ``date`` (any text), ``dup_group`` (images
sharing a value are one near-duplicate group; filled by the screening step or by hand),
``previous`` (1/true when the image was in a previous revision of the new set).

The *selection frequency* is ``selected / shown``, a fraction in [0, 1]. The same format
describes the original test set's images (e.g. ImageNet val with its re-measured
frequencies). :func:`load_pool` checks all of this and raises :class:`PoolFormatError`
naming the file, the rows and what to do, in one line (also for an empty, header-only or
binary file, and for rows with more fields than the header).
"""

from __future__ import annotations

import codecs
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets.classes import wnid_to_index
from ..errors import UserInputError

REQUIRED_COLUMNS = ("path", "wnid", "shown", "selected")

POOL_LAYOUT = """\
  path,wnid,shown,selected[,source,date,dup_group,previous]
  n01440764/img_0001.jpg,n01440764,10,7
  (path relative to the pool file's folder; shown >= 1 annotators; 0 <= selected <= shown)"""
#: the layout in one line, for error messages (one message = one line on stderr)
POOL_FORMAT = ("expected a CSV with the header path,wnid,shown,selected[,source,date,dup_group,"
               "previous] and rows like n01440764/img_0001.jpg,n01440764,10,7 (shown >= 1 "
               "annotators, 0 <= selected <= shown)")
#: file signatures of things that are not a CSV pool
BINARY_SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
                     (b"GIF8", "a GIF image"), (b"PK\x03\x04", "a zip archive (or .xlsx workbook)"),
                     (b"\x1f\x8b", "a gzip archive"), (b"PAR1", "a parquet file (name it .parquet)"),
                     (b"%PDF", "a PDF file"))


class PoolFormatError(UserInputError):
    """A pool file does not follow the documented format."""


@dataclass(frozen=True)
class Pool:
    """A validated pool: ``table`` has the columns above plus ``frequency`` (selected/shown,
    a fraction in [0, 1]) and ``class_index`` (ImageNet-1k index of ``wnid``)."""

    table: pd.DataFrame
    root: Path  # folder that relative ``path`` values are resolved against
    source: str  # where it was read from (for messages)

    def image_path(self, path: str) -> Path:
        """The file of the row whose ``path`` is ``path``."""
        p = Path(path)
        return p if p.is_absolute() else self.root / p

    def __len__(self) -> int:
        return len(self.table)


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    """Human row numbers (header = line 1, first data row = line 2) of the first offenders."""
    idx = np.flatnonzero(mask)[:limit] + 2
    more = "" if mask.sum() <= limit else f" and {int(mask.sum()) - limit} more"
    return ", ".join(str(i) for i in idx) + more


def _text_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a CSV pool (empty, binary, not UTF-8), or None."""
    size = 1 << 16
    with open(path, "rb") as f:
        head = f.read(size)
    whole = len(head) < size
    if whole and not head.strip():
        return "the file is empty"
    for magic, what in BINARY_SIGNATURES:
        if head.startswith(magic):
            return f"not a CSV text file (it is {what})"
    if b"\x00" in head:
        return "not a CSV text file (it contains NUL bytes: a binary file, or UTF-16 text)"
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=whole)
    except UnicodeDecodeError as exc:
        return f"not a CSV text file (byte {exc.start} is not UTF-8: a binary file, or another encoding)"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_table(path: Path) -> pd.DataFrame:
    """The raw table of a pool file; a file that cannot be read as one is a :class:`PoolFormatError`."""
    if path.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise PoolFormatError(
                f"{path}: reading parquet needs pyarrow (`pip install pyarrow`), "
                "or save the pool as CSV"
            ) from exc
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise PoolFormatError(f"{path}: cannot read as parquet ({_first_line(exc)}); "
                                  f"{POOL_FORMAT}, or a parquet file with those columns") from exc
    try:
        problem = _text_problem(path)
    except OSError as exc:
        raise PoolFormatError(f"{path}: cannot be read ({exc.strerror or exc}); {POOL_FORMAT}") from exc
    if problem is not None:
        raise PoolFormatError(f"{path}: {problem}; {POOL_FORMAT}")
    try:
        with warnings.catch_warnings():
            # rows longer than the header: pandas would silently take the first fields as an
            # index (index_col=None) or drop the last ones (index_col=False, with this warning)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(path, dtype={"path": str, "wnid": str}, keep_default_na=False,
                                na_values={"shown": [""], "selected": [""]}, encoding="utf-8-sig",
                                index_col=False)  # fmt: skip
    except pd.errors.ParserWarning as exc:
        raise PoolFormatError(f"{path}: cannot read as CSV (some rows have more fields than the "
                              f"header); {POOL_FORMAT}") from exc
    except (OSError, ValueError) as exc:  # pandas' ParserError, EmptyDataError are ValueErrors
        raise PoolFormatError(f"{path}: cannot read as CSV ({_first_line(exc)}); {POOL_FORMAT}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _as_counts(table: pd.DataFrame, column: str, where: str) -> np.ndarray:
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        raise PoolFormatError(
            f"{where}: column {column!r} must hold whole numbers of annotators; rows {_rows(bad)} "
            f"do not (first: {str(table[column].iloc[int(np.flatnonzero(bad)[0])]).strip()!r}); "
            f"{POOL_FORMAT}"
        )
    return values.astype(np.int64)


def validate_pool_table(
    table: pd.DataFrame,
    where: str,
    known_wnids: dict[str, int] | None = None,
    min_annotations: int = 1,
) -> pd.DataFrame:
    """Check a raw pool table and return it with ``frequency`` and ``class_index`` added.

    ``known_wnids`` maps wnid -> class index (default: the 1000 ImageNet-1k classes).
    Every row needs at least ``min_annotations`` annotators (``shown``).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise PoolFormatError(
            f"{where}: missing column(s) {', '.join(missing)}; found "
            f"{', '.join(map(str, table.columns[:10]))}; {POOL_FORMAT}"
        )
    if known_wnids is None:
        known_wnids = wnid_to_index()
    out = table.copy()
    out["path"] = out["path"].astype(str)
    out["wnid"] = out["wnid"].astype(str).str.strip()
    empty = (out["path"].str.strip() == "").to_numpy()
    if empty.any():
        raise PoolFormatError(f"{where}: empty 'path' in rows {_rows(empty)}")
    dup = out["path"].duplicated(keep="first").to_numpy()
    if dup.any():
        raise PoolFormatError(
            f"{where}: path {out['path'][dup].iloc[0]!r} appears more than once (rows {_rows(dup)}); "
            "each image must have exactly one row (sum the annotation counts of repeated rows)"
        )
    unknown = ~out["wnid"].isin(list(known_wnids)).to_numpy()
    if unknown.any():
        first = out["wnid"][unknown].iloc[0]
        raise PoolFormatError(
            f"{where}: unknown class {first!r} in rows {_rows(unknown)}; 'wnid' must be an "
            "ImageNet-1k WordNet ID such as n01440764 (see robustness/datasets/imagenet_classes.json)"
        )
    shown = _as_counts(out, "shown", where)
    selected = _as_counts(out, "selected", where)
    outside = (selected < 0) | (selected > shown)
    if outside.any():
        raise PoolFormatError(
            f"{where}: selection frequency outside [0, 1] in rows {_rows(outside)} "
            "(need 0 <= selected <= shown)"
        )
    few = shown < min_annotations
    if few.any():
        raise PoolFormatError(
            f"{where}: fewer than {min_annotations} annotation(s) in rows {_rows(few)}; "
            "collect more annotations for these images or drop them from the pool"
        )
    out["shown"] = shown
    out["selected"] = selected
    out["frequency"] = selected / shown
    out["class_index"] = out["wnid"].map(known_wnids).astype(np.int64)
    if "previous" in out.columns:
        out["previous"] = _as_flags(out["previous"], where)
    else:
        out["previous"] = False
    for column in ("source", "date", "dup_group"):
        if column not in out.columns:
            out[column] = ""
        out[column] = out[column].fillna("").astype(str)
    return out.reset_index(drop=True)


def _as_flags(column: pd.Series, where: str) -> pd.Series:
    text = column.astype(str).str.strip().str.lower()
    truthy, falsy = {"1", "true", "yes"}, {"0", "false", "no", "", "nan"}
    bad = ~text.isin(truthy | falsy).to_numpy()
    if bad.any():
        raise PoolFormatError(f"{where}: column 'previous' must be 0/1 or true/false; rows {_rows(bad)}")
    return text.isin(truthy)


def load_pool(
    path: str | Path,
    root: str | Path | None = None,
    known_wnids: dict[str, int] | None = None,
    min_annotations: int = 1,
) -> Pool:
    """Read and validate a pool file (CSV, or parquet with pyarrow); see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise PoolFormatError(f"{path}: pool file not found; {POOL_FORMAT}")
    raw = _read_table(path)
    if raw.empty:
        raise PoolFormatError(f"{path}: the pool has a header but no rows; {POOL_FORMAT}")
    table = validate_pool_table(raw, str(path), known_wnids, min_annotations)
    return Pool(table=table, root=Path(root) if root is not None else path.parent, source=str(path))


def pool_from_table(
    table: pd.DataFrame,
    root: str | Path = ".",
    known_wnids: dict[str, int] | None = None,
    name: str = "<table>",
) -> Pool:
    """A validated :class:`Pool` from an in-memory table (same columns as the file)."""
    return Pool(table=validate_pool_table(table, name, known_wnids), root=Path(root), source=name)
