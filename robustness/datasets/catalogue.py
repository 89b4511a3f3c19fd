"""The test-set catalogue: every set and set group the harness knows, and its facts.

Each reader module defines the specs of the sets it opens (:mod:`.spec`: folder, layout,
opener, baseline, class and image counts), next to the opener; this module collects them
once, in :data:`BUILTIN_READERS` order, and :func:`register_test_set` adds a user's own
(a duplicate name is an error). Every other module asks the catalogue: names are parsed by
:func:`parse_set_name` only, baselines come from :func:`baseline_of`, and the set groups
from :data:`SET_GROUPS`. Importing it reads no file and imports no torch.

A test set is named either plainly (``imagenet``, ``imagenet-r``) or as one
(corruption, severity) pair of a *set group*: ``<group>.<corruption>.<severity>``
(``imagenet-c.fog.3``), the imagenet-testbed naming.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corruptions.errors import UserInputError

from . import (
    imagenet,
    imagenet_c,
    imagenet_o,
    imagenet_p,
    imagenetv2,
    memory,
    objectnet,
    real,
    renditions,
)
from .spec import FolderSpec, SetGroup, TestSetSpec
from .spec import member_name as _member_name

BUILTIN_READERS = (imagenet, real, imagenetv2, imagenet_c, memory, imagenet_p, renditions,
                   objectnet, imagenet_o)
"""The reader modules whose ``SPECS`` make the built-in catalogue (in ``robustness datasets``
order). A new built-in reader adds its module here; a user's own set calls
:func:`register_test_set` instead."""

TEST_SETS: dict[str, TestSetSpec] = {}
"""Every plain test set, by name."""
SET_GROUPS: dict[str, SetGroup] = {}
"""Every set group, by name."""
ALL_SETS: dict[str, FolderSpec] = {}
"""Both, in registration order (``robustness datasets`` lists them so)."""


def register_test_set(spec: TestSetSpec | SetGroup) -> TestSetSpec | SetGroup:
    """Add a test set (or set group) to the catalogue; ``robustness eval``, the tables and the
    report then know it by name. A name already registered is an error."""
    if spec.name in TEST_SETS or spec.name in SET_GROUPS:
        raise ValueError(f"test set {spec.name!r} registered twice")
    if not isinstance(spec, (TestSetSpec, SetGroup)):
        raise TypeError(f"register_test_set takes a TestSetSpec or SetGroup, got {type(spec).__name__}")
    (SET_GROUPS if isinstance(spec, SetGroup) else TEST_SETS)[spec.name] = spec
    ALL_SETS[spec.name] = spec
    return spec


def unregister_test_set(name: str) -> None:
    """Remove a set added with :func:`register_test_set` (tests, notebooks)."""
    for table in (TEST_SETS, SET_GROUPS, ALL_SETS):
        table.pop(name, None)


for _module in BUILTIN_READERS:
    for _spec in _module.SPECS:
        register_test_set(_spec)

IMAGENET_C = imagenet_c.IMAGENET_C
IMAGENET_C_BAR = imagenet_c.IMAGENET_C_BAR
IMAGENET_SHIFTS = imagenet_c.IMAGENET_SHIFTS
IMAGENET_C_INMEMORY = memory.IMAGENET_C_INMEMORY


def folder_specs() -> dict[str, FolderSpec]:
    """Every catalogue entry (plain sets and groups), in registration order."""
    return dict(ALL_SETS)


def default_selection() -> tuple[str, ...]:
    """``--test-sets default``: the published benchmarks (specs with ``in_default``)."""
    return tuple(name for name, spec in folder_specs().items() if spec.in_default)


SELECTION_NAMES = ("default",)
"""Names that stand for several sets."""


def selection(name: str) -> tuple[str, ...] | None:
    """The sets a selection name stands for, or None when ``name`` is not one."""
    return default_selection() if name == "default" else None


def baseline_sets() -> frozenset[str]:
    """Sets that other sets are measured against."""
    return frozenset({s.baseline for s in TEST_SETS.values() if s.baseline}
                     | {g.baseline for g in SET_GROUPS.values() if g.baseline and g.measured_against_baseline})


def baseline_of(name: str) -> str | None:
    """The set ``name``'s gap is measured against; None for a baseline or an unknown name."""
    group = group_of(name)
    if group is not None:
        return group.baseline if group.measured_against_baseline else None
    spec = TEST_SETS.get(name)
    return spec.baseline if spec is not None else None


