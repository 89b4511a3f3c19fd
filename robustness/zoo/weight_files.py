"""Finding and reading weight files, without surprises.

* Where caches live is read from the environment *at call time* (so tests and users can point
  ``HF_HOME`` / ``HF_HUB_CACHE`` / ``TORCH_HOME`` elsewhere after import).
* Offline mode: ``ROBUSTNESS_OFFLINE`` or ``HF_HUB_OFFLINE`` set to 1/true/yes/on. Offline, a
  missing file is an immediate :class:`WeightsNotFoundError`, never a network timeout.
* Reading: ``.safetensors`` through ``safetensors.torch.load_file``; anything else through
  ``torch.load(weights_only=True)``. Nothing is ever unpickled beyond tensors and containers.
"""

from __future__ import annotations

import os
import pickle
import re
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import torch

from robustness.zoo.errors import UnsafeWeightsError, WeightsMismatchError

RANDOM_INIT = "random-init"  # ModelInfo.weights of a model built with pretrained=False
_TRUE_VALUES = {"1", "true", "yes", "on"}
_WRAPPER_KEYS = ("state_dict", "model")
_PREFIXES = ("module.", "_orig_mod.")
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_SAFETENSORS_MAGIC_OFFSET = 8  # u64 header length, then the JSON header starting with '{'


def is_offline() -> bool:
    """True when ``ROBUSTNESS_OFFLINE`` or ``HF_HUB_OFFLINE`` asks for no network access."""
    return any(
        os.environ.get(var, "").strip().lower() in _TRUE_VALUES
        for var in ("ROBUSTNESS_OFFLINE", "HF_HUB_OFFLINE")
    )


_REACHABLE: dict[tuple[str, int], bool] = {}
PROBE_SECONDS = 3.0


def reachable(url: str, timeout_s: float = PROBE_SECONDS) -> bool:
    """Whether ``url``'s host accepts a TCP connection within ``timeout_s`` (DNS included).

    Asked once per host and process before any download, so that a machine without
    network fails in seconds instead of the hub client's minutes of retries."""
    parsed = urlparse(url)
    target = (parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80))
    if target not in _REACHABLE:
        outcome: list[bool] = []

        def connect() -> None:
            try:
                socket.create_connection(target, timeout=timeout_s).close()
                outcome.append(True)
            except OSError:
                outcome.append(False)

        probe = threading.Thread(target=connect, daemon=True)
        probe.start()
        probe.join(timeout_s)
        _REACHABLE[target] = bool(outcome and outcome[0])
    return _REACHABLE[target]


def hf_hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, resolved like ``huggingface_hub`` does, at call time."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(xdg).expanduser() / "huggingface" / "hub"


def torch_hub_checkpoint_dir() -> Path:
    """``<torch hub dir>/checkpoints``: where torchvision (and old timm) cache downloaded weights."""
    return Path(torch.hub.get_dir()).expanduser() / "checkpoints"




def expected_sha256_prefix(file: Path) -> str | None:
    """The SHA-256 prefix torch hub file names embed ('resnet50-11ad3fa6.pth'), if any."""
    match = _HASH_IN_NAME.search(file.name)
    return match.group(1) if match else None


def verify_hash_in_name(file: Path, sha256: str) -> None:
    """Refuse a torch hub cache file whose SHA-256 disagrees with the prefix in its name."""
    prefix = expected_sha256_prefix(file)
    if prefix and not sha256.startswith(prefix):
        raise WeightsMismatchError(
            f"{file}: SHA-256 {sha256[:16]}... does not start with {prefix} as its name says; "
            "the file is corrupt or truncated. Delete it and download it again."
        )


