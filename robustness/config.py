"""Options read from a config file (TOML, or JSON), for ``--config FILE``.

Layout (TOML)::

    [executor]                 # robustness.executors.ExecutorOptions fields
    executor = "slurm"
    partition = "gpu"
    gpus_per_job = 1
    cpus_per_job = 8
    timeout_min = 240
    array_parallelism = 32
    units_per_job = 75
    slurm_extra = { account = "mylab", qos = "normal" }

Values given on the command line override the file's. Anything the harness would
not read is refused (:class:`ConfigError`, exit code 2 on the command line) instead
of being ignored: a section other than ``[executor]``, an unknown key inside it,
or a number out of its range (a misspelt ``[exector]`` would otherwise run a
Slurm sweep locally).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from corruptions.errors import UserInputError

from .executors.options import ExecutorOptions, option_names, option_problem


class ConfigError(UserInputError):
    """The config file is missing, unreadable or holds unknown options."""


SECTIONS = ("executor",)
"""The top-level tables a config file may hold."""


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...], brackets: bool = False) -> str:
    """`` (did you mean [executor]?)`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean [{close[0]}]?)" if brackets else f" (did you mean {close[0]!r}?)"


def check_sections(data: dict[str, Any], path: str | Path) -> None:
    """Refuse top-level entries that are not one of :data:`SECTIONS` holding a table."""
    known = ", ".join(f"[{s}]" for s in SECTIONS)
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"config file {path}: {key} = {value!r} must be a table of options, not a "
                    f"single value; write the line `[{key}]` and put its options below it")
            continue
        if key in option_names():
            raise ConfigError(
                f"config file {path}: option {key!r} is outside any section; put it below the "
                "line `[executor]`")
        what = f"section [{key}]" if isinstance(value, dict) else f"top-level key {key!r}"
        raise ConfigError(
            f"unknown {what} in config file {path}{_did_you_mean(key, SECTIONS, brackets=True)}; "
            f"known sections: {known}. Fix the name or remove it: nothing in it would be used")


def read_config(path: str | Path) -> dict[str, Any]:
    """The file's tables as a dict (``.toml`` or ``.json``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass the path of a .toml or .json file")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            data = tomllib.loads(text)
    except (ValueError, ModuleNotFoundError) as exc:
        raise ConfigError(f"cannot parse config file {path}: {exc}. Write TOML (or JSON with a "
                          ".json suffix) with an [executor] table") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table at top level")
    return data


def load_executor_options(path: str | Path | None = None, **overrides: Any):
    """ExecutorOptions from the file's ``[executor]`` table, then ``overrides`` (None values ignored)."""
    values: dict[str, Any] = {}
    if path is not None:
        data = read_config(path)
        check_sections(data, path)
        table = data.get("executor", {})
        names = option_names()
        unknown = sorted(set(table) - set(names))
        if unknown:
            shown = ", ".join(f"{k!r}{_did_you_mean(k, names)}" for k in unknown)
            raise ConfigError(f"unknown option(s) {shown} in [executor] of config file {path}; "
                              f"known: {', '.join(names)}. Fix the spelling or remove the line")
        for key, value in table.items():
            problem = option_problem(key, value)
            if problem is not None:
                raise ConfigError(f"config file {path}: [executor] {key} {problem}; fix the "
                                  "value in the file")
        values.update(table)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ExecutorOptions(**values)
    except (TypeError, ValueError) as exc:  # the file's values are checked above: an override
        raise ConfigError(f"bad executor option: {exc}") from exc
