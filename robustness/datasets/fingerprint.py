"""A test set's image-list fingerprint: what a unit computed on, as part of its key.

Two modes:

* ``stat`` (default): each image's relative path, label, size in bytes and
  modification time (ns). Cheap (one ``stat`` per file); an added, removed,
  renamed, relabelled or rewritten image changes it. Copying a set without
  keeping modification times (``cp`` rather than ``rsync -a``/``cp -p``) also
  changes it, so finished units are recomputed rather than trusted.
* ``content``: each image's relative path, label and SHA-256 of its bytes.
  Reads every file once; survives copies to another disk.

The fingerprint covers the root's *contents*, never its location: the same
files under another folder give the same fingerprint.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corruptions.errors import UserInputError

FINGERPRINT_MODES = ("stat", "content")


@dataclass(frozen=True)
class ImageListFingerprint:
    """``sha256`` (hex) of the image list under ``mode``; ``count`` images."""

    mode: str
    count: int
    sha256: str

    def describe(self) -> dict[str, object]:
        return {"mode": self.mode, "count": self.count, "sha256": self.sha256}


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (images here, weights in the zoo)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(root: Path, relpath: str, mode: str) -> str:
    """The identity of one image's file: ``<file>#<part>`` (a frame of a video) is its file's."""
    path = root / relpath.split("#", 1)[0]
    if mode == "content":
        return file_sha256(path)
    try:
        st = os.stat(path)
    except OSError:  # a file that vanished: its absence is part of the identity
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def image_list_fingerprint(root: str | Path, relpaths: Sequence[str], labels: Sequence[int] | np.ndarray,
                           mode: str = "stat") -> ImageListFingerprint:
    """Fingerprint of the images ``root/relpaths[i]`` with ``labels[i]`` (see the module docstring)."""
    if mode not in FINGERPRINT_MODES:
        raise UserInputError(f"fingerprint mode {mode!r}: expected one of {', '.join(FINGERPRINT_MODES)}")
    root = Path(root)
    labels = np.asarray(labels, dtype=np.int64)
    digest = hashlib.sha256(mode.encode())
    last: tuple[str, str] = ("", "")  # the frames of one video share its file's entry
    for relpath, label in zip(relpaths, labels.tolist(), strict=True):
        file = relpath.split("#", 1)[0]
        if file != last[0]:
            last = (file, _entry(root, relpath, mode))
        digest.update(f"{relpath}\t{label}\t{last[1]}\n".encode())
    return ImageListFingerprint(mode, len(labels), digest.hexdigest())


def test_set_fingerprint(test_set, mode: str = "stat") -> ImageListFingerprint:
    """Fingerprint of any reader with ``info.root``, ``relpaths`` and ``labels``."""
    return image_list_fingerprint(test_set.info.root, test_set.relpaths, test_set.labels, mode)


test_set_fingerprint.__test__ = False  # not a pytest test
