"""Published accuracy tables as analysis inputs: timm results CSVs and the imagenet-testbed CSV.

Both are turned into the accuracy frame of :mod:`robustness.report.analysis` (one row per
model and test set: ``model, test_set, baseline, top1`` in percent, ``n`` images), so
``robustness analyze`` writes the same ``gaps.csv``, ``fits.csv``, ``effective_robustness.csv``
and ``corruptions.csv`` as ``robustness report`` -- with aggregate methods only, since there
are no per-image records (gaps get Newcombe's interval, no paired test).

timm format (``results-<set>.csv``, pytorch-image-models ``results/``):
``model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation`` and, for
shifted sets, signed-string ``top1_diff,top5_diff,rank_diff``; ``param_count`` may contain a
thousands separator (``"1,013.01"``). The set name is the file name after ``results-``
(``sketch`` is read as ``imagenet-sketch``). A model evaluated at several image sizes is named
``<model>@<img_size>`` everywhere, as timm joins tables on (model, img_size).

Accuracy scale: timm writes percent (80.123); some tables hold fractions (0.80123). The scale
is told per table (``--accuracy-scale auto``): ``top1 + top1_err`` (or ``top5 + top5_err``) is
100 in percent and 1 in fractions, and any accuracy above 1 is percent. A table whose scale
cannot be told (every value <= 1, no error columns) or whose rows disagree is refused;
``--accuracy-scale percent|fraction`` settles the first case. Fractions are converted to
percent on reading.

imagenet-testbed format (Taori et al. 2020): ``model,<setting>,...`` with top-1 in percent;
the settings in :data:`TESTBED_SETTINGS` are read, ImageNet-C from one evaluation mode
(``_on-disk`` by default: the released JPEG files; ``_in-memory`` corrupts val on the fly).

Image counts ``n`` (needed for gap intervals and plot error bars) come from
:func:`~robustness.datasets.catalogue.published_images` or ``--n NAME=N``. Set names are the dataset readers'
(``imagenetv2-threshold0.7``); file names may use the aliases in :data:`TIMM_SET_ALIASES`.

Models of a shifted table that are missing from its baseline table get no gap and no fit; they
are listed in the notes (``notes.txt`` and the terminal). A table that is empty, binary or
malformed raises :class:`TableFormatError` naming the file, line and column.
"""

from __future__ import annotations

import codecs
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from corruptions.errors import UserInputError

from ..datasets.catalogue import baseline_of as catalogue_baseline
from ..datasets.catalogue import baseline_sets, published_images
from .analysis import (
    ACCURACY_COLUMNS,
    Analysis,
    AnalysisOptions,
    analyze,
    gaps_from_counts,
    imagenet_c_parts,
)
from .writer import write_analysis


def class_matched_baseline(name: str) -> str | None:
    """The catalogue's class-matched baseline of ``name`` (``imagenet-r-clean`` for
    ``imagenet-r``); None for sets compared with the general baseline."""
    baseline = catalogue_baseline(name)
    return baseline if baseline not in (None, "imagenet") else None

#: set names in file names -> the readers' names (``robustness datasets``)
TIMM_SET_ALIASES = {"sketch": "imagenet-sketch",
                    "imagenetv2-threshold-0.7": "imagenetv2-threshold0.7"}
TIMM_REQUIRED = ("model", "img_size", "top1")
TIMM_HEADER = "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation"
TIMM_EXPECTED = (f"expected a timm results CSV with the header {TIMM_HEADER} (top1 in percent "
                 "or as fractions, one row per model and image size)")
#: accuracy columns of a timm table (converted together when a table holds fractions)
TIMM_ACCURACIES = ("top1", "top1_err", "top5", "top5_err")
#: (accuracy, error) column pairs whose sum tells the scale: 100 percent, 1 fraction
SCALE_PAIRS = (("top1", "top1_err"), ("top5", "top5_err"))
ACCURACY_SCALES = ("auto", "percent", "fraction")
SCALE_WORDS = {"percent": "percent", "fraction": "fractions"}
#: allowed distance of accuracy + error from 100 (percent) or 1 (fraction), as a share of it
SCALE_TOLERANCE = 0.002
#: file signatures of things that are not CSV text
BINARY_SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
                     (b"GIF8", "a GIF image"), (b"PK\x03\x04", "a zip archive (or .xlsx workbook)"),
                     (b"\x1f\x8b", "a gzip archive"), (b"PAR1", "a parquet file"),
                     (b"%PDF", "a PDF file"))
