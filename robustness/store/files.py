"""Atomic file writes, the unit key and file-system-safe names: the store's low-level pieces."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

#: version of what a unit key hashes (not of the file format: a format change keeps the keys,
#: so units finished under an older format are still found and never recomputed)
KEY_VERSION = 1


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def unit_key(spec: dict[str, Any]) -> str:
    """Stable hash (sha256 hex) of everything that changes a unit's output."""
    return hashlib.sha256(canonical_json({"format": KEY_VERSION, **spec}).encode()).hexdigest()


def safe_name(name: str) -> str:
    """A file-system-safe folder name for a model or test-set name."""
    out = "".join(c if c.isalnum() or c in "._-+" else "_" for c in name)
    return out.strip(".") or "_"


def file_mode() -> int:
    """Permission bits for a new file under the process umask (``mkstemp`` alone gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json_file(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when missing, unreadable or not an object."""
    try:
        out = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return out if isinstance(out, dict) else None
