"""Write a sampled test set in the ImageNetV2 layout, with a manifest.

Layout (what :func:`robustness.datasets.imagenetv2.open_imagenetv2` reads; label =
``int(folder)``, the ImageNet-1k class index)::

    OUT/<class index>/<file name>     e.g. OUT/0/flickr_123.jpg
    OUT/manifest.csv                  one row per written image (pool format, see below)
    OUT/manifest.json                 strategy, parameters, seed, pool file, shortfalls

``manifest.csv`` is itself a valid pool file: ``path`` is the image's path relative to OUT,
with the candidate's ``wnid``, ``shown`` and ``selected`` and, in addition, ``source_path``
(the path in the pool), ``bin``, ``rank`` and ``reason`` (why it was chosen). It can be passed
to ``replication-report`` as the new set's frequencies. File names keep the candidate's name;
two candidates of one class with the same name get ``_<8 hex of sha1(pool path)>`` appended.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..errors import UserInputError
from .pool import Pool
from .sampling import SamplingResult, Shortfall

LINK_MODES = ("copy", "hardlink", "symlink")
MANIFEST_COLUMNS = ["path", "wnid", "shown", "selected", "frequency", "class_index", "source_path",
                    "bin", "rank", "reason", "source", "date"]  # fmt: skip


class OutputFolderError(RuntimeError, UserInputError):
    """The output folder cannot be written as asked."""


@dataclass(frozen=True)
class WrittenSet:
    out: Path
    n_images: int
    manifest_csv: Path
    manifest_json: Path
    shortfalls: list[Shortfall]


def output_names(selected: pd.DataFrame) -> list[str]:
    """``<class index>/<file name>`` for each selected row, made unique within each folder."""
    names, used = [], set()
    for path, index in zip(selected["path"], selected["class_index"]):
        name = f"{int(index)}/{Path(path).name}"
        if name in used:
            p = Path(path)
            name = f"{int(index)}/{p.stem}_{hashlib.sha1(path.encode()).hexdigest()[:8]}{p.suffix}"
        used.add(name)
        names.append(name)
    return names


def _place(src: Path, dst: Path, mode: str) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.unlink(missing_ok=True)
    if mode == "copy":
        shutil.copyfile(src, tmp)
    elif mode == "hardlink":
        os.link(src, tmp)
    else:
        tmp.symlink_to(src.resolve())
    os.replace(tmp, dst)


def write_test_set(
    result: SamplingResult,
    candidates: Pool,
    out: str | Path,
    mode: str = "copy",
    force: bool = False,
    extra: dict | None = None,
) -> WrittenSet:
    """Place the chosen images under ``out`` and write ``manifest.csv`` / ``manifest.json``.

    Every source file is checked before anything is written. ``out`` must be empty or
    absent unless ``force``. ``mode``: copy, hardlink or symlink the pool's files.
    ``extra`` is merged into ``manifest.json`` (e.g. duplicate-screening counts).
    """
    if mode not in LINK_MODES:
        raise ValueError(f"mode must be one of {LINK_MODES}, got {mode!r}")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputFolderError(f"{out} is not empty; choose a new folder or pass --force to add to it")
    selected = result.selected
    sources = [candidates.image_path(p) for p in selected["path"]]
    missing = [str(s) for s in sources if not s.is_file()]
    if missing:
        raise OutputFolderError(
            f"{len(missing)} chosen image(s) not found, e.g. {missing[0]}; pool paths are resolved "
            f"against {candidates.root} (set the pool root, or fix the 'path' column of {candidates.source})"
        )
    names = output_names(selected)
    for src, name in zip(sources, names):
        _place(src, out / name, mode)
    manifest = selected.assign(source_path=selected["path"], path=names)
    manifest = manifest[[c for c in MANIFEST_COLUMNS if c in manifest.columns]]
    manifest_csv = out / "manifest.csv"
    manifest.to_csv(manifest_csv, index=False)
    info = {
        "strategy": result.strategy,
        "params": result.params,
        "pool": candidates.source,
        "n_images": len(manifest),
        "images_per_class": {str(k): int(v) for k, v in result.counts().items()},
        "shortfalls": [asdict(s) for s in result.shortfalls],
        "layout": "ImageNetV2: <class index>/<file>, label = int(folder)",
        **(extra or {}),
    }
    manifest_json = out / "manifest.json"
    manifest_json.write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
    return WrittenSet(out, len(manifest), manifest_csv, manifest_json, list(result.shortfalls))
