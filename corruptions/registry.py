"""Explicit table of corruptions: name -> :class:`~corruptions.base.Corruption`.

Each family module exposes ``CORRUPTIONS`` (a tuple of Corruption objects);
this module gathers them. Add a family by adding its module here.
"""

from __future__ import annotations

import importlib

from .base import Corruption

FAMILY_MODULES = ("noise", "blur", "weather", "digital", "cbar", "shifts")


def _collect() -> dict[str, Corruption]:
    table: dict[str, Corruption] = {}
    for mod_name in FAMILY_MODULES:
        try:
            mod = importlib.import_module(f"corruptions.{mod_name}")
        except ModuleNotFoundError as exc:  # family not written yet
            if exc.name == f"corruptions.{mod_name}":
                continue
            raise
        for c in mod.CORRUPTIONS:
            table[c.name] = c
    return table


_TABLE: dict[str, Corruption] | None = None


def registry() -> dict[str, Corruption]:
    global _TABLE
    if _TABLE is None:
        _TABLE = _collect()
    return _TABLE


def get_corruption(name: str) -> Corruption:
    table = registry()
    if name not in table:
        raise KeyError(f"unknown corruption {name!r}; known: {', '.join(sorted(table))}")
    return table[name]
