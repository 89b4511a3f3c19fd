"""Opening test sets by name: folders under the data root, options, set-group expansion, and
what ``robustness datasets`` reports. Knows no set by name: every fact comes from the
catalogue (:mod:`.catalogue`), every opener from the spec next to it.

A test set is found at ``<data_root>/<default_dir>`` (or one of ``alt_dirs``) unless its
folder is given explicitly (``root``). A set group (ImageNet-C, ...) is one folder holding
all its (corruption, severity) sets, each opened as ``<group>.<corruption>.<severity>``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from corruptions.errors import UserInputError

from . import imagenet_c
from .base import LayoutError
from .catalogue import (
    ALL_SETS,
    SELECTION_NAMES,
    SET_GROUPS,
    TEST_SETS,
    baseline_of,
    baselines_of,
    member_name,
    parse_set_name,
    selection,
)
from .imagenet import NUM_VAL_IMAGES, VAL_LAYOUT, open_imagenet_val
from .spec import FolderSpec, SetGroup
from .testset import ROOT_OPTIONS_HINT, TestSet, missing_root_error

DATASETS = ALL_SETS
"""Every catalogue entry (plain sets and set groups) by name: :data:`.catalogue.ALL_SETS`."""


def _spec_for(name: str) -> FolderSpec:
    parsed = parse_set_name(name)
    if parsed.is_member:
        return SET_GROUPS[parsed.group]
    if parsed.group is not None:
        raise UserInputError(f"{name!r} is not a single test set: name one as "
                             f"{parsed.group}.<corruption>.<severity>, or expand set-group names "
                             "with expand_dataset_names.")
    if name in TEST_SETS:
        return TEST_SETS[name]
    groups = tuple(SET_GROUPS)
    known = ", ".join(TEST_SETS)
    close = difflib.get_close_matches(name, [*ALL_SETS, *SELECTION_NAMES], n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UserInputError(f"unknown test set {name!r}.{hint} Known: {known}, and "
                         "<group>.<corruption>.<severity> for the set groups "
                         f"{', '.join(groups)} (see `robustness datasets`).")


def resolve_root(spec: FolderSpec, data_root: Path | None, root: Path | None, name: str) -> Path:
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


def open_test_set(name: str, data_root: Path | str | None, root: Path | str | None = None,
                  **options) -> TestSet:
    """Open test set ``name``, found under ``data_root`` unless ``root`` gives its folder.

    ``options`` are set-specific (see ``DATASETS[name].options``), e.g.
    ``allow_partial=True`` to accept an incomplete copy. For a set group's member,
    ``root`` is the group's folder (holding the corruption folders). The returned set's
    ``info.baseline`` is the catalogue's. Raises :class:`LayoutError` for missing folders
    and wrong layouts.
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
        opened = spec.opener(set_root, parsed.corruption, parsed.severity, **options)
    else:
        for other in spec.needs:  # objectnet-clean reads objectnet's mapping files
            key = f"{other.replace('-', '_')}_root"
            if options.get(key) is None:
                options[key] = resolve_root(ALL_SETS[other], data_root, None, other)
        opened = spec.opener(set_root, **options)
    opened.info = replace(opened.info, baseline=baseline_of(name))
    return opened


