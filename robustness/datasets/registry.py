"""The catalogue of test sets: names, default folders, layouts, and how to open them.

A test set is found at ``<data_root>/<default_dir>`` (or one of ``alt_dirs``)
unless its folder is given explicitly (``root``). ImageNet-C is a family:
each (corruption, severity) is its own set, ``imagenet-c.<corruption>.<severity>``,
found under the ImageNet-C folder. ``imagenet-c-bar`` and ``imagenet-shifts`` are
families of the same shape, each in its own folder.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from corruptions.errors import UserInputError

from . import imagenet_c
from .base import LayoutError
from .catalogue import (
    SELECTIONS,
    SET_FACTS,
    SET_GROUPS,
    baseline_of,
    baselines_of,
    member_name,
    parse_set_name,
)
from .imagenet import NUM_VAL_IMAGES, VAL_LAYOUT, open_imagenet_val
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
    description: str
    alt_dirs: tuple[str, ...] = ()
    options: tuple[str, ...] = ("allow_partial",)
    """Keyword options ``open_test_set`` accepts for this set."""
    needs: tuple[str, ...] = ()
    """Other sets whose folders opening this one reads (objectnet-clean: objectnet's mappings)."""

    @property
    def baseline(self) -> str | None:
        """Set the accuracy gap is measured against (None for reference sets): the catalogue's."""
        return baseline_of(self.name)

    @property
    def num_classes(self) -> int:
        fact = SET_FACTS.get(self.name)
        return fact.num_classes if fact is not None else 1000

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
    DatasetSpec("imagenet", layout=VAL_LAYOUT,
                description="ImageNet-1k validation set (50,000 images), 1000-way.",
                options=VAL_OPTIONS, **_VAL_DIRS),
    DatasetSpec("imagenet-real", layout=VAL_LAYOUT + "  plus real.json (ReaL labels) in <root> or "
                "its parent; else timm's bundled copy\n",
                description="ImageNet val scored with ReaL multi-label annotations (46,837 images "
                "with at least one label); correct if the prediction is in the image's label set.",
                options=(*VAL_OPTIONS, "real_json"), **_VAL_DIRS),
    *[
        DatasetSpec(f"imagenetv2-{v}", default_dir=archive_folder(v), alt_dirs=(f"imagenetv2-{v}",),
                    layout=V2_LAYOUT,
                    description=f"ImageNetV2 {v} (10,000 re-collected images), 1000-way; "
                    "label = int(folder name).")
        for v in VARIANTS
    ],
    DatasetSpec(imagenet_c.FAMILY, default_dir="imagenet-c", alt_dirs=("ImageNet-C",),
                layout=imagenet_c.C_LAYOUT,
                description="ImageNet-C: one set per corruption and severity, named "
                "imagenet-c.<corruption>.<severity>; 'imagenet-c' expands to all pairs on disk."),
    DatasetSpec(imagenet_c.CBAR_FAMILY, default_dir="imagenet-c-bar", alt_dirs=("ImageNet-C-bar",),
                layout=imagenet_c.CBAR_LAYOUT,
                description="ImageNet-C-bar (Mintun et al. 2021): one set per corruption and "
                "severity, named imagenet-c-bar.<corruption>.<severity>, e.g. built with "
                "`python -m corruptions build VAL <data-root>/imagenet-c-bar --corruptions c-bar`; "
                "'imagenet-c-bar' expands to all pairs on disk."),
    DatasetSpec(imagenet_c.SHIFTS_FAMILY, default_dir="imagenet-shifts",
                layout=imagenet_c.SHIFTS_LAYOUT,
                description="The generator's albumentations shift ladders (rain, sun_flare, "
                "shadow, iso_noise, color_shift, downscale), named "
                "imagenet-shifts.<corruption>.<severity> (`--corruptions shifts` when building); "
                "'imagenet-shifts' expands to all pairs."),
    DatasetSpec(MEMORY_FAMILY, layout=VAL_LAYOUT,
                description="ImageNet-C rendered in memory from ImageNet val (builder geometry and "
                "seeds, numpy path, no JPEG encode: equal to `corruptions build --format png`, not to "
                "the published JPEGs), named imagenet-c-inmemory.<corruption>.<severity>; "
                "'imagenet-c-inmemory' expands to the 19 corruptions x 5 severities.",
                options=(*VAL_OPTIONS, "seed", "preset"), **_VAL_DIRS),
    DatasetSpec("imagenet-r", default_dir="imagenet-r", layout=SUBSET_LAYOUT,
                description="ImageNet-R renditions (30,000 images, 200 classes); arg-max over the "
                "200 classes."),
    DatasetSpec("imagenet-a", default_dir="imagenet-a", layout=SUBSET_LAYOUT,
                description="ImageNet-A natural adversarial examples (7,500 images, 200 classes); "
                "arg-max over the 200 classes."),
    DatasetSpec("imagenet-r-clean", layout=VAL_LAYOUT,
                description="ImageNet val restricted to ImageNet-R's 200 classes, same scoring.",
                options=VAL_OPTIONS, **_VAL_DIRS),
    DatasetSpec("imagenet-a-clean", layout=VAL_LAYOUT,
                description="ImageNet val restricted to ImageNet-A's 200 classes, same scoring.",
                options=VAL_OPTIONS, **_VAL_DIRS),
    DatasetSpec("imagenet-sketch", default_dir="imagenet-sketch", alt_dirs=("ImageNet-Sketch", "sketch"),
                layout=SKETCH_LAYOUT,
                description="ImageNet-Sketch (50,889 sketches), 1000-way."),
    DatasetSpec("objectnet", default_dir="objectnet-1.0", alt_dirs=("objectnet",),
                layout=OBJECTNET_LAYOUT,
                description="ObjectNet images of the 113 classes that map to ImageNet; correct if "
                "the prediction (restricted to mapped classes) is one of the class's ImageNet "
                "classes; 1-px border cropped.", options=("allow_partial", "border_px")),
    DatasetSpec("objectnet-clean", layout=VAL_LAYOUT + "  plus ObjectNet's mappings/ folder "
                "(from the objectnet root)\n",
                description="ImageNet val restricted to the ImageNet classes ObjectNet maps to, "
                "labelled and scored exactly like objectnet.",
                options=(*VAL_OPTIONS, "objectnet_root"), needs=("objectnet",), **_VAL_DIRS),
]

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}
"""All known test sets (each corruption family as one entry), keyed by name."""