def _looks_like_safetensors(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(_SAFETENSORS_MAGIC_OFFSET + 1)
    return len(head) == _SAFETENSORS_MAGIC_OFFSET + 1 and head[-1:] == b"{"


def _unwrap(checkpoint: object, path: Path) -> dict[str, torch.Tensor]:
    """Return the tensor dict inside a checkpoint: the dict itself, or its 'state_dict'/'model'."""
    if isinstance(checkpoint, Mapping):
        for key in _WRAPPER_KEYS:
            inner = checkpoint.get(key)
            if isinstance(inner, Mapping) and not isinstance(inner, torch.Tensor):
                checkpoint = inner
                break
    if not isinstance(checkpoint, Mapping) or not checkpoint:
        raise UnsafeWeightsError(
            f"{path}: expected a state dict (a mapping of parameter names to tensors), possibly "
            f"wrapped under 'state_dict' or 'model'; found {type(checkpoint).__name__}. "
            "Save the weights with torch.save(model.state_dict(), path) or "
            "safetensors.torch.save_file(model.state_dict(), path)."
        )
    non_tensors = [k for k, v in checkpoint.items() if not isinstance(v, torch.Tensor)]
    if non_tensors:
        raise UnsafeWeightsError(
            f"{path}: the state dict holds non-tensor entries {non_tensors[:5]}; expected only "
            "tensors. Re-save just the model's state_dict."
        )
    return {_strip_prefixes(str(k)): v for k, v in checkpoint.items()}


def _strip_prefixes(key: str) -> str:
    """Drop DistributedDataParallel ('module.') and torch.compile ('_orig_mod.') prefixes."""
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                changed = True
    return key


def _unsupported_global(exc: Exception) -> str:
    """'unsupported global module.Class' from torch's weights_only error message."""
    match = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
    return f"unsupported global {match.group(1)}" if match else type(exc).__name__


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from a safetensors file or a torch file, safely, onto the CPU.

    Raises FileNotFoundError when the file is missing and :class:`UnsafeWeightsError` when
    a torch file holds arbitrary pickled objects or the content is not a tensor dict.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist (or is not a file).")
    if path.suffix == ".safetensors" or _looks_like_safetensors(path):
        from safetensors.torch import load_file

        return _unwrap(load_file(str(path), device="cpu"), path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for damaged files
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        if isinstance(exc, pickle.UnpicklingError) and "unsupported global" in str(exc).lower():
            raise UnsafeWeightsError(
                f"{path}: refused to load. torch.load(weights_only=True) found pickled Python "
                f"objects that are not tensors ({_unsupported_global(exc)}). Loading them could "
                "execute code from the file. On a machine you trust, load the checkpoint and "
                "re-save only the tensors: torch.save(checkpoint['state_dict'], 'clean.pt') or "
                "safetensors.torch.save_file(state_dict, 'clean.safetensors')."
            ) from exc
        raise UnsafeWeightsError(
            f"{path}: not a readable torch or safetensors weight file ({first_line}). Check "
            "the file is complete (not a truncated download) and was written by torch.save or "
            "safetensors."
        ) from exc
    return _unwrap(checkpoint, path)


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of a weights file's tensors, without reading their data (headers only
    for safetensors, a memory map for torch zip files). Errors as :func:`read_state_dict`."""
    path = Path(path).expanduser()
    if path.is_file() and (path.suffix == ".safetensors" or _looks_like_safetensors(path)):
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                return {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}
        except Exception as exc:  # a damaged header
            raise UnsafeWeightsError(f"{path}: not a readable safetensors file ({exc}); check the "
                                     "file is complete (not a truncated download)") from exc
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a zip file (legacy format), damaged, or unsafe: the full reader says which
        checkpoint = read_state_dict(path)
    return {k: tuple(v.shape) for k, v in _unwrap(checkpoint, path).items()}


def weights_file_problem(path: str | Path, num_classes: int = 1000) -> str | None:
    """Why ``path`` cannot be the weights of a ``num_classes``-way classifier (None if it can):
    missing, not a safe tensor file, or no tensor with ``num_classes`` outputs."""
    path = Path(path).expanduser()
    if not path.is_file():
        return f"weights file {path} does not exist"
    try:
        shapes = tensor_shapes(path)
    except (UnsafeWeightsError, WeightsMismatchError, FileNotFoundError) as exc:
        return str(exc)
    if not any(shape and shape[0] == num_classes for shape in shapes.values()):
        return (f"{path}: no tensor has {num_classes} outputs, so the file holds no ImageNet-1k "
                f"classifier head ({len(shapes)} tensors); give the weights of a {num_classes}-class "
                "model")
    return None
