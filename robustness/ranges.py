"""Allowed ranges of numeric options, written down once.

The same :class:`NumberRange` objects check values that come from a config file or
the Python API (:meth:`NumberRange.problem`) and, through
:func:`robustness.cli.common.flag_type`, the command-line flags: ``--batch-size 0``
fails at parsing time with ``argument --batch-size: expected a whole number >= 1,
got '0'`` (exit code 2).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


@dataclass(frozen=True)
class NumberRange:
    """Whole numbers (``whole=True``) or real numbers at least / above ``minimum``."""

    minimum: float
    whole: bool = True
    inclusive: bool = True
    """False: the value must be strictly greater than ``minimum``."""

    def describe(self) -> str:
        """``a whole number >= 1``, ``a number > 0``."""
        kind = "a whole number" if self.whole else "a number"
        bound = int(self.minimum) if self.whole else self.minimum
        return f"{kind} {'>=' if self.inclusive else '>'} {bound}"

    def problem(self, value: object) -> str | None:
        """Why ``value`` (an already parsed number) is not allowed, or None when it is."""
        wrong_type = isinstance(value, bool) or not isinstance(
            value, numbers.Integral if self.whole else numbers.Real)
        if wrong_type or not math.isfinite(float(value)):  # type: ignore[arg-type]
            return f"must be {self.describe()}, got {value!r}"
        too_small = value < self.minimum if self.inclusive else value <= self.minimum  # type: ignore[operator]
        return f"must be {self.describe()}, got {value!r}" if too_small else None

    def parse(self, text: str) -> int | float:
        """A command-line value as a number in range; ValueError saying what was expected."""
        try:
            value: int | float = int(text) if self.whole else float(text)
        except ValueError:
            raise ValueError(f"expected {self.describe()}, got {text!r}") from None
        if self.problem(value) is not None:
            raise ValueError(f"expected {self.describe()}, got {text!r}")
        return value


POSITIVE_INT = NumberRange(1)
"""1, 2, 3, ... (batch sizes, counts of things that must exist)."""
NON_NEGATIVE_INT = NumberRange(0)
"""0, 1, 2, ... (worker processes, GPUs, retries: 0 means none)."""
POSITIVE_FLOAT = NumberRange(0, whole=False, inclusive=False)
"""Any finite number above 0 (GiB of memory, seconds)."""
