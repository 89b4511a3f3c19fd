"""Scanning ``<root>/<class folder>/<image>`` trees, the layout most test sets use."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from .images import image_names, subfolder_names
from .testset import layout_error

PARTIAL_HINT = (
    "complete the download/extraction (compare file counts with the official archive), or "
    "rerun with --allow-partial (Python: allow_partial=True) to evaluate only the classes "
    "present; such units are marked partial in the tables."
)


@dataclass
class ScannedFolders:
    """Files found under a class-folder tree. ``relpaths`` are POSIX, relative to root."""

    relpaths: list[str]
    labels: list[int]
    folders: list[str]
    """Class folders that contributed at least one image."""
    skipped_folders: list[str]
    """Folders ignored on purpose (``label_of`` returned None with ``unknown="skip"``)."""


def scan_class_folders(
    root: Path,
    label_of: Callable[[str], int | None],
    *,
    set_name: str,
    expected: str,
    unknown: str = "error",
    required_folders: Collection[str] | None = None,
    allow_partial: bool = False,
) -> ScannedFolders:
    """Collect ``(relpath, label)`` for every image in ``root/<folder>/``.

    ``label_of(folder)`` gives a folder's label, or None when the folder name is
    not a class of this set; such folders raise :class:`LayoutError`
    (``unknown="error"``) or are skipped (``unknown="skip"``). Loose files in
    ``root`` (README.txt, licences) are ignored. Inside a class folder, every
    visible entry must be an image file. ``required_folders``: folders that must
    exist and hold images unless ``allow_partial``.
    """
    root = Path(root)
    folders = subfolder_names(root)
    if not folders:
        raise layout_error(set_name, root, expected, "no class folders found.",
                           "point the set's root at the folder that directly contains the class folders.")
    unknown_names = [f for f in folders if label_of(f) is None]
    if unknown_names and unknown == "error":
        shown = ", ".join(unknown_names[:5]) + (" ..." if len(unknown_names) > 5 else "")
        raise layout_error(
            set_name, root, expected,
            f"{len(unknown_names)} of {len(folders)} folders are not class folders of this set: {shown}",
            "point the set's root at the folder that directly contains the class folders "
            "(one level deeper or higher?), and move unrelated folders elsewhere.")
    relpaths: list[str] = []
    labels: list[int] = []
    used: list[str] = []
    for folder in folders:
        label = label_of(folder)
        if label is None:
            continue
        images, others = image_names(root / folder)
        nested = subfolder_names(root / folder)
        if others or nested:
            bad = others[:3] + [n + "/" for n in nested[:3]]
            raise layout_error(
                set_name, root, expected,
                f"class folder {folder}/ contains entries that are not .jpeg/.jpg/.png images: "
                + ", ".join(bad),
                "remove or move those entries (hidden files are ignored); nested folders usually "
                "mean the root points one level too high.",
                where=root / folder)
        if images:
            used.append(folder)
        relpaths.extend(f"{folder}/{name}" for name in images)
        labels.extend([label] * len(images))
    if not relpaths:
        raise layout_error(set_name, root, expected, "class folders exist but hold no images.",
                           "check that the archive was fully extracted.")
    if required_folders is not None and not allow_partial:
        missing = sorted(set(required_folders) - set(used))
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise layout_error(
                set_name, root, expected,
                f"incomplete: {len(missing)} of {len(required_folders)} class folders are missing "
                f"or empty ({shown}).",
                PARTIAL_HINT)
    skipped = [f for f in folders if label_of(f) is None]
    return ScannedFolders(relpaths, labels, used, skipped)