#: imagenet-testbed setting -> test-set name (ImageNet-C columns are handled separately)
TESTBED_SETTINGS = {
    "val": "imagenet",
    "imagenetv2-matched-frequency-format-val": "imagenetv2-matched-frequency",
    "imagenetv2-threshold-0.7-format-val": "imagenetv2-threshold0.7",
    "imagenetv2-top-images-format-val": "imagenetv2-top-images",
    "imagenet-sketch": "imagenet-sketch",
    "imagenet-r": "imagenet-r",
    "val-on-imagenet-r-classes": "imagenet-r-clean",
    "imagenet-a": "imagenet-a",
    "val-on-imagenet-a-classes": "imagenet-a-clean",
    "objectnet-1.0-beta": "objectnet",
    "val-on-objectnet-classes": "objectnet-clean",
}
C_MODES = ("on-disk", "in-memory")
TESTBED_EXPECTED = ("expected imagenet-testbed's wide CSV 'model,<setting>,...' with a 'val' "
                    "column (top-1 in percent or as fractions, one row per model)")
INPUT_EXPECTED = f"{TIMM_EXPECTED}; or {TESTBED_EXPECTED}"


class TableFormatError(UserInputError):
    """A published table does not have the expected columns or values."""


def timm_set_name(path: str | Path) -> str:
    """``.../timm-results-imagenet-r.csv`` -> ``imagenet-r``; the aliases of
    :data:`TIMM_SET_ALIASES` (``sketch``, ``imagenetv2-threshold-0.7``) -> the readers' names."""
    stem = Path(path).stem
    name = stem.split("results-", 1)[1] if "results-" in stem else stem
    return TIMM_SET_ALIASES.get(name, name)


def _lines(numbers, limit: int = 5) -> str:
    """``line 2`` or ``lines 2, 3, 7 and 4 more``: file line numbers for a message."""
    numbers = [int(n) for n in numbers]
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return (f"line{'s' if len(numbers) > 1 else ''} "
            + ", ".join(str(n) for n in numbers[:limit]) + more)


def _also(numbers) -> str:
    """`` (3 rows: lines 2, 5, 9)`` when more than one row is affected, else nothing."""
    return f" ({len(numbers)} rows: {_lines(numbers)})" if len(numbers) > 1 else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_text_file(path: str | Path, expected: str = TIMM_EXPECTED) -> None:
    """Refuse a file that cannot be a CSV table: unreadable, empty, binary or not UTF-8."""
    path = Path(path)
    size = 1 << 16
    try:
        with open(path, "rb") as f:
            head = f.read(size)
    except OSError as exc:
        raise TableFormatError(f"{path}: cannot be read ({exc.strerror or exc}); "
                               f"{expected}") from exc
    whole = len(head) < size
    if whole and not head.strip():
        raise TableFormatError(f"{path}: the file is empty; {expected}")
    why = next((f"it is {what}" for magic, what in BINARY_SIGNATURES if head.startswith(magic)),
               None)
    if why is None and b"\x00" in head:
        why = "it contains NUL bytes: a binary file, or UTF-16 text"
    if why is None:
        try:
            codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=whole)
        except UnicodeDecodeError as exc:
            why = f"byte {exc.start} is not UTF-8 text: a binary file, or another encoding"
    if why is not None:
        raise TableFormatError(f"{path}: not a CSV text file ({why}); {expected}")


