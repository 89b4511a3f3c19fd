"""Parameter tables of the reference ImageNet-C scripts, as plain data.

One module per family (``noise``, ``blur``, ``weather``, ``digital``), each with
``TABLES = {preset: {corruption_name: [sev1, ..., sev5]}}`` where every entry is
the reference script's value (scalar or tuple) for that severity, copied from

* ``imagenet``      -> ``ImageNet-C/create_c/make_imagenet_c.py``      (224 px)
* ``tiny-imagenet`` -> ``ImageNet-C/create_c/make_tinyimagenet_c.py``  (64 px)
* ``cifar``         -> ``ImageNet-C/create_c/make_cifar_c.py``         (32 px)

in hendrycks/robustness. Use :func:`severity_params` to read one entry.
``cbar`` holds the ImageNet-C-bar levels and ``shifts`` the albumentations ladders
(``LADDERS``, one per shift, the same at every preset); :func:`parameter_table` finds the
table of any registered corruption from its ``family``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import blur, cbar, digital, noise, shifts, weather

# Side length (px) of the images each preset's reference script was run on.
PRESET_SIZES: dict[str, int] = {"imagenet": 224, "tiny-imagenet": 64, "cifar": 32}

Tables = Mapping[str, Mapping[str, Sequence[Any]]]


def check_preset(preset: str) -> None:
    """Raise a clear error for an unknown preset name."""
    if preset not in PRESET_SIZES:
        raise ValueError(
            f"unknown preset {preset!r}; expected one of {', '.join(PRESET_SIZES)} "
            "(imagenet = 224 px, tiny-imagenet = 64 px, cifar = 32 px)"
        )


def severity_params(tables: Tables, preset: str, name: str, severity: int) -> Any:
    """The reference's parameter value for ``name`` at ``severity`` (1-5) in ``preset``."""
    check_preset(preset)
    if name not in tables.get(preset, {}):
        raise KeyError(f"no {preset!r} parameters for corruption {name!r}")
    if int(severity) != severity or not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}")
    return tables[preset][name][int(severity) - 1]


# Corruption.family -> the module holding its table (TABLES[preset][name], or LADDERS[name]
# for the preset-independent shift ladders).
FAMILY_TABLES: dict[str, Any] = {
    "noise": noise.TABLES,
    "blur": blur.TABLES,
    "weather": weather.TABLES,
    "digital": digital.TABLES,
    "cbar": cbar.TABLES,
}
FAMILY_LADDERS: dict[str, Any] = {"albumentations": shifts.LADDERS}


def parameter_table(family: str, name: str, preset: str) -> Any:
    """The parameter table of corruption ``name`` (of ``family``) used at ``preset``: the
    per-severity rows, or the whole ladder of a shift. Raises ``KeyError`` saying what is
    missing (an unknown family, or no table for ``name`` at ``preset``)."""
    check_preset(preset)
    if family in FAMILY_LADDERS:
        ladders = FAMILY_LADDERS[family]
        if name not in ladders:
            raise KeyError(f"no {family!r} ladder for corruption {name!r}")
        return ladders[name]
    if family not in FAMILY_TABLES:
        raise KeyError(f"no parameter tables for corruption family {family!r} (corruption "
                       f"{name!r}); known families: {', '.join([*FAMILY_TABLES, *FAMILY_LADDERS])}")
    tables = FAMILY_TABLES[family]
    if name not in tables.get(preset, {}):
        raise KeyError(f"no {preset!r} parameters for corruption {name!r}; its {family!r} tables "
                       f"cover the presets {', '.join(tables)}")
    return tables[preset][name]
