"""The test-set catalogue's facts: names parsed in one place, each set's baseline, class and
image counts, and the set groups. No torch and no I/O: the report and ``analyze`` import it;
the readers (``registry.py``) add folders, layouts and openers to these facts.

A test set is named either plainly (``imagenet``, ``imagenet-r``) or as one
(corruption, severity) pair of a *set group*: ``<group>.<corruption>.<severity>``
(``imagenet-c.fog.3``), the imagenet-testbed naming. Every module that needs to
know whether a name belongs to a group, or how a group is summarised, asks
:func:`parse_set_name` and :data:`SET_GROUPS` here.

A set group aggregates like ImageNet-C: per (corruption, severity) accuracy, a mean
over all its sets (one more shift for the accuracy-on-the-line fits, named
``<group> (mean)``), a per-corruption table and a heatmap. Only ImageNet-C has the
AlexNet errors that normalise CE and mCE (``mce=True``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corruptions.errors import UserInputError


@dataclass(frozen=True)
class SetGroup:
    """A family of sets, one per (corruption, severity), all laid out like ImageNet-C."""

    name: str  # "imagenet-c"
    title: str  # "ImageNet-C", for tables and plots
    generator_benchmark: str | None  # the ``benchmark`` label of the generator's corruptions in it
    baseline: str = "imagenet"  # the set every member's gap is measured against
    mce: bool = False  # AlexNet reference errors exist: CE, relative CE and mCE are reported
    on_disk: bool = True  # False: rendered in memory from the baseline's folder
    member_images: int | None = None  # images in each published member set (val corrupted)

    @property
    def mean_name(self) -> str:
        """The per-model mean over the group's sets, used as one more shift."""
        return f"{self.name} (mean)"


IMAGENET_C = SetGroup("imagenet-c", "ImageNet-C", "imagenet-c", mce=True, member_images=50_000)
IMAGENET_C_BAR = SetGroup("imagenet-c-bar", "ImageNet-C-bar", "imagenet-c-bar")
IMAGENET_SHIFTS = SetGroup("imagenet-shifts", "shift ladders", "shifts")
IMAGENET_C_INMEMORY = SetGroup("imagenet-c-inmemory", "ImageNet-C in memory", None, on_disk=False)


def _register(*groups: SetGroup) -> dict[str, SetGroup]:
    table: dict[str, SetGroup] = {}
    for group in groups:
        if group.name in table:
            raise ValueError(f"set group {group.name!r} registered twice")
        table[group.name] = group
    return table


SET_GROUPS: dict[str, SetGroup] = _register(IMAGENET_C, IMAGENET_C_BAR, IMAGENET_SHIFTS,
                                            IMAGENET_C_INMEMORY)
"""Every set group, by name. Groups read from their own folder come first."""

ON_DISK_GROUPS = tuple(g.name for g in SET_GROUPS.values() if g.on_disk)
MEAN_NAMES = {g.mean_name: g for g in SET_GROUPS.values()}


@dataclass(frozen=True)
class SetFacts:
    """What is true of a plain test set wherever it lies on disk."""

    name: str
    baseline: str | None  # the set its gap is measured against (None: a baseline itself)
    num_classes: int  # classes scored (200 for ImageNet-R/-A and their class-matched val)
    num_images: int | None  # images in the published set (None: not fixed, e.g. ObjectNet's)
    same_images_as: str | None = None  # re-scores these images (ReaL: val's), so gaps pair


def _facts(*facts: SetFacts) -> dict[str, SetFacts]:
    table: dict[str, SetFacts] = {}
    for fact in facts:
        if fact.name in table or fact.name in SET_GROUPS:
            raise ValueError(f"test set {fact.name!r} registered twice")
        table[fact.name] = fact
    return table


IMAGENETV2_VARIANTS = ("matched-frequency", "threshold0.7", "top-images")

SET_FACTS: dict[str, SetFacts] = _facts(
    SetFacts("imagenet", None, 1000, 50_000),
    SetFacts("imagenet-real", None, 1000, 46_837, same_images_as="imagenet"),  # >= 1 ReaL label
    *[SetFacts(f"imagenetv2-{v}", "imagenet", 1000, 10_000) for v in IMAGENETV2_VARIANTS],
    SetFacts("imagenet-r", "imagenet-r-clean", 200, 30_000),
    SetFacts("imagenet-a", "imagenet-a-clean", 200, 7_500),
    SetFacts("imagenet-r-clean", None, 200, 10_000),  # val images of ImageNet-R's classes
    SetFacts("imagenet-a-clean", None, 200, 10_000),  # val images of ImageNet-A's classes
    SetFacts("imagenet-sketch", "imagenet", 1000, 50_889),
    SetFacts("objectnet", "objectnet-clean", 113, None),
    SetFacts("objectnet-clean", None, 113, None),
)
"""Every plain test set, by name (the set groups' members are in SET_GROUPS)."""

SELECTIONS: dict[str, tuple[str, ...]] = {
    "default": ("imagenet", *[f"imagenetv2-{v}" for v in IMAGENETV2_VARIANTS], "imagenet-c",
                "imagenet-r", "imagenet-a", "imagenet-sketch", "objectnet"),
}
"""Names that stand for several sets (``--test-sets default``: the published benchmarks)."""

BASELINE_SETS = frozenset({f.baseline for f in SET_FACTS.values() if f.baseline}
                          | {g.baseline for g in SET_GROUPS.values()})
"""Sets that other sets are measured against."""


def baseline_of(name: str) -> str | None:
    """The set ``name``'s gap is measured against; None for a baseline or an unknown name."""
    group = group_of(name)
    if group is not None:
        return group.baseline
    fact = SET_FACTS.get(name)
    return fact.baseline if fact is not None else None


def baselines_of(names: list[str]) -> list[str]:
    """The baselines the gaps of ``names`` need, in order of first need, without repeats."""
    return list(dict.fromkeys(b for b in map(baseline_of, names) if b is not None))


def published_images(name: str) -> int | None:
    """Images in the published set ``name`` (for tables without per-image counts), or None."""
    group = group_of(name)
    if group is not None:
        return group.member_images
    fact = SET_FACTS.get(name)
    return fact.num_images if fact is not None else None

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
    return f"{group}.{corruption}.{severity}"


def group_of(name: str) -> SetGroup | None:
    """The group a set (or a group's mean row) belongs to, None for plain sets."""
    if name in MEAN_NAMES:
        return MEAN_NAMES[name]
    parsed = parse_set_name(name)
    return SET_GROUPS[parsed.group] if parsed.group is not None else None
