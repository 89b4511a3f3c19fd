"""Explicit table of corruptions: name -> :class:`~corruptions.base.Corruption`.

Each family module exposes ``CORRUPTIONS`` (a tuple of Corruption objects);
this module gathers them. Add a family by adding its module here.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence

from .base import Corruption
from .errors import UserInputError

FAMILY_MODULES = ("noise", "blur", "weather", "digital", "cbar", "shifts")


class DuplicateCorruptionError(ValueError):
    """Two corruptions were registered under one name (a bug in the family modules)."""


def _collect(modules: Sequence[str] = FAMILY_MODULES) -> dict[str, Corruption]:
    """name -> Corruption from each ``corruptions.<module>``'s ``CORRUPTIONS``; a name
    defined twice raises :class:`DuplicateCorruptionError` instead of replacing the first."""
    table: dict[str, Corruption] = {}
    origin: dict[str, str] = {}
    for mod_name in modules:
        mod = importlib.import_module(f"corruptions.{mod_name}")
        for c in mod.CORRUPTIONS:
            if c.name in table:
                raise DuplicateCorruptionError(
                    f"corruption {c.name!r} is defined twice: in corruptions.{origin[c.name]} "
                    f"and in corruptions.{mod_name}; every corruption needs its own name"
                )
            table[c.name] = c
            origin[c.name] = mod_name
    return table


_TABLE: dict[str, Corruption] | None = None


def registry() -> dict[str, Corruption]:
    global _TABLE
    if _TABLE is None:
        _TABLE = _collect()
    return _TABLE


class UnknownCorruptionError(UserInputError, KeyError):
    """No corruption of that name is registered (a ``KeyError`` too, for old callers)."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


def get_corruption(name: str) -> Corruption:
    """The registered corruption ``name``; unknown names list close matches and all names."""
    table = registry()
    if not isinstance(name, str) or name not in table:
        close = similar_names(name, table) if isinstance(name, str) else []
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UnknownCorruptionError(
            f"unknown corruption {name!r}; {hint}known: {', '.join(sorted(table))} "
            "(`python -m corruptions list` prints them)"
        )
    return table[name]


def similar_names(name: str, known, n: int = 3) -> list[str]:
    """Up to ``n`` of ``known`` that ``name`` may have meant: names it starts, then near spellings."""
    prefixed = sorted(k for k in known if name and k.startswith(name))
    close = difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)
    return (prefixed + [c for c in close if c not in prefixed])[:n]
