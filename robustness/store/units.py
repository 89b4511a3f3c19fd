"""One unit's folder: its files, its lock, and how it finishes and supersedes its siblings.

See :mod:`robustness.store` for the layout. A unit is *finished* exactly when its predictions
(``predictions.parquet``, or ``records.npz`` of format 1) and ``meta.json`` exist: both are
written to a temporary name and renamed into place (``meta.json`` last), so a killed process
never leaves a half-written finished unit.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .columns import (
    CONFIDENCE_FIELDS,
    CORRECT_FIELDS,
    FORMAT_VERSION,
    LOGITS,
    PREDICTIONS,
    RECORD_FIELDS,
    RECORDS_V1,
    ImageList,
    logits_bytes,
    predictions_bytes,
    save_records,
    write_image_list,
)
from .files import atomic_write_bytes, atomic_write_json, file_mode, read_json_file


@dataclass(frozen=True)
class UnitDir:
    """Paths of one unit in the store."""

    root: Path

    @property
    def out(self) -> Path:
        """The results folder holding this unit (``OUT`` of ``OUT/units/<model>/<set>/<key>``)."""
        return self.root.parents[3]

    @property
    def records(self) -> Path:
        """Format 1's per-image records (units finished before format 2)."""
        return self.root / RECORDS_V1

    @property
    def predictions(self) -> Path:
        return self.root / PREDICTIONS

    @property
    def logits(self) -> Path:
        return self.root / LOGITS

    @property
    def meta(self) -> Path:
        return self.root / "meta.json"

    @property
    def parts(self) -> Path:
        return self.root / "parts"

    @property
    def error(self) -> Path:
        return self.root / "error.json"

    @property
    def spec(self) -> Path:
        return self.root / "spec.json"

    @property
    def lock(self) -> Path:
        return self.root / "lock.json"

    @property
    def superseded_marker(self) -> Path:
        return self.root / "superseded.json"

    def finished(self) -> bool:
        return self.meta.is_file() and (self.predictions.is_file() or self.records.is_file())

    def superseded(self) -> bool:
        return self.superseded_marker.is_file()

    def read_spec(self) -> dict[str, Any] | None:
        """The unit's spec.json, or None when it is missing or unreadable."""
        try:
            return json.loads(self.spec.read_text())
        except (OSError, ValueError):
            return None

    def write_spec(self, spec: dict[str, Any]) -> None:
        """Write spec.json (what the unit's key hashes, plus its provenance) before computing."""
        atomic_write_json(self.spec, spec)

    def read_error(self) -> dict[str, Any] | None:
        """The unit's error.json (why its last run failed), or None."""
        try:
            return json.loads(self.error.read_text())
        except (OSError, ValueError):
            return None

    def images_checkpointed(self) -> int:
        """Images in the readable resume checkpoints, in order (a torn part ends the count)."""
        total = 0
        for part in self.part_files():
            try:
                with np.load(part, allow_pickle=False) as z:
                    total += len(z["index"])
            except Exception:  # a torn part is redone on resume
                break
        return total

    def clear_parts(self) -> None:
        shutil.rmtree(self.parts, ignore_errors=True)

    def read_meta(self) -> dict[str, Any]:
        return json.loads(self.meta.read_text())

    def part_files(self) -> list[Path]:
        if not self.parts.is_dir():
            return []
        return sorted(self.parts.glob("part-*.npz"))

    def write_part(self, start: int, arrays: dict[str, np.ndarray]) -> None:
        save_records(self.parts / f"part-{start:09d}.npz", arrays)

    def finish(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Write the unit's image list (once per store), predictions and meta (meta last), then
        drop the parts and errors of the pair, and mark older finished units of the same settings
        as superseded by this one.

        ``arrays`` hold every field of ``RECORD_FIELDS`` for every position of the test set's
        image list, in order (``index`` is 0..N-1; ``relpath`` and ``label`` define the list),
        optionally ``evaluated`` (bool (N,): False for an image that could not be decoded; all
        True when absent), the ``CONFIDENCE_FIELDS`` (the engine always writes them; meta's
        ``confidences`` says whether they are there) and ``logits`` (float16 (N, 1000)). ``meta`` gets ``format``,
        ``image_list`` and ``counts`` (images evaluated and correct per field); its ``n``, when
        given, must be the number of evaluated images. ValueError on missing or misaligned fields.
        """
        missing = [f for f in RECORD_FIELDS if f not in arrays]
        if missing:
            raise ValueError(f"records of {self.root} lack the field(s) {', '.join(missing)}; "
                             f"a finished unit holds all of {', '.join(RECORD_FIELDS)}")
        n = len(arrays["index"])
        if not np.array_equal(np.asarray(arrays["index"]), np.arange(n)):
            raise ValueError(f"records of {self.root}: index must be the positions 0..{n - 1} of the "
                             "test set's image list, in order (one row per image, skipped ones "
                             "marked in `evaluated`)")
        evaluated = np.asarray(arrays.get("evaluated", np.ones(n, dtype=bool)), dtype=bool)
        counts = {"n": int(evaluated.sum())}
        counts.update({k: int(np.asarray(arrays[f], dtype=bool)[evaluated].sum())
                       for f, k in CORRECT_FIELDS.items()})
        if "n" in meta and int(meta["n"]) != counts["n"]:
            raise ValueError(f"meta of {self.root} says n={meta['n']} but {counts['n']} images "
                             "were evaluated")
        images = ImageList.of(arrays["relpath"], arrays["label"])
        write_image_list(self.out, images)
        names = _pair_names(meta) or ("", "")
        atomic_write_bytes(self.predictions, predictions_bytes(
            arrays, evaluated, model=names[0], test_set=names[1], list_id=images.id))
        if arrays.get("logits") is not None:
            atomic_write_bytes(self.logits, logits_bytes(arrays["logits"]))
        confidences = all(arrays.get(f) is not None for f in CONFIDENCE_FIELDS)
        atomic_write_json(self.meta, {**meta, "n": counts["n"], "format": FORMAT_VERSION,
                                      "image_list": images.id, "counts": counts,
                                      "confidences": confidences})
        self.records.unlink(missing_ok=True)  # a format-1 unit recomputed in place
        shutil.rmtree(self.parts, ignore_errors=True)
        self.error.unlink(missing_ok=True)
        (self.root.parent / "error.json").unlink(missing_ok=True)
        self._supersede_siblings()

    def reinstate(self) -> None:
        """Make a superseded finished unit current again (its inputs are back), superseding
        the siblings of the same settings."""
        self._supersede_siblings()
        self.superseded_marker.unlink(missing_ok=True)

    def _supersede_siblings(self) -> None:
        """Mark the other finished units of this pair and settings as replaced by this one."""
        mine = same_settings(self.read_spec())
        for other in sibling_units(self):
            if other.finished() and not other.superseded() and same_settings(other.read_spec()) == mine:
                atomic_write_json(other.superseded_marker, {"by": self.root.name,
                                                            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    def record_error(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.error, info)

    def try_lock(self, stale_after_s: float = 3600.0) -> dict[str, Any] | None:
        """Take the unit's lock; None when taken, else the holder (host, pid, started).

        Taken atomically (``O_EXCL``). A lock of a dead process on this host is taken
        over; a lock from another host is taken over when its heartbeat (the file's
        modification time, refreshed by :meth:`touch_lock`) is older than ``stale_after_s``.
        Take-overs are serialised by a second ``O_EXCL`` file, so two takers never both win.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        mine = {"host": socket.gethostname(), "pid": os.getpid(), "job": _slurm_job(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        for _ in range(50):
            try:
                fd = os.open(self.lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
            except FileExistsError:
                holder = self.lock_holder(stale_after_s)
                if holder is not None:
                    return holder
                self._take_over_stale_lock(stale_after_s)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(mine, f)
            return None
        return read_json_file(self.lock) or {"host": "?", "pid": -1, "started": "?"}

    def _take_over_stale_lock(self, stale_after_s: float) -> None:
        guard = self.root / ".lock.takeover"
        try:
            fd = os.open(guard, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
        except FileExistsError:
            try:  # a taker that died holding the guard
                if time.time() - guard.stat().st_mtime > 30:
                    guard.unlink(missing_ok=True)
            except OSError:
                pass
            time.sleep(0.05)
            return
        os.close(fd)
        try:
            if self.lock_holder(stale_after_s) is None:  # still stale under the guard
                self.lock.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)

    def touch_lock(self) -> None:
        """Refresh the lock's heartbeat."""
        try:
            os.utime(self.lock)
        except OSError:
            pass

    def release_lock(self) -> None:
        holder = read_json_file(self.lock)
        if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
            self.lock.unlink(missing_ok=True)

    def lock_holder(self, stale_after_s: float = 3600.0) -> dict[str, Any] | None:
        """Who holds the lock now (None when free or stale)."""
        holder = read_json_file(self.lock)
        if holder is None:
            try:  # created this instant and not yet written, or torn by a crash
                age = time.time() - self.lock.stat().st_mtime
            except OSError:
                return None
            return {"host": "?", "pid": -1, "started": "?"} if age < 10 else None
        if _lock_is_stale(self.lock, holder, stale_after_s):
            return None
        return holder


def _pair_names(data: dict[str, Any] | None) -> tuple[str, str] | None:
    """(model, test set) named in a spec.json, meta.json or error.json."""
    if not data:
        return None
    model, test_set = data.get("model"), data.get("test_set")
    model = model.get("name") if isinstance(model, dict) else model
    test_set = test_set.get("name") if isinstance(test_set, dict) else test_set
    if isinstance(model, str) and isinstance(test_set, str):
        return model, test_set
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _slurm_job() -> str | None:
    """This process's Slurm job (``<job id>_<array task>``), None outside Slurm."""
    job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{job}_{task}" if task else job


def _lock_is_stale(path: Path, holder: dict[str, Any], stale_after_s: float) -> bool:
    """A lock is stale when its holder is dead: a finished process on this host, an earlier
    run of this same Slurm job (requeued after preemption or a time limit), or a holder on
    another host whose heartbeat is older than ``stale_after_s``."""
    if holder.get("job") and holder.get("job") == _slurm_job():
        return True
    if holder.get("host") == socket.gethostname():
        return not _pid_alive(int(holder.get("pid", -1)))
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return True
    return age > stale_after_s


def same_settings(spec: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What a user chooses on purpose for a (model, test set) pair: precision and logits.

    Units of the same pair and settings but another key (new weights, changed images)
    replace each other; units with other settings live side by side."""
    if spec is None:
        return None
    return (spec.get("precision"), bool(spec.get("save_logits")))


def sibling_units(unit: UnitDir) -> list[UnitDir]:
    """The other unit folders of the same (model, test set) pair."""
    return [UnitDir(p) for p in sorted(unit.root.parent.iterdir())
            if p.is_dir() and p != unit.root and not p.name.startswith(".")]