def _spec_for(name: str) -> DatasetSpec:
    parsed = parse_set_name(name)
    if parsed.is_member:
        return DATASETS[parsed.group]
    family = parsed.group
    if family is not None:
        raise UserInputError(f"{name!r} is not a single test set: name one as "
                         f"{family}.<corruption>.<severity>, or expand family names with "
                         "expand_dataset_names.")
    if name in DATASETS:
        return DATASETS[name]
    families = tuple(SET_GROUPS)
    known = ", ".join(n for n in DATASETS if n not in families)
    close = difflib.get_close_matches(name, [*DATASETS, *families], n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UserInputError(f"unknown test set {name!r}.{hint} Known: {known}, and "
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
        raise UserInputError(f"test set {name}: unknown option(s) {', '.join(unknown)}; accepted: "
                             f"{', '.join(spec.options)} (--dataset-option {name}:KEY=VALUE)")
    data_root = Path(data_root) if data_root is not None else None
    set_root = resolve_root(spec, data_root, Path(root) if root is not None else None, name)
    parsed = parse_set_name(name)
    if parsed.is_member:
        family, corruption, severity = parsed.group, parsed.corruption, parsed.severity
        if family == MEMORY_FAMILY:
            return open_imagenet_c_inmemory(set_root, corruption, severity, **options)
        return imagenet_c.open_imagenet_c(set_root, corruption, severity, family=family, **options)
    if name == "objectnet-clean" and options.get("objectnet_root") is None:
        options["objectnet_root"] = resolve_root(DATASETS["objectnet"], data_root, None, "objectnet")
    return _openers()[name](set_root, **options)


def expand_dataset_names(names: list[str], data_root: Path | str | None,
                         roots: Mapping[str, Path | str] | None = None,
                         with_baselines: bool = False) -> list[str]:
    """Expand family names into concrete test-set names, keeping order and dropping repeats.

    ``imagenet-c`` becomes every ``imagenet-c.<corruption>.<severity>`` found on
    disk (benchmark corruptions in paper order, then held-out ones, then others
    A-Z; severities ascending); ``imagenet-c.<corruption>`` becomes its severities.
    ``imagenet-c-bar`` and ``imagenet-shifts`` expand the same way from their folders;
    ``default`` stands for the catalogue's published benchmarks (``SELECTIONS``).
    Other names are checked and kept. ``roots`` maps a name to an explicit folder.
    With ``with_baselines``, the baseline of every set is added after the sets that need it
    (``imagenet-r`` brings ``imagenet-r-clean``, ``imagenet-c.*`` brings ``imagenet``), so
    that every gap the list implies can be computed.
    """
    roots = dict(roots or {})
    out: list[str] = []
    names = [member for name in names for member in SELECTIONS.get(name, (name,))]
    for name in names:
        family = parse_set_name(name).group
        if family == MEMORY_FAMILY and name.count(".") <= 1:  # rendered, nothing to list on disk
            from corruptions import ALL

            corruption = name.split(".", 1)[1] if "." in name else None
            chosen = [corruption] if corruption else [c for c in imagenet_c.COMMON_CORRUPTIONS
                                                      + imagenet_c.HELD_OUT_CORRUPTIONS if c in ALL]
            expanded = [member_name(c, s, family) for c in chosen for s in range(1, 6)]
        elif family is not None and name.count(".") <= 1:
            corruption = name.split(".", 1)[1] if "." in name else None
            c_root = resolve_root(DATASETS[family], Path(data_root) if data_root is not None else None,
                                  roots.get(name, roots.get(family)), name)
            units = imagenet_c.units_on_disk(c_root, corruption, family)
            if not units:
                if corruption is not None and not imagenet_c.belongs_to(corruption, family):
                    imagenet_c.open_imagenet_c(c_root, corruption, 1, family=family)  # explains
                raise missing_root_error(name, [c_root / (corruption or "<corruption>") / "<severity>"])
            expanded = [member_name(c, s, family) for c, s in units]
        else:
            _spec_for(name)
            expanded = [name]
        out.extend(n for n in expanded if n not in out)
    if with_baselines:
        out.extend(dict.fromkeys(b for b in baselines_of(out) if b not in out))
    return out




STATES = ("complete", "partial", "missing", "unreadable")
"""What ``robustness datasets --data-root`` says about each catalogue entry."""

PARTIAL_EVAL_HINT = "`robustness eval` refuses incomplete sets unless given --allow-partial"


@dataclass(frozen=True)
class SetStatus:
    """The state of one catalogue entry under a data root, found by opening it as ``eval`` does."""

    state: str
    """One of :data:`STATES`."""
    detail: str = ""
    """partial: ``8 of 1000 classes``; unreadable: the first line of the layout error."""
    folder: Path | None = None
    """The folder the set was looked up in (None when missing)."""
    notes: tuple[str, ...] = ()
    """Further lines: the sets of a family that are not complete, the --allow-partial hint."""

    def headline(self) -> str:
        """``complete``, ``partial (8 of 1000 classes)``, ``missing``, ``unreadable: <why>``."""
        if self.state == "unreadable":
            return f"unreadable: {self.detail}"
        return f"{self.state} ({self.detail})" if self.detail else self.state

    def describe(self) -> str:
        lines = [f"  status: {self.headline()}"]
        if self.folder is not None:
            lines.append(f"  read from: {self.folder}")
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


def _first_line(exc: BaseException) -> str:
    """An error's first line; one ending in ':' ("Looked for:") is completed by the next line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]


def _coverage(spec: DatasetSpec, opened, val_cache: dict[Path, TestSet]) -> str:
    """How much of a set an ``allow_partial`` open found, counted as its reader counts
    completeness: class folders, or files for a flat ImageNet val (the val reader knows
    the official count). Sets read through the val reader are counted on the val folder,
    which is what that reader checks."""
    if spec.layout.startswith(VAL_LAYOUT):
        root = Path(opened.info.root)
        if root not in val_cache:
            val_cache[root] = open_imagenet_val(root, allow_partial=True)
        val = val_cache[root]
        where = "" if spec.name == "imagenet" else " in the ImageNet val folder"
        if val.relpaths and all("/" not in p for p in val.relpaths):  # flat layout
            return f"{len(val)} of {NUM_VAL_IMAGES} files{where}"
        return f"{len(set(val.labels.tolist()))} of {DATASETS['imagenet'].num_classes} classes{where}"
    scoring = opened.info.scoring
    if scoring.label_targets is not None:  # ObjectNet: the classes its mapping files list
        expected = len(scoring.label_targets)
    elif scoring.class_subset is not None:
        expected = len(scoring.class_subset)
    else:
        expected = spec.num_classes
    return f"{len(set(opened.labels.tolist()))} of {expected} classes"


def _set_status(name: str, spec: DatasetSpec, data_root: Path,
                val_cache: dict[Path, TestSet]) -> SetStatus:  # fmt: skip
    """Open ``name`` exactly as ``robustness eval`` would, then with ``allow_partial``."""
    try:
        folder = resolve_root(spec, data_root, None, name)
    except LayoutError:
        return SetStatus("missing")
    for other in spec.needs:
        try:
            resolve_root(DATASETS[other], data_root, None, other)
        except LayoutError:
            return SetStatus("missing", f"it needs the {other} folder too, which is missing", folder)
    try:
        open_test_set(name, data_root)
        return SetStatus("complete", folder=folder)
    except (LayoutError, OSError):
        pass
    try:
        opened = open_test_set(name, data_root, allow_partial=True)
    except (LayoutError, OSError) as exc:
        return SetStatus("unreadable", _first_line(exc), folder)
    return SetStatus("partial", _coverage(spec, opened, val_cache), folder, (PARTIAL_EVAL_HINT,))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _family_status(spec: DatasetSpec, data_root: Path, val_cache: dict[Path, TestSet]) -> SetStatus:
    """A corruption family on disk: every set ``eval`` would expand it to, each opened."""
    try:
        folder = resolve_root(spec, data_root, None, spec.name)
    except LayoutError:
        return SetStatus("missing")
    try:
        names = expand_dataset_names([spec.name], data_root)
    except LayoutError as exc:  # the folder holds no <corruption>/<severity>/ sets
        return SetStatus("unreadable", _first_line(exc), folder)
    units = {name: _set_status(name, spec, data_root, val_cache) for name in names}
    failed = [n for n, s in units.items() if s.state == "unreadable"]
    partial = [n for n, s in units.items() if s.state == "partial"]
    shown = (failed + partial)[:5]
    notes = [f"{n}: {units[n].headline()}" for n in shown]
    if len(failed) + len(partial) > len(shown):
        notes.append(f"... and {len(failed) + len(partial) - len(shown)} more")
    if failed:
        return SetStatus("unreadable", f"{len(failed)} of {_count(len(names), 'set')} cannot be opened",
                         folder, tuple(notes))  # fmt: skip
    if partial:
        return SetStatus("partial", f"{len(partial)} of {_count(len(names), 'set')} incomplete", folder,
                         (*notes, PARTIAL_EVAL_HINT))  # fmt: skip
    corruptions = {parse_set_name(n).corruption for n in names}
    return SetStatus("complete", f"{_count(len(names), 'set')} of {_count(len(corruptions), 'corruption')}",
                     folder)  # fmt: skip


def _check_data_root(data_root: Path | str) -> Path:
    data_root = Path(data_root)
    if not data_root.is_dir():
        what = "is a file, not a folder" if data_root.exists() else "does not exist"
        raise UserInputError(
            f"--data-root {data_root} {what}; expected the folder that holds the test sets' "
            "folders (imagenet/val, imagenet-c, imagenet-r, ...). Pass an existing folder, or "
            "leave out --data-root to print the catalogue alone.")
    return data_root


def catalogue_status(data_root: Path | str) -> dict[str, SetStatus]:
    """Each catalogue entry's :class:`SetStatus` under ``data_root``: the set is opened by
    :func:`open_test_set` (families: every set :func:`expand_dataset_names` finds) first as
    ``eval`` opens it, then with ``allow_partial``. Raises :class:`UserInputError` when
    ``data_root`` is not a folder."""
    data_root = _check_data_root(data_root)
    val_cache: dict[Path, TestSet] = {}
    out = {}
    for spec in DATASETS.values():
        if spec.name in imagenet_c.FAMILIES:
            out[spec.name] = _family_status(spec, data_root, val_cache)
        elif spec.name == MEMORY_FAMILY:  # rendered from val: one of its sets stands for all
            first = expand_dataset_names([MEMORY_FAMILY], None)[0]
            out[spec.name] = _set_status(first, spec, data_root, val_cache)
        else:
            out[spec.name] = _set_status(spec.name, spec, data_root, val_cache)
    return out


def format_catalogue(data_root: Path | str | None = None) -> str:
    """Human-readable list of all sets and their expected layout; with ``data_root``, also each
    set's status there (see :func:`catalogue_status`) and a one-line summary."""
    statuses = catalogue_status(data_root) if data_root is not None else {}
    blocks = []
    for spec in DATASETS.values():
        block = f"== {spec.name}\n{spec.describe()}"
        status = statuses.get(spec.name)
        if status is not None:
            block += "\n" + status.describe()
            if status.folder is not None and spec.name in imagenet_c.FAMILIES:
                for corruption, owner in imagenet_c.foreign_corruptions(status.folder, spec.name).items():
                    block += (f"\n  not read here: {corruption}/ is an {owner} corruption; "
                              f"move it to <data-root>/{owner}")
        blocks.append(block)
    text = "\n\n".join(blocks) + "\n"
    if data_root is not None:
        counts = {state: sum(s.state == state for s in statuses.values()) for state in STATES}
        summary = ", ".join(f"{counts[state]} {state}" for state in STATES
                            if counts[state] or state != "unreadable")
        text += f"\nsummary for {Path(data_root)}: {summary}\n"
    return text
