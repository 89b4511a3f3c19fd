"""The one reader class every test set uses, and layout-error helpers.

A :class:`TestSet` is a list of image files (paths relative to ``info.root``,
sorted) with one integer label each. Every set-specific module only has to
*find* the files and their labels; decoding, cropping and item layout live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .base import BadImageError, LayoutError, TestSetInfo
from .images import crop_border, load_rgb, visible_entries

ROOT_OPTIONS_HINT = (
    "Pass the folder that holds all test sets with --data-root, or this set's own folder "
    "with --root {name}=PATH."
)


class TestSet:
    """Images with integer labels, in a stable order (sorted by relative path).

    A map-style dataset (``len`` and indexing) that ``torch.utils.data.DataLoader`` reads;
    it does not subclass torch's ``Dataset`` so that readers import without torch.

    Item ``i`` is ``(image, label, index, relpath)``: a PIL RGB image, the label
    in the set's label space (see ``info.scoring``), ``index == i``, and the
    POSIX path of the file relative to ``info.root``. ``relpaths`` and
    ``labels`` are available without decoding any image.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        info: TestSetInfo,
        relpaths: Sequence[str],
        labels: Sequence[int] | np.ndarray,
        border_px: int = 0,
    ):
        relpaths = list(relpaths)
        labels = np.asarray(labels, dtype=np.int64)
        if len(relpaths) != len(labels):
            raise ValueError(f"{len(relpaths)} files but {len(labels)} labels")
        order = sorted(range(len(relpaths)), key=relpaths.__getitem__)
        self.info = info
        self.relpaths: list[str] = [relpaths[i] for i in order]
        self.labels: np.ndarray = labels[order]
        self.border_px = border_px

    def __len__(self) -> int:
        return len(self.relpaths)

    def __getitem__(self, index: int) -> tuple[Image.Image, int, int, str]:
        relpath = self.relpaths[index]
        path = Path(self.info.root) / relpath
        image = load_rgb(path)
        try:
            image = crop_border(image, self.border_px)
        except ValueError as exc:
            raise BadImageError(path, exc) from exc
        return image, int(self.labels[index]), int(index), relpath

    def path(self, index: int) -> Path:
        """Where item ``index`` lives on disk (``info.root / relpaths[index]``)."""
        return Path(self.info.root) / self.relpaths[index]

    def subset(self, keep: np.ndarray, info: TestSetInfo, labels: np.ndarray | None = None) -> TestSet:
        """A new set with the items where ``keep`` is True (optionally relabelled)."""
        keep = np.asarray(keep, dtype=bool)
        new_labels = self.labels[keep] if labels is None else np.asarray(labels)[keep]
        kept = [p for p, k in zip(self.relpaths, keep) if k]
        return TestSet(info, kept, new_labels, border_px=self.border_px)

    def __repr__(self) -> str:
        return f"TestSet({self.info.name!r}, root={str(self.info.root)!r}, n={len(self)})"


def describe_found(folder: Path, limit: int = 8) -> str:
    """A short listing of what ``folder`` actually contains, for error messages."""
    try:
        entries = visible_entries(folder)
    except OSError as exc:
        return f"  (cannot list {folder}: {exc})"
    if not entries:
        return "  (empty folder)"
    lines = [f"  {e.name}{'/' if e.is_dir() else ''}" for e in entries[:limit]]
    if len(entries) > limit:
        lines.append(f"  ... and {len(entries) - limit} more entries")
    return "\n".join(lines)


def layout_error(name: str, root: Path, expected: str, problem: str, fix: str, where: Path | None = None) -> LayoutError:
    """A :class:`LayoutError` showing the expected tree, what was found, and what to do."""
    where = root if where is None else where
    return LayoutError(
        f"{name}: {problem}\n"
        f"Expected layout under {root}:\n{expected.rstrip()}\n"
        f"Found in {where}:\n{describe_found(where)}\n"
        f"What to do: {fix}"
    )


def missing_root_error(name: str, tried: Sequence[Path]) -> LayoutError:
    """A :class:`LayoutError` for a test set whose folder does not exist."""
    paths = "\n".join(f"  {p}" for p in tried)
    return LayoutError(
        f"{name}: test-set folder not found. Looked for:\n{paths}\n"
        + ROOT_OPTIONS_HINT.format(name=name)
        + " Run `robustness datasets` to see the layout each set expects."
    )
