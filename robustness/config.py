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

Values given on the command line override the file's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The config file is missing, unreadable or holds unknown options."""


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
    from .executors.options import ExecutorOptions, option_names

    values: dict[str, Any] = {}
    if path is not None:
        table = read_config(path).get("executor", {})
        if not isinstance(table, dict):
            raise ConfigError(f"[executor] in {path} must be a table of options")
        unknown = sorted(set(table) - set(option_names()))
        if unknown:
            raise ConfigError(f"unknown option(s) {unknown} in [executor] of {path}; "
                              f"known: {', '.join(option_names())}")
        values.update(table)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ExecutorOptions(**values)
    except (TypeError, ValueError) as exc:
        where = f" (from {path})" if path else ""
        raise ConfigError(f"bad executor option{where}: {exc}") from exc
