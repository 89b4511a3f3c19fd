"""Checks made before any unit runs, so that every problem of a run is reported at once.

``preflight`` looks at what can be checked without loading a model: the output
folder is a writable folder, every ``--root`` and ``--dataset-option`` name
belongs to a set of the run, ``--weights`` entries match models of the run and
name existing files, the device exists, the numbers are in range, and every
test set opens with its layout. All problems are gathered into one
:class:`UserInputError` (one line each), raised before any model is loaded.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from corruptions.errors import UserInputError

from .datasets.catalogue import root_names
from .engine import EvalConfig, set_options, set_root
from .zoo.resolve import match_weights


def output_folder_problem(out: str | Path) -> str | None:
    """Why results cannot be written under ``out`` (None when they can); creates nothing."""
    out = Path(out)
    existing = out
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == out else f"cannot be created: {existing} is a file"
        return f"--out {out} {where}; give a folder for the results"
    units = out / "units"
    if units.exists() and not units.is_dir():
        return f"--out {out}: {units} is a file where the store keeps its units; move it away"
    try:  # permissions, read-only mounts and full quotas all show here
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-check."):
            pass
    except OSError as exc:
        return f"--out {out} is not writable ({exc.strerror or exc}); give a folder you can write to"
    return None


def _set_keys(test_sets: Sequence[str]) -> set[str]:
    """Names an option may be given for: each set and the group it belongs to."""
    return {key for name in test_sets for key in root_names(name)}


def unknown_names_problems(flag: str, given: Mapping[str, Any], test_sets: Sequence[str]) -> list[str]:
    """``--root`` / ``--dataset-option`` entries whose name is no set (or set group) of the run."""
    keys = _set_keys(test_sets)
    problems = []
    for name in given:
        if name not in keys:
            close = difflib.get_close_matches(name, sorted(keys), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            problems.append(f"{flag} {name}: no test set of this run is called {name!r}{hint} "
                            f"(the run's sets: {', '.join(list(test_sets)[:6])}"
                            + (" ..." if len(test_sets) > 6 else "") + ")")
    return problems


def device_problem(device: str) -> str | None:
    if device == "auto":
        return None
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        return f"--device {device}: not a device; use auto, cpu, cuda, cuda:N or mps"
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            return f"--device {device}: no CUDA device is visible here; use --device cpu (or auto)"
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            return (f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here "
                    f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: MPS is not available here; use --device cpu"
    return None


def number_problems(config: EvalConfig) -> list[str]:
    checks = [("--batch-size", config.batch_size, 1), ("--workers", config.workers, 0),
              ("--checkpoint-every", config.checkpoint_every, 1)]
    problems = []
    for flag, value, least in checks:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            problems.append(f"{flag} {value}: expected a whole number of at least {least}")
    if config.precision not in ("auto", "fp32", "fp16", "bf16"):
        problems.append(f"--precision {config.precision}: expected auto, fp32, fp16 or bf16")
    return problems


@dataclass
class OpenedSets:
    """A memo of opened test sets, so that preflight's opening is the run's opening."""

    open_test_set: Callable
    _cache: dict[str, Any] = field(default_factory=dict)

    def __call__(self, name: str, data_root: Any, root: Any = None, **options: Any) -> Any:
        key = json.dumps([name, str(data_root), str(root), options], sort_keys=True, default=str)
        if key not in self._cache:
            self._cache[key] = self.open_test_set(name, data_root, root=root, **options)
        return self._cache[key]


def preflight(models: Sequence[str], test_sets: Sequence[str], out: str | Path, *,
              data_root: str | Path | None, roots: Mapping[str, str],
              dataset_options: Mapping[str, Mapping[str, Any]], weights: Mapping[str, str],
              config: EvalConfig, open_test_set: Callable, check_device: bool = True) -> dict[str, str]:
    """Check a run (see the module docstring); return ``weights`` keyed by the run's model names.

    ``open_test_set`` is called once per set; pass an :class:`OpenedSets` to reuse the sets."""
    problems: list[str] = []
    folder = output_folder_problem(out)
    if folder:
        problems.append(folder)
    problems += unknown_names_problems("--root", roots, test_sets)
    problems += unknown_names_problems("--dataset-option", dataset_options, test_sets)
    problems += number_problems(config)
    if check_device:
        device = device_problem(config.device)
        if device:
            problems.append(device)
    matched: dict[str, str] = {}
    try:
        matched = match_weights(weights, models)
    except UserInputError as exc:
        problems.append(str(exc))
    for name in test_sets:
        try:
            open_test_set(name, data_root, root=set_root(name, dict(roots)),
                          **set_options(name, {k: dict(v) for k, v in dataset_options.items()}))
        except UserInputError as exc:
            problems.append(str(exc).strip())
    if problems:
        raise UserInputError(_joined(problems))
    return matched


def _joined(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems, nothing was run:\n" + "\n".join(
        "  - " + p.replace("\n", "\n    ") for p in problems)