def baselines_of(names: list[str]) -> list[str]:
    """The baselines the gaps of ``names`` need, in order of first need, without repeats."""
    return list(dict.fromkeys(b for b in map(baseline_of, names) if b is not None))


def published_images(name: str) -> int | None:
    """Images in the published set ``name`` (for tables without per-image counts), or None."""
    group = group_of(name)
    if group is not None:
        return group.member_images
    spec = TEST_SETS.get(name)
    return spec.num_images if spec is not None else None


def paired_baselines() -> dict[str, str]:
    """Sets that re-score another set's images (ReaL: val's) -> that set."""
    return {s.name: s.same_images_as for s in TEST_SETS.values() if s.same_images_as}


def root_names(name: str) -> tuple[str, ...]:
    """The names whose ``--root NAME=PATH`` gives the folder of set ``name``, most specific
    first: the set, then its group, then (for a group rendered from another set's folder,
    like ImageNet-C in memory) that set."""
    group = group_of(name)
    if group is None or name == group.name:
        return (name,) if group is None or group.on_disk else (name, group.baseline or name)
    names = (name, group.name)
    return names if group.on_disk or group.baseline is None else (*names, group.baseline)


def num_classes_of(name: str) -> int:
    """Classes a set is scored over (1000 for unknown names and group members)."""
    spec = TEST_SETS.get(name)
    return spec.num_classes if spec is not None else 1000

_MEMBER = re.compile(r"(?P<group>[a-z0-9-]+)\.(?P<corruption>[A-Za-z0-9_]+)\.(?P<severity>[1-9]\d*)")


@dataclass(frozen=True)
class SetName:
    """A parsed test-set name: ``group`` is None for plain sets; ``corruption`` (and
    ``severity``) are set for a group's member (or a partial name like ``imagenet-c.fog``)."""

    name: str
    group: str | None = None
    corruption: str | None = None
    severity: int | None = None

    @property
    def is_member(self) -> bool:
        """One (corruption, severity) set of a group."""
        return self.severity is not None

    @property
    def is_group_selection(self) -> bool:
        """A name that stands for several sets (``imagenet-c``, ``imagenet-c.fog``)."""
        return self.group is not None and self.severity is None


def parse_set_name(name: str) -> SetName:
    """``imagenet-c.fog.3`` -> SetName(group="imagenet-c", corruption="fog", severity=3);
    ``imagenet-c`` and ``imagenet-c.fog`` -> selections of the group; other names -> plain."""
    match = _MEMBER.fullmatch(name)
    if match and match["group"] in SET_GROUPS:
        return SetName(name, match["group"], match["corruption"], int(match["severity"]))
    if name in SET_GROUPS:
        return SetName(name, name)
    group, _, rest = name.partition(".")
    if group in SET_GROUPS and rest:
        if "." in rest:
            raise UserInputError(f"test set {name!r}: expected {group}.<corruption>.<severity> with "
                                 "a severity 1, 2, 3...")
        return SetName(name, group, rest)
    return SetName(name)


def member_name(corruption: str, severity: int, group: str = IMAGENET_C.name) -> str:
    """Test-set name of one (corruption, severity) pair of ``group``."""
    return _member_name(corruption, severity, group)


def frames_of_sequences(name: str) -> bool:
    """Whether ``name``'s images are frames of sequences (a member of a group not measured
    against its baseline: ImageNet-P), not independent samples: no per-image interval, gap or
    fit applies to them."""
    group = group_of(name)
    return group is not None and not group.measured_against_baseline


def group_of(name: str) -> SetGroup | None:
    """The group a set (or a group's mean row) belongs to, None for plain sets."""
    means = {g.mean_name: g for g in SET_GROUPS.values()}
    if name in means:
        return means[name]
    parsed = parse_set_name(name)
    return SET_GROUPS[parsed.group] if parsed.group is not None else None
