"""Parsing helpers shared by the subcommands: lists, NAME=VALUE pairs, numeric flag types.

Everything here turns command-line text into the values the Python API takes; a value
that cannot be parsed raises :class:`~corruptions.errors.UserInputError` (exit code 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from corruptions.errors import UserInputError

from ..ranges import NumberRange


def flag_type(allowed: NumberRange) -> Callable[[str], int | float]:
    """An argparse ``type=`` for a numeric flag; argparse reports ``argument --flag: ...``."""

    def parse(text: str) -> int | float:
        try:
            return allowed.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = allowed.describe()
    return parse


def split_list(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated flag values, in order: ``["a,b", "c"] -> [a, b, c]``."""
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def name_value_pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    """``NAME=VALUE`` (repeatable) -> {NAME: VALUE}."""
    out: dict[str, str] = {}
    for v in values or []:
        if "=" not in v:
            raise UserInputError(f"{flag} must look like NAME=PATH, got {v!r}")
        k, p = v.split("=", 1)
        out[k.strip()] = p.strip()
    return out


def dataset_options(values: list[str] | None) -> dict[str, dict[str, object]]:
    """``NAME:key=value`` -> {NAME: {key: value}}; true/false and integers are converted."""
    out: dict[str, dict[str, object]] = {}
    for v in values or []:
        if ":" not in v or "=" not in v.split(":", 1)[1]:
            raise UserInputError(f"--dataset-option must look like NAME:key=value, got {v!r}")
        name, kv = v.split(":", 1)
        key, raw = kv.split("=", 1)
        value: object = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        elif raw.lstrip("-").isdigit():
            value = int(raw)
        out.setdefault(name.strip(), {})[key.strip()] = value
    return out


def weights_files(values: list[str] | None, models: list[str]) -> dict[str, str]:
    """``--weights MODEL=PATH`` (repeatable), or a bare ``--weights PATH`` with one model."""
    if values and len(values) == 1 and "=" not in values[0]:
        if len(models) != 1:
            raise UserInputError("a bare --weights PATH needs exactly one model; use --weights MODEL=PATH")
        return {models[0]: values[0]}
    return name_value_pairs(values, "--weights")
