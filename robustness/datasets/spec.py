"""What the harness knows about a test set, written once, next to the function that opens it.

Each reader module (``imagenet.py``, ``renditions.py``, ...) ends with ``SPECS``: one
:class:`TestSetSpec` per plain test set it opens, or one :class:`SetGroup` per family of
(corruption, severity) sets. :mod:`.catalogue` collects them (and any a user adds with
:func:`~robustness.datasets.catalogue.register_test_set`); everything else asks the catalogue.
Nothing here imports torch or touches the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class FolderSpec:
    """Where a set (or a set group) lives under the data root and what its folder looks like."""

    name: str
    description: str
    """One paragraph for ``robustness datasets``: what the set is and how it is scored."""
    layout: str
    """The on-disk tree the reader expects (shown by ``robustness datasets`` and in errors)."""
    default_dir: str
    """Folder under ``--data-root``; ``alt_dirs`` are tried after it."""
    alt_dirs: tuple[str, ...] = ()
    options: tuple[str, ...] = ("allow_partial",)
    """Keyword options the opener accepts (``--dataset-option NAME:KEY=VALUE``)."""
    needs: tuple[str, ...] = ()
    """Other sets whose folders opening this one reads; their folder is passed to the opener
    as ``<other>_root`` (``objectnet-clean`` reads ObjectNet's mapping files)."""
    num_classes: int = 1000
    """Classes scored (200 for ImageNet-R/-A and their class-matched val)."""
    baseline: str | None = None
    """The set this one's gap is measured against (None: a baseline itself)."""
    in_default: bool = False
    """Part of ``--test-sets default``, the published benchmark list."""

    def candidate_roots(self, data_root: Path) -> list[Path]:
        return [Path(data_root) / d for d in (self.default_dir, *self.alt_dirs)]

    def describe(self) -> str:
        """Multi-line text: what the set is, where it is looked for, and the expected tree."""
        where = " | ".join(f"<data-root>/{d}" for d in (self.default_dir, *self.alt_dirs))
        return (
            f"{self.description}\n"
            f"  classes: {self.num_classes}   baseline: {self.baseline or '-'}   "
            f"options: {', '.join(self.options)}\n"
            f"  folder: {where}  (or --root {self.name}=PATH)\n"
            f"  layout:\n{self.layout.rstrip()}"
        )


@dataclass(frozen=True, kw_only=True)
class TestSetSpec(FolderSpec):
    """One plain test set: its folder, its opener and the facts its numbers depend on."""

    __test__ = False  # not a pytest test class

    opener: Callable[..., Any]
    """``opener(root, **options) -> TestSet`` (``root``: the set's folder)."""
    num_images: int | None = None
    """Images in the published set (for tables without per-image counts); None: not fixed."""
    same_images_as: str | None = None
    """Re-scores these images (ReaL: val's), so gaps against it are paired per image."""
    in_distribution: str | None = None
    """For an out-of-distribution detection set (ImageNet-O): the set whose images are the
    in-distribution negatives of its detection scores (AUROC/AUPR, this set's images being
    the positives), scored over the same classes. None: not an OOD set."""


@dataclass(frozen=True, kw_only=True)
class SetGroup(FolderSpec):
    """A family of sets, one per (corruption, severity), named ``<group>.<corruption>.<severity>``.

    A group aggregates like ImageNet-C: a mean over its sets (one more shift, ``<group> (mean)``),
    a per-corruption table and a heatmap; CE and mCE only where AlexNet errors exist (``mce``).
    """

    title: str
    """For tables and plots: ``ImageNet-C``."""
    opener: Callable[..., Any]
    """``opener(root, corruption, severity, **options) -> TestSet``."""
    members: Callable[[Path | None, str | None], list[tuple[str, int]]]
    """``members(root, corruption)``: the (corruption, severity) pairs present under ``root``
    (all of them for one ``corruption`` when given), in the order tables list them."""
    generator_benchmark: str | None = None
    """The ``benchmark`` label of the generator's corruptions that belong here."""
    baseline: str | None = "imagenet"
    measured_against_baseline: bool = True
    """Members are shifted copies of independent images, compared with ``baseline``: gaps, fits,
    the group mean, the per-corruption table, calibration pools. False for sequences whose
    frames are not independent samples (ImageNet-P: ``baseline`` then only names the folder an
    in-memory group renders from); they are reported by their own tables (stability.csv)."""
    mce: bool = False
    """AlexNet reference errors exist: CE, relative CE and mCE are reported."""
    on_disk: bool = True
    """False: rendered in memory from the baseline's folder (nothing to list on disk)."""
    member_images: int | None = None
    """Images in each published member set."""

    @property
    def mean_name(self) -> str:
        """The per-model mean over the group's sets, used as one more shift."""
        return f"{self.name} (mean)"


def member_name(corruption: str, severity: int, group: str) -> str:
    """Test-set name of one (corruption, severity) pair of ``group``: ``imagenet-c.fog.3``."""
    return f"{group}.{corruption}.{severity}"