def expand_dataset_names(names: list[str], data_root: Path | str | None,
                         roots: Mapping[str, Path | str] | None = None,
                         with_baselines: bool = False) -> list[str]:
    """Expand selections and set-group names into concrete test-set names, keeping order and
    dropping repeats.

    ``imagenet-c`` becomes every ``imagenet-c.<corruption>.<severity>`` found on disk (in
    the order the group lists them: benchmark corruptions in paper order, then held-out
    ones, then others A-Z; severities ascending); ``imagenet-c.<corruption>`` becomes its
    severities; a group rendered in memory lists its members without looking at the disk.
    ``default`` stands for the catalogue's published benchmarks. Other names are checked
    and kept. ``roots`` maps a name to an explicit folder. With ``with_baselines``, the
    baseline of every set is added after the sets that need it (``imagenet-r`` brings
    ``imagenet-r-clean``, ``imagenet-c.*`` brings ``imagenet``), so that every gap the list
    implies can be computed, and the in-distribution set of an out-of-distribution one
    (``imagenet-o`` brings ``imagenet-o-clean``).
    """
    roots = dict(roots or {})
    out: list[str] = []
    names = [member for name in names for member in (selection(name) or (name,))]
    for name in names:
        parsed = parse_set_name(name)
        if parsed.is_group_selection:
            group = SET_GROUPS[parsed.group]
            corruption = parsed.corruption
            if group.on_disk:
                folder = resolve_root(group, Path(data_root) if data_root is not None else None,
                                      roots.get(name, roots.get(group.name)), name)
            else:
                folder = None
            units = group.members(folder, corruption)
            if not units:
                if corruption is not None:  # the opener says why: another group's, or missing
                    group.opener(folder, corruption, 1)
                raise missing_root_error(name, [Path(folder or ".") / (corruption or "<corruption>")
                                                / "<severity>"])
            expanded = [member_name(c, s, group.name) for c, s in units]
        else:
            _spec_for(name)
            expanded = [name]
        out.extend(n for n in expanded if n not in out)
    if with_baselines:
        needed = baselines_of(out) + [s.in_distribution for name in out
                                      if (s := TEST_SETS.get(name)) is not None and s.in_distribution]
        out.extend(dict.fromkeys(b for b in needed if b not in out))
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
    """Further lines: the sets of a group that are not complete, the --allow-partial hint."""

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


def _coverage(spec: FolderSpec, opened, val_cache: dict[Path, TestSet]) -> str:
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
        return f"{len(set(val.labels.tolist()))} of {ALL_SETS['imagenet'].num_classes} classes{where}"
    scoring = opened.info.scoring
    if scoring.label_targets is not None:  # ObjectNet: the classes its mapping files list
        expected = len(scoring.label_targets)
    elif scoring.class_subset is not None:
        expected = len(scoring.class_subset)
    else:
        expected = spec.num_classes
    return f"{len(set(opened.labels.tolist()))} of {expected} classes"


def _set_status(name: str, spec: FolderSpec, data_root: Path,
                val_cache: dict[Path, TestSet]) -> SetStatus:  # fmt: skip
    """Open ``name`` exactly as ``robustness eval`` would, then with ``allow_partial``."""
    try:
        folder = resolve_root(spec, data_root, None, name)
    except LayoutError:
        return SetStatus("missing")
    for other in spec.needs:
        try:
            resolve_root(ALL_SETS[other], data_root, None, other)
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


def _group_status(spec: SetGroup, data_root: Path, val_cache: dict[Path, TestSet]) -> SetStatus:
    """A set group on disk: every set ``eval`` would expand it to, each opened."""
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
    for spec in ALL_SETS.values():
        if isinstance(spec, SetGroup) and spec.on_disk:
            out[spec.name] = _group_status(spec, data_root, val_cache)
        elif isinstance(spec, SetGroup):  # rendered from another folder: one set stands for all
            first = expand_dataset_names([spec.name], None)[0]
            out[spec.name] = _set_status(first, spec, data_root, val_cache)
        else:
            out[spec.name] = _set_status(spec.name, spec, data_root, val_cache)
    return out


def format_catalogue(data_root: Path | str | None = None) -> str:
    """Human-readable list of all sets and their expected layout; with ``data_root``, also each
    set's status there (see :func:`catalogue_status`) and a one-line summary."""
    statuses = catalogue_status(data_root) if data_root is not None else {}
    blocks = []
    for spec in ALL_SETS.values():
        block = f"== {spec.name}\n{spec.describe()}"
        status = statuses.get(spec.name)
        if status is not None:
            block += "\n" + status.describe()
            if status.folder is not None and isinstance(spec, SetGroup) and spec.on_disk:
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
