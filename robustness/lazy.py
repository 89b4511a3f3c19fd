"""Package attributes imported on first use, so that importing a package stays cheap.

``robustness``, ``robustness.datasets`` and ``robustness.executors`` list their public
names with the module each lives in; the command line's parser, ``report`` and
``analyze`` then import no torch until a name that needs it is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``; ``exports`` maps a
    public name to its module (absolute, or relative to ``package``)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name], package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
