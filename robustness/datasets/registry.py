"""The catalogue of test sets: names, default folders, layouts, and how to open them.

A test set is found at ``<data_root>/<default_dir>`` (or one of ``alt_dirs``)
unless its folder is given explicitly (``root``). ImageNet-C is a family:
each (corruption, severity) is its own set, ``imagenet-c.<corruption>.<severity>``,
found under the ImageNet-C folder. ``imagenet-c-bar`` and ``imagenet-shifts`` are
families of the same shape, each in its own folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import imagenet_c
from .base import LayoutError
from .imagenet import VAL_LAYOUT, open_imagenet_val
from .imagenetv2 import V2_LAYOUT, VARIANTS, archive_folder, open_imagenetv2
from .memory import MEMORY_FAMILY, open_imagenet_c_inmemory
from .objectnet import OBJECTNET_LAYOUT, open_objectnet, open_objectnet_clean
from .real import open_imagenet_real
from .renditions import (
    SKETCH_LAYOUT,
    SUBSET_LAYOUT,
    open_class_matched_val,
    open_imagenet_sketch,
    open_subset_set,
)
from .testset import ROOT_OPTIONS_HINT, TestSet, missing_root_error

VAL_OPTIONS = ("allow_partial", "solution_csv", "ground_truth", "meta_mat")


@dataclass(frozen=True)
class DatasetSpec:
    """What a test set is called, where it lives under the data root, and what it looks like."""

    name: str
    default_dir: str
    """Folder under ``data_root``; ``alt_dirs`` are tried after it."""
    layout: str
    """The on-disk tree the reader expects (shown by ``robustness datasets`` and in errors)."""
    num_classes: int
    baseline: str | None
    """Set the accuracy gap is measured against (None for reference sets)."""
    description: str
    alt_dirs: tuple[str, ...] = ()
    options: tuple[str, ...] = ("allow_partial",)
    """Keyword options ``open_test_set`` accepts for this set."""

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


_VAL_DIRS = dict(default_dir="imagenet/val", alt_dirs=("val", "ILSVRC2012_img_val", "imagenet-val"))

_SPECS = [
    DatasetSpec("imagenet", layout=VAL_LAYOUT, num_classes=1000, baseline=None,
                description="ImageNet-1k validation set (50,000 images), 1000-way.",
                options=VAL_OPTIONS, **_VAL_DIRS),
    DatasetSpec("imagenet-real", layout=VAL_LAYOUT + "  plus real.json (ReaL labels) in <root> or "
                "its parent; else timm's bundled copy\n", num_classes=1000, baseline=None,
                description="ImageNet val scored with ReaL multi-label annotations (46,837 images "
                "with at least one label); correct if the prediction is in the image's label set.",
                options=(*VAL_OPTIONS, "real_json"), **_VAL_DIRS),
    *[
        DatasetSpec(f"imagenetv2-{v}", default_dir=archive_folder(v), alt_dirs=(f"imagenetv2-{v}",),
                    layout=V2_LAYOUT, num_classes=1000, baseline="imagenet",
                    description=f"ImageNetV2 {v} (10,000 re-collected images), 1000-way; "
                    "label = int(folder name).")
        for v in VARIANTS
    ],
    DatasetSpec(imagenet_c.FAMILY, default_dir="imagenet-c", alt_dirs=("ImageNet-C",),
                layout=imagenet_c.C_LAYOUT, num_classes=1000, baseline="imagenet",
                description="ImageNet-C: one set per corruption and severity, named "
                "imagenet-c.<corruption>.<severity>; 'imagenet-c' expands to all pairs on disk."),
    DatasetSpec(imagenet_c.CBAR_FAMILY, default_dir="imagenet-c-bar", alt_dirs=("ImageNet-C-bar",),
                layout=imagenet_c.CBAR_LAYOUT, num_classes=1000, baseline="imagenet",
                description="ImageNet-C-bar (Mintun et al. 2021): one set per corruption and "
                "severity, named imagenet-c-bar.<corruption>.<severity>, e.g. built with "
                "`python -m corruptions build VAL <data-root>/imagenet-c-bar --corruptions c-bar`; "
                "'imagenet-c-bar' expands to all pairs on disk."),
    DatasetSpec(imagenet_c.SHIFTS_FAMILY, default_dir="imagenet-shifts",
                layout=imagenet_c.SHIFTS_LAYOUT, num_classes=1000, baseline="imagenet",
                description="The generator's albumentations shift ladders (rain, sun_flare, "
                "shadow, iso_noise, color_shift, downscale), named "
                "imagenet-shifts.<corruption>.<severity> (`--corruptions shifts` when building); "
                "'imagenet-shifts' expands to all pairs."),
    DatasetSpec(MEMORY_FAMILY, layout=VAL_LAYOUT, num_classes=1000, baseline="imagenet",
                description="ImageNet-C rendered in memory from ImageNet val (builder geometry and "
                "seeds, numpy path, no JPEG encode: equal to `corruptions build --format png`, not to "
                "the published JPEGs), named imagenet-c-inmemory.<corruption>.<severity>; "
                "'imagenet-c-inmemory' expands to the 19 corruptions x 5 severities.",
                options=(*VAL_OPTIONS, "seed", "preset"), **_VAL_DIRS),
    DatasetSpec("imagenet-r", default_dir="imagenet-r", layout=SUBSET_LAYOUT, num_classes=200,
                baseline="imagenet-r-clean",
                description="ImageNet-R renditions (30,000 images, 200 classes); arg-max over the "
                "200 classes."),
    DatasetSpec("imagenet-a", default_dir="imagenet-a", layout=SUBSET_LAYOUT, num_classes=200,
                baseline="imagenet-a-clean",
                description="ImageNet-A natural adversarial examples (7,500 images, 200 classes); "
                "arg-max over the 200 classes."),
    DatasetSpec("imagenet-r-clean", layout=VAL_LAYOUT, num_classes=200, baseline=None,
                description="ImageNet val restricted to ImageNet-R's 200 classes, same scoring.",
                options=VAL_OPTIONS, **_VAL_DIRS),
    DatasetSpec("imagenet-a-clean", layout=VAL_LAYOUT, num_classes=200, baseline=None,
                description="ImageNet val restricted to ImageNet-A's 200 classes, same scoring.",
                options=VAL_OPTIONS, **_VAL_DIRS),
    DatasetSpec("imagenet-sketch", default_dir="imagenet-sketch", alt_dirs=("ImageNet-Sketch", "sketch"),
                layout=SKETCH_LAYOUT, num_classes=1000, baseline="imagenet",
                description="ImageNet-Sketch (50,889 sketches), 1000-way."),
    DatasetSpec("objectnet", default_dir="objectnet-1.0", alt_dirs=("objectnet",),
                layout=OBJECTNET_LAYOUT, num_classes=113, baseline="objectnet-clean",
                description="ObjectNet images of the 113 classes that map to ImageNet; correct if "
                "the prediction (restricted to mapped classes) is one of the class's ImageNet "
                "classes; 1-px border cropped.", options=("allow_partial", "border_px")),
    DatasetSpec("objectnet-clean", layout=VAL_LAYOUT + "  plus ObjectNet's mappings/ folder "
                "(from the objectnet root)\n", num_classes=113, baseline=None,
                description="ImageNet val restricted to the ImageNet classes ObjectNet maps to, "
                "labelled and scored exactly like objectnet.",
                options=(*VAL_OPTIONS, "objectnet_root"), **_VAL_DIRS),
]

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}
"""All known test sets (each corruption family as one entry), keyed by name."""


def _family_of(name: str) -> str | None:
    """The corruption family ``name`` names or starts with (``imagenet-c``, ``imagenet-c.fog``)."""
    for family in (*imagenet_c.FAMILIES, MEMORY_FAMILY):
        if name == family or name.startswith(family + "."):
            return family
    return None


def _spec_for(name: str) -> DatasetSpec:
    unit = imagenet_c.parse_family_unit(name)
    if unit is not None:
        return DATASETS[unit[0]]
    family = _family_of(name)
    if family is not None:
        raise ValueError(f"{name!r} is not a single test set: name one as "
                         f"{family}.<corruption>.<severity>, or expand family names with "
                         "expand_dataset_names.")
    if name in DATASETS:
        return DATASETS[name]
    families = (*imagenet_c.FAMILIES, MEMORY_FAMILY)
    known = ", ".join(n for n in DATASETS if n not in families)
    raise ValueError(f"unknown test set {name!r}. Known: {known}, and "
                     "<family>.<corruption>.<severity> for the families "
                     f"{', '.join(families)} (see `robustness datasets`).")


def resolve_root(spec: DatasetSpec, data_root: Path | None, root: Path | None, name: str) -> Path:
    """The folder of a set: ``root`` if given, else the first existing default under ``data_root``."""
    if root is not None:
        if not Path(root).is_dir():
            raise missing_root_error(name, [Path(root)])
        return Path(root)
    if data_root is None:
        raise LayoutError(f"{name}: no data root given. " + ROOT_OPTIONS_HINT.format(name=name))
    candidates = spec.candidate_roots(Path(data_root))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise missing_root_error(name, candidates)


def _openers() -> dict[str, Callable[..., TestSet]]:
    openers: dict[str, Callable[..., TestSet]] = {
        "imagenet": open_imagenet_val,
        "imagenet-real": open_imagenet_real,
        "imagenet-r": lambda root, **o: open_subset_set(root, "imagenet-r", **o),
        "imagenet-a": lambda root, **o: open_subset_set(root, "imagenet-a", **o),
        "imagenet-r-clean": lambda root, **o: open_class_matched_val(root, "imagenet-r", **o),
        "imagenet-a-clean": lambda root, **o: open_class_matched_val(root, "imagenet-a", **o),
        "imagenet-sketch": open_imagenet_sketch,
        "objectnet": open_objectnet,
        "objectnet-clean": open_objectnet_clean,
    }
    for v in VARIANTS:
        openers[f"imagenetv2-{v}"] = lambda root, v=v, **o: open_imagenetv2(root, v, **o)
    return openers


def open_test_set(name: str, data_root: Path | str | None, root: Path | str | None = None,
                  **options) -> TestSet:
    """Open test set ``name``, found under ``data_root`` unless ``root`` gives its folder.

    ``options`` are set-specific (see ``DATASETS[name].options``), e.g.
    ``allow_partial=True`` to accept an incomplete copy. For ImageNet-C sets,
    ``root`` is the ImageNet-C folder (holding the corruption folders).
    Raises :class:`LayoutError` for missing folders and wrong layouts.
    """
    spec = _spec_for(name)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise ValueError(f"{name}: unknown option(s) {unknown}; accepted: {list(spec.options)}")
    data_root = Path(data_root) if data_root is not None else None
    set_root = resolve_root(spec, data_root, Path(root) if root is not None else None, name)
    unit = imagenet_c.parse_family_unit(name)
    if unit is not None:
        family, corruption, severity = unit
        if family == MEMORY_FAMILY:
            return open_imagenet_c_inmemory(set_root, corruption, severity, **options)
        return imagenet_c.open_imagenet_c(set_root, corruption, severity, family=family, **options)
    if name == "objectnet-clean" and options.get("objectnet_root") is None:
        options["objectnet_root"] = resolve_root(DATASETS["objectnet"], data_root, None, "objectnet")
    return _openers()[name](set_root, **options)


def expand_dataset_names(names: list[str], data_root: Path | str | None,
                         roots: Mapping[str, Path | str] | None = None) -> list[str]:
    """Expand family names into concrete test-set names, keeping order and dropping repeats.

    ``imagenet-c`` becomes every ``imagenet-c.<corruption>.<severity>`` found on
    disk (benchmark corruptions in paper order, then held-out ones, then others
    A-Z; severities ascending); ``imagenet-c.<corruption>`` becomes its severities.
    ``imagenet-c-bar`` and ``imagenet-shifts`` expand the same way from their folders.
    Other names are checked and kept. ``roots`` maps a name to an explicit folder.
    """
    roots = dict(roots or {})
    out: list[str] = []
    for name in names:
        family = _family_of(name)
        if family == MEMORY_FAMILY and name.count(".") <= 1:  # rendered, nothing to list on disk
            from corruptions import ALL

            corruption = name.split(".", 1)[1] if "." in name else None
            chosen = [corruption] if corruption else [c for c in imagenet_c.COMMON_CORRUPTIONS
                                                      + imagenet_c.HELD_OUT_CORRUPTIONS if c in ALL]
            expanded = [imagenet_c.unit_name(c, s, family) for c in chosen for s in range(1, 6)]
        elif family is not None and name.count(".") <= 1:
            corruption = name.split(".", 1)[1] if "." in name else None
            c_root = resolve_root(DATASETS[family], Path(data_root) if data_root is not None else None,
                                  roots.get(name, roots.get(family)), name)
            units = imagenet_c.units_on_disk(c_root, corruption, family)
            if not units:
                if corruption is not None and not imagenet_c.belongs_to(corruption, family):
                    imagenet_c.open_imagenet_c(c_root, corruption, 1, family=family)  # explains
                raise missing_root_error(name, [c_root / (corruption or "<corruption>") / "<severity>"])
            expanded = [imagenet_c.unit_name(c, s, family) for c, s in units]
        else:
            _spec_for(name)
            expanded = [name]
        out.extend(n for n in expanded if n not in out)
    return out


def format_catalogue(data_root: Path | str | None = None) -> str:
    """Human-readable list of all sets, their expected layout, and whether they were found."""
    blocks = []
    for spec in DATASETS.values():
        block = f"== {spec.name}\n{spec.describe()}"
        if data_root is not None:
            found = [p for p in spec.candidate_roots(Path(data_root)) if p.is_dir()]
            block += f"\n  found: {found[0]}" if found else "\n  found: no"
            if found and spec.name in imagenet_c.FAMILIES:
                for corruption, owner in imagenet_c.foreign_corruptions(found[0], spec.name).items():
                    block += (f"\n  not read here: {corruption}/ is an {owner} corruption; "
                              f"move it to <data-root>/{owner}")
        blocks.append(block)
    return "\n\n".join(blocks) + "\n"