def _read_csv(path: Path, expected: str, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` with stripped column names; any failure is a :class:`TableFormatError`."""
    check_text_file(path, expected)
    try:
        with warnings.catch_warnings():
            # rows longer than the header: pandas would silently take the first fields as an
            # index (index_col=None) or drop the last ones (index_col=False, with this warning)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(path, encoding="utf-8-sig", index_col=False, **kwargs)
    except pd.errors.ParserWarning as exc:
        raise TableFormatError(f"{path}: cannot read as CSV (some rows have more fields than the "
                               f"header); {expected}") from exc
    except (OSError, ValueError) as exc:  # pandas' ParserError, EmptyDataError are ValueErrors
        raise TableFormatError(f"{path}: cannot read as CSV ({_first_line(exc)}); "
                               f"{expected}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _blank(raw: pd.Series) -> pd.Series:
    return raw.isna() | (raw.astype(str).str.strip() == "")


def _numbers(raw: pd.Series, column: str, line: pd.Series, where: Path,
             required: bool) -> pd.Series:
    """``raw`` as floats; a cell that is not a number (or blank, when ``required``) is refused."""
    values = pd.to_numeric(raw.where(~_blank(raw)), errors="coerce").astype(float)
    bad = values.isna() & ~_blank(raw)
    if bad.any():
        first = bad.idxmax()
        raise TableFormatError(
            f"{where}, line {line[first]}, column {column}: {str(raw[first]).strip()!r} is not a "
            f"number{_also(line[bad])}; write plain numbers such as 80.123, without "
            "'%' signs")
    blank = values.isna()
    if required and blank.any():
        raise TableFormatError(
            f"{where}, line {line[blank.idxmax()]}: blank {column} cell"
            f"{_also(line[blank])}; every row needs model, img_size and top1; fill in or "
            "delete those rows")
    return values


def _scale_of(table: pd.DataFrame, line: pd.Series, where: Path, requested: str,
              columns: Sequence[str] = TIMM_ACCURACIES) -> str:
    """``percent`` or ``fraction``: the scale of ``table``'s accuracy ``columns``.

    A row is in percent when accuracy + error (:data:`SCALE_PAIRS`) is 100 or any of its
    accuracies is above 1, and in fractions when accuracy + error is 1. Rows that disagree, a
    ``requested`` scale the rows contradict, and (for ``auto``) a table no row tells the
    scale of are refused.
    """
    if requested not in ACCURACY_SCALES:
        raise UserInputError(f"--accuracy-scale {requested}: expected one of "
                             f"{', '.join(ACCURACY_SCALES)}")
    percent = pd.Series(False, index=table.index)
    fraction = pd.Series(False, index=table.index)
    for acc, err in SCALE_PAIRS:
        if acc not in table.columns or err not in table.columns:
            continue
        total = table[acc] + table[err]
        is_percent = (total - 100.0).abs() <= 100.0 * SCALE_TOLERANCE
        is_fraction = (total - 1.0).abs() <= SCALE_TOLERANCE
        neither = total.notna() & ~is_percent & ~is_fraction
        if neither.any():
            first = neither.idxmax()
            raise TableFormatError(
                f"{where}, line {line[first]}: {acc} + {err} = {total[first]:g}, neither 100 "
                f"(percent) nor 1 (fraction){_also(line[neither])}; {err} must be the "
                f"error rate, 100 - {acc} (1 - {acc} for fractions)")
        percent |= is_percent
        fraction |= is_fraction
    present = [c for c in columns if c in table.columns]
    percent |= (table[present] > 1.0).any(axis=1)
    if percent.any() and fraction.any():
        raise TableFormatError(
            f"{where}: rows in two scales: percent on {_lines(line[percent])} (accuracy + "
            f"error = 100, or a value above 1), fractions on {_lines(line[fraction])} (accuracy "
            "+ error = 1); write every row in one scale")
    told = "percent" if percent.any() else "fraction" if fraction.any() else None
    if requested != "auto":
        if told is not None and told != requested:
            evidence = percent if told == "percent" else fraction
            why = ("accuracy + error = 100, or a value above 1" if told == "percent"
                   else "accuracy + error = 1")
            raise TableFormatError(
                f"{where}: --accuracy-scale {requested} was given, but the table is in "
                f"{SCALE_WORDS[told]} ({_lines(line[evidence])}: {why}); pass "
                f"--accuracy-scale {told} or leave the option out")
        return requested
    if told is None:
        raise TableFormatError(
            f"{where}: cannot tell whether the accuracies are percent or fractions: every value "
            "is at most 1 and no top1_err/top5_err column tells the scale (weak models can "
            "score below 1 % on sets such as ImageNet-A); pass --accuracy-scale fraction "
            "(0.691 means 69.1 %) or --accuracy-scale percent")
    return told


def _in_range(table: pd.DataFrame, columns: Sequence[str], line: pd.Series, where: Path) -> None:
    for column in columns:
        values = table[column]
        outside = values.notna() & ~values.between(0.0, 100.0)
        if outside.any():
            first = outside.idxmax()
            raise TableFormatError(
                f"{where}, line {line[first]}: {column} = {values[first]:g} is outside [0, 100]"
                f"{_also(line[outside])}; accuracies are percentages in [0, 100] or "
                "fractions in [0, 1]; fix or delete those rows")


def read_timm_csv(path: str | Path, scale: str = "auto") -> pd.DataFrame:
    """A timm results CSV with numeric columns (thousands separators and ``+`` signs parsed)
    and accuracies in percent; ``table.attrs["accuracy_scale"]`` is the scale of the file.

    ``scale``: ``auto`` (tell it from the table, see the module docstring), ``percent`` or
    ``fraction``. An empty, binary or malformed table raises :class:`TableFormatError`
    naming the file, line and column.
    """
    path = Path(path)
    # blank lines are kept as empty rows and dropped below, so index + 2 is the file line
    table = _read_csv(path, TIMM_EXPECTED, thousands=",", skip_blank_lines=False)
    table = table[~table.isna().all(axis=1)]
    missing = [c for c in TIMM_REQUIRED if c not in table.columns]
    if missing:
        raise TableFormatError(
            f"{path}: missing column(s) {', '.join(missing)} (found: "
            f"{', '.join(table.columns[:10])}); {TIMM_EXPECTED} (the imagenet-testbed wide CSV "
            "is recognised by its 'model' and 'val' columns)")
    if table.empty:
        raise TableFormatError(f"{path}: the header has no data rows below it; {TIMM_EXPECTED}")
    line = pd.Series(table.index + 2, index=table.index)
    blank = _blank(table["model"])
    if blank.any():
        raise TableFormatError(
            f"{path}, line {line[blank.idxmax()]}: blank model cell{_also(line[blank])}; "
            "every row needs model, img_size and top1; fill in or delete those rows")
    table = table.copy()
    table["model"] = table["model"].astype(str).str.strip()
    accuracies = [c for c in TIMM_ACCURACIES if c in table.columns]
    for column in ("img_size", *accuracies):
        table[column] = _numbers(table[column], column, line, path, column in TIMM_REQUIRED)
    for column in ("top1_diff", "top5_diff", "rank_diff", "param_count"):
        if column in table.columns:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    size = table["img_size"]
    bad = ~np.isfinite(size) | (size <= 0) | (size != size.round())
    if bad.any():
        raise TableFormatError(
            f"{path}, line {line[bad.idxmax()]}: img_size = {size[bad.idxmax()]:g} is not a "
            f"positive whole number of pixels{_also(line[bad])}; {TIMM_EXPECTED}")
    table["img_size"] = size.astype(np.int64)
    _in_range(table, accuracies, line, path)
    found = _scale_of(table, line, path, scale)
    if found == "fraction":
        for column in (*accuracies, "top1_diff", "top5_diff"):
            if column in table.columns:
                table[column] = (100.0 * table[column]).round(9)
    table = table.reset_index(drop=True)
    table.attrs["accuracy_scale"] = found
    return table


def is_testbed_csv(path: str | Path) -> bool:
    """Whether the header is imagenet-testbed's wide layout (``model`` and a ``val`` column);
    a file that cannot be a CSV at all raises :class:`TableFormatError`."""
    check_text_file(path, INPUT_EXPECTED)
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        header = [c.strip() for c in f.readline().strip().split(",")]
    return bool(header) and header[0] == "model" and "val" in header and "top1" not in header


def model_labels(tables: Sequence[pd.DataFrame]) -> dict[tuple[str, int], str]:
    """(model, img_size) -> name; ``model@img_size`` for models listed at several sizes."""
    pairs = {(str(m), int(s)) for t in tables for m, s in zip(t["model"], t["img_size"],
                                                               strict=True)}
    sizes: dict[str, int] = {}
    for model, _ in pairs:
        sizes[model] = sizes.get(model, 0) + 1
    return {(m, s): (m if sizes[m] == 1 else f"{m}@{s}") for m, s in pairs}


def set_size(name: str, sizes: Mapping[str, int]) -> float:
    """Images in ``name``: ``sizes`` first, then the catalogue's published count; else NaN."""
    if name in sizes:
        return float(sizes[name])
    known = published_images(name)
    return float(known) if known is not None else np.nan


def baseline_of(name: str, general: str, present: set[str]) -> str | None:
    """The set ``name`` is compared with: its class-matched set if present, else ``general``."""
    if name in baseline_sets() or name == general:
        return None
    matched = class_matched_baseline(name)
    if matched is not None:
        return matched if matched in present else None
    return general


def _fraction_note(name: str) -> str:
    return f"{name}: accuracies read as fractions and converted to percent"


def timm_accuracy_frame(paths: Sequence[str | Path], baseline: str | Path | None = None,
                        sizes: Mapping[str, int] | None = None,
                        scale: str = "auto") -> tuple[pd.DataFrame, list[str]]:
    """Accuracy frame of timm result CSVs; the general baseline is ``baseline`` or the first file.

    ImageNet-R and -A are compared with their ``-clean`` tables when those are given. ``scale``
    is the accuracy scale of every table (``auto``: told per table).
    """
    paths = [Path(p) for p in paths]
    base_path = Path(baseline) if baseline is not None else paths[0]
    if base_path.resolve() not in {p.resolve() for p in paths}:
        paths = [base_path, *paths]
    tables = {timm_set_name(p): read_timm_csv(p, scale) for p in paths}
    if len(tables) != len(paths):
        raise TableFormatError(f"two of the tables {[str(p) for p in paths]} name the same test "
                               "set; pass one file per set")
    labels = model_labels(list(tables.values()))
    general = timm_set_name(base_path)
    present = set(tables)
    frames, notes = [], []
    for path, (name, table) in zip(paths, tables.items(), strict=True):
        if table.attrs.get("accuracy_scale") == "fraction":
            notes.append(_fraction_note(path.name))
        base = baseline_of(name, general, present)
        if class_matched_baseline(name) is not None and base is None:
            notes.append(f"{name}: its class-matched baseline {class_matched_baseline(name)} was not "
                         "given, so it has no gaps or fits")
        frames.append(pd.DataFrame({
            "model": [labels[(str(m), int(s))] for m, s in zip(table["model"], table["img_size"],
                                                               strict=True)],
            "test_set": name, "baseline": base, "top1": table["top1"].astype(float),
            "n": set_size(name, sizes or {}),
        }))
    return pd.concat(frames, ignore_index=True)[ACCURACY_COLUMNS], notes


def testbed_accuracy_frame(path: str | Path, c_mode: str = "on-disk",
                           sizes: Mapping[str, int] | None = None,
                           scale: str = "auto") -> tuple[pd.DataFrame, list[str]]:
    """Accuracy frame of the imagenet-testbed wide CSV (settings of :data:`TESTBED_SETTINGS`
    and ImageNet-C columns ``imagenet-c.<corruption>.<severity>_<c_mode>``)."""
    if c_mode not in C_MODES:
        raise ValueError(f"ImageNet-C mode must be one of {C_MODES}, got {c_mode!r}")
    path = Path(path)
    wide = _read_csv(path, TESTBED_EXPECTED, skip_blank_lines=False)
    wide = wide[~wide.isna().all(axis=1)].copy()  # blank lines; index + 2 is the file line
    if "model" not in wide.columns or "val" not in wide.columns:
        raise TableFormatError(f"{path}: missing column(s) "
                               f"{', '.join(c for c in ('model', 'val') if c not in wide.columns)}"
                               f"; {TESTBED_EXPECTED}")
    if wide.empty:
        raise TableFormatError(f"{path}: the header has no data rows below it; {TESTBED_EXPECTED}")
    blank = _blank(wide["model"])
    if blank.any():
        raise TableFormatError(f"{path}, line {blank.idxmax() + 2}: blank model cell; "
                               "fill in or delete that row")
    names: dict[str, str] = {}
    for column in wide.columns[1:]:
        if column in TESTBED_SETTINGS:
            names[column] = TESTBED_SETTINGS[column]
        elif column.endswith(f"_{c_mode}") and imagenet_c_parts(column[: -len(c_mode) - 1]):
            names[column] = column[: -len(c_mode) - 1]
    skipped = [c for c in wide.columns[1:] if c not in names]
    wide["model"] = wide["model"].astype(str).str.strip()
    long = wide.melt(id_vars="model", value_vars=list(names), var_name="setting",
                     value_name="top1", ignore_index=False)
    long = long[~_blank(long["top1"])]
    line = pd.Series(long.index + 2)  # file line of each cell
    long = long.reset_index(drop=True)
    if long.empty:
        raise TableFormatError(f"{path}: no top-1 values in the settings read "
                               f"({', '.join(list(names)[:4])} ...); {TESTBED_EXPECTED}")
    values = pd.to_numeric(long["top1"], errors="coerce").astype(float)
    bad = values.isna()
    if bad.any():
        first = bad.idxmax()
        raise TableFormatError(
            f"{path}, line {line[first]}, column {long['setting'][first]}: "
            f"{str(long['top1'][first]).strip()!r} is not a number ({int(bad.sum())} such "
            "cell(s)); write plain numbers such as 76.13, without '%' signs")
    long["top1"] = values
    outside = ~values.between(0.0, 100.0)
    if outside.any():
        first = outside.idxmax()
        raise TableFormatError(
            f"{path}, line {line[first]}, column {long['setting'][first]}: top-1 = "
            f"{values[first]:g} is outside "
            "[0, 100]; accuracies are percentages in [0, 100] or fractions in [0, 1]")
    found = _scale_of(long, line, path, scale, columns=("top1",))
    notes = []
    if found == "fraction":
        long["top1"] = (100.0 * long["top1"]).round(9)
        notes.append(_fraction_note(path.name))
    long["test_set"] = long["setting"].map(names)
    present = set(long["test_set"])
    long["baseline"] = [baseline_of(t, "imagenet", present) for t in long["test_set"]]
    long["n"] = [set_size(t, sizes or {}) for t in long["test_set"]]
    if skipped:
        notes.append(f"{path.name}: {len(skipped)} setting(s) not read (other ImageNet-C mode, "
                     f"perturbations, video sets, ...): {', '.join(skipped[:6])} ...")
    return long[ACCURACY_COLUMNS].reset_index(drop=True), notes


def unmatched_models(acc: pd.DataFrame, sources: Mapping[str, str] | None = None,
                     limit: int = 5) -> tuple[pd.DataFrame, list[str]]:
    """Rows whose model is missing from their baseline set get baseline None (no gap, no fit),
    with one note per baseline set giving the count and the first names.

    ``sources`` maps set names to the file they were read from (for the notes).
    """
    acc = acc.copy()
    present = set(acc["test_set"])
    notes = []
    for base in sorted({b for b in acc["baseline"] if isinstance(b, str) and b in present}):
        listed = set(acc.loc[acc["test_set"] == base, "model"])
        rows = (acc["baseline"] == base) & ~acc["model"].isin(listed)
        if not rows.any():
            continue
        models = sorted(set(acc.loc[rows, "model"]))
        sets = sorted(set(acc.loc[rows, "test_set"]))
        where = f" ({sources[base]})" if sources and base in sources else ""
        notes.append(
            f"{len(models)} model(s) missing from the baseline table {base}{where} are left out "
            f"of the gaps and fits of {', '.join(sets[:3])}"
            f"{f' and {len(sets) - 3} more set(s)' if len(sets) > 3 else ''}: "
            f"{', '.join(models[:limit])}{' ...' if len(models) > limit else ''}")
        acc.loc[rows, "baseline"] = None
    return acc, notes


def published_accuracy_frame(paths: Sequence[str | Path], baseline: str | Path | None = None,
                             sizes: Mapping[str, int] | None = None,
                             c_mode: str = "on-disk",
                             scale: str = "auto") -> tuple[pd.DataFrame, list[str]]:
    """One accuracy frame of timm CSVs and/or testbed CSVs; first occurrence of a (model, set)
    wins when the inputs overlap. Models missing from their baseline table are kept out of
    gaps and fits (baseline None) and listed in the notes."""
    testbed = [Path(p) for p in paths if is_testbed_csv(p)]
    timm = [Path(p) for p in paths if Path(p) not in testbed]
    frames, notes = [], []
    sources: dict[str, str] = {}
    if timm:
        frame, more = timm_accuracy_frame(timm, baseline, sizes, scale)
        frames.append(frame)
        notes += more
        for p in [*([Path(baseline)] if baseline is not None else []), *timm]:
            sources.setdefault(timm_set_name(p), Path(p).name)
    for path in testbed:
        frame, more = testbed_accuracy_frame(path, c_mode, sizes, scale)
        frames.append(frame)
        notes += more
        for name in frame["test_set"].unique():
            sources.setdefault(name, path.name)
    acc = pd.concat(frames, ignore_index=True)
    dup = acc.duplicated(["model", "test_set"])
    if dup.any():
        notes.append(f"{int(dup.sum())} (model, test set) pair(s) appear in several inputs; "
                     "kept the first")
        acc = acc[~dup].reset_index(drop=True)
    acc, more = unmatched_models(acc, sources)
    return acc, notes + more


def analysis_of(acc: pd.DataFrame, notes: Sequence[str] = (),
                options: AnalysisOptions | None = None) -> Analysis:
    """Gaps with Newcombe intervals, fits, ER and corruption metrics of an accuracy frame."""
    opts = options or AnalysisOptions()
    gaps, gap_notes = gaps_from_counts(acc, opts.alpha)
    return analyze(acc, gaps, opts, [*notes, *gap_notes])


def analyze_published(paths: Sequence[str | Path], baseline: str | Path | None = None,
                      sizes: Mapping[str, int] | None = None, c_mode: str = "on-disk",
                      options: AnalysisOptions | None = None,
                      scale: str = "auto") -> tuple[pd.DataFrame, Analysis]:
    """Accuracy frame and analysis (gaps with Newcombe intervals, fits, ER, corruptions)."""
    acc, notes = published_accuracy_frame(paths, baseline, sizes, c_mode, scale)
    return acc, analysis_of(acc, notes, options)


def analyze_tables(paths: Sequence[str | Path], out: str | Path,
                   baseline: str | Path | None = None, sizes: Mapping[str, int] | None = None,
                   c_mode: str = "on-disk", options: AnalysisOptions | None = None,
                   scale: str = "auto") -> tuple[list[Path], list[str]]:
    """``robustness analyze``: write the analysis of published tables into ``out``.

    Returns (written paths, notes on the inputs). A missing or malformed table raises
    :class:`UserInputError` before anything is written.
    """
    given = [*paths, *([baseline] if baseline is not None else [])]
    missing = [str(p) for p in given if not Path(p).is_file()]
    if missing:
        raise UserInputError(f"no such table file(s): {', '.join(missing)}; give the path of "
                             "each results CSV")
    if Path(out).exists() and not Path(out).is_dir():
        raise UserInputError(f"--out {out} is a file; give a folder for the tables and plots")
    opts = options or AnalysisOptions()
    acc, notes = published_accuracy_frame(paths, baseline, sizes, c_mode, scale)
    result = analysis_of(acc, notes, opts)
    return write_analysis(acc, result, out, opts), list(notes)
