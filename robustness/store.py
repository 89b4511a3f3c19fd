"""The per-image prediction store: one folder per unit, written atomically.

Layout under a results directory ``OUT``::

    OUT/units/<model>/<test set>/
        error.json         a failure before any unit key was known (the model did not load,
                           the test set did not open); removed when a unit of the pair finishes
        <key16>/
            spec.json      everything hashed into the unit's key (see ``unit_key``), written first
            records.npz    per-image records of a finished unit (see RECORD_FIELDS)
            meta.json      the unit's metadata (model, test set, transform, versions, timings,
                           skipped images, whether the set was partial)
            parts/         partial records of an unfinished unit, one file per checkpoint (resume)
            error.json     the last failure of this unit, if it failed (removed when it succeeds)
            lock.json      held while a process computes the unit (host, pid, start time)
            superseded.json  this finished unit was replaced by a newer one of the same
                           model, test set, precision and logits setting (its key)

A unit is *finished* exactly when ``records.npz`` and ``meta.json`` exist: both
are written to a temporary name and renamed into place (``meta.json`` last), so
a killed process never leaves a half-written finished unit. A finished unit is
never recomputed under its key; when the key changes (new weights, images added
to the set...) a new unit is computed beside it and the old one is marked
superseded once the new one finishes. Files are created with the user's umask.

Read finished units through this module, not through the file names above:
``Store.find(model, test_set)`` gives a :class:`Unit` (``.meta``, ``.spec``, ``.records()``,
a typed :class:`UnitRecords`), ``Store.units()`` a table of the current units.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

RECORD_FIELDS = (
    "index",  # int64: position in the reader's stable order
    "relpath",  # str: path relative to the test set's root
    "label",  # int64: label in the set's own label space
    "top5",  # int16 (N, 5): predicted ImageNet-1k classes under the set's scoring
    "correct1",  # bool: top-1 correct under the set's scoring (restricted for subsets)
    "correct5",  # bool
    "correct1_all",  # bool: plain 1000-way top-1 (same as correct1 for full sets)
    "correct5_all",  # bool
)
FORMAT_VERSION = 1


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def unit_key(spec: dict[str, Any]) -> str:
    """Stable hash (sha256 hex) of everything that changes a unit's output."""
    return hashlib.sha256(canonical_json({"format": FORMAT_VERSION, **spec}).encode()).hexdigest()


def safe_name(name: str) -> str:
    """A file-system-safe folder name for a model or test-set name."""
    out = "".join(c if c.isalnum() or c in "._-+" else "_" for c in name)
    return out.strip(".") or "_"


def _file_mode() -> int:
    """Permission bits for a new file under the process umask (``mkstemp`` alone gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
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


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def save_records(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write_bytes(path, _npz_bytes(arrays))


def load_records(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def concat_records(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@dataclass(frozen=True)
class UnitDir:
    """Paths of one unit in the store."""

    root: Path

    @property
    def records(self) -> Path:
        return self.root / "records.npz"

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
        return self.meta.is_file() and self.records.is_file()

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

    def read_records(self) -> dict[str, np.ndarray]:
        return load_records(self.records)

    def part_files(self) -> list[Path]:
        if not self.parts.is_dir():
            return []
        return sorted(self.parts.glob("part-*.npz"))

    def write_part(self, start: int, arrays: dict[str, np.ndarray]) -> None:
        save_records(self.parts / f"part-{start:09d}.npz", arrays)

    def finish(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Write the records and meta (meta last), then drop the parts and errors of the pair,
        and mark older finished units of the same settings as superseded by this one.
        ``arrays`` must hold every field of ``RECORD_FIELDS`` (ValueError otherwise)."""
        missing = [f for f in RECORD_FIELDS if f not in arrays]
        if missing:
            raise ValueError(f"records of {self.root} lack the field(s) {', '.join(missing)}; "
                             f"a finished unit holds all of {', '.join(RECORD_FIELDS)}")
        save_records(self.records, arrays)
        atomic_write_json(self.meta, meta)
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
                fd = os.open(self.lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _file_mode())
            except FileExistsError:
                holder = self.lock_holder(stale_after_s)
                if holder is not None:
                    return holder
                self._take_over_stale_lock(stale_after_s)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(mine, f)
            return None
        return _read_json_file(self.lock) or {"host": "?", "pid": -1, "started": "?"}

    def _take_over_stale_lock(self, stale_after_s: float) -> None:
        guard = self.root / ".lock.takeover"
        try:
            fd = os.open(guard, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _file_mode())
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
        holder = _read_json_file(self.lock)
        if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
            self.lock.unlink(missing_ok=True)

    def lock_holder(self, stale_after_s: float = 3600.0) -> dict[str, Any] | None:
        """Who holds the lock now (None when free or stale)."""
        holder = _read_json_file(self.lock)
        if holder is None:
            try:  # created this instant and not yet written, or torn by a crash
                age = time.time() - self.lock.stat().st_mtime
            except OSError:
                return None
            return {"host": "?", "pid": -1, "started": "?"} if age < 10 else None
        if _lock_is_stale(self.lock, holder, stale_after_s):
            return None
        return holder


def _read_json_file(path: Path) -> dict[str, Any] | None:
    try:
        out = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return out if isinstance(out, dict) else None


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


# ---------------------------------------------------------------------------
# Reading finished units: the public, typed view of the layout above.

_RECORD_DTYPES: dict[str, Any] = {
    "index": np.int64,
    "relpath": str,
    "label": np.int64,
    "top5": np.int16,
    "correct1": bool,
    "correct5": bool,
    "correct1_all": bool,
    "correct5_all": bool,
}


@dataclass(frozen=True)
class UnitRecords:
    """Per-image records of a finished unit, one array entry per evaluated image (see
    ``RECORD_FIELDS``). ``logits`` (float16, (N, 1000)) is filled only when the unit saved
    logits and the caller asked for them (``Unit.records(logits=True)``), else None. A field
    left out on purpose (``Unit.records(fields=...)``) is None."""

    index: np.ndarray  # int64 (N,): position in the reader's stable order
    relpath: np.ndarray  # str (N,): path relative to the test set's root
    label: np.ndarray  # int64 (N,): label in the set's own label space
    top5: np.ndarray  # int16 (N, 5): predicted ImageNet-1k classes under the set's scoring
    correct1: np.ndarray  # bool (N,): top-1 correct under the set's scoring
    correct5: np.ndarray  # bool (N,)
    correct1_all: np.ndarray  # bool (N,): plain 1000-way top-1
    correct5_all: np.ndarray  # bool (N,)
    logits: np.ndarray | None = None  # float16 (N, 1000) or None

    def __len__(self) -> int:
        return next((len(v) for v in self.to_arrays().values()), 0)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    fields: tuple[str, ...] = RECORD_FIELDS) -> UnitRecords:
        """Typed records from the arrays of a ``records.npz``: ``fields`` (all by default) must
        be there, the others are None; ``logits`` is kept when present; other keys are ignored."""
        unknown = [f for f in fields if f not in RECORD_FIELDS]
        if unknown:
            raise ValueError(f"unknown record field(s) {', '.join(unknown)}; known: {', '.join(RECORD_FIELDS)}")
        missing = [f for f in fields if f not in arrays]
        if missing:
            raise KeyError(f"records lack field(s) {', '.join(missing)}")
        typed = {f: np.asarray(arrays[f]).astype(_RECORD_DTYPES[f], copy=False) if f in fields else None
                 for f in RECORD_FIELDS}
        logits = arrays.get("logits")
        return cls(**typed, logits=None if logits is None else np.asarray(logits).astype(np.float16, copy=False))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays as stored in ``records.npz`` (fields that are None left out)."""
        out = {f: getattr(self, f) for f in RECORD_FIELDS if getattr(self, f) is not None}
        if self.logits is not None:
            out["logits"] = self.logits
        return out


class Unit:
    """A finished unit folder, read through the store's schema.

    ``meta`` (the unit's meta.json, read once), ``spec`` (spec.json, or None when missing),
    ``records()`` (the typed per-image records), and the names ``model``, ``test_set``, ``key``
    and ``path``. ``Unit(path)`` opens a unit by its folder (e.g. the ``path`` column of
    ``Store.units()`` or ``units_frame``).
    """

    def __init__(self, path: str | Path):
        self.dir = UnitDir(Path(path))
        self._meta: dict[str, Any] | None = None
        self._spec: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Unit({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unit) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def path(self) -> Path:
        return self.dir.root

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = self.dir.read_meta()
        return self._meta

    @property
    def spec(self) -> dict[str, Any] | None:
        if self._spec is None:
            self._spec = self.dir.read_spec()
        return self._spec

    @property
    def model(self) -> str:
        """The model's name (from meta.json)."""
        return (_pair_names(self.meta) or ("", ""))[0]

    @property
    def test_set(self) -> str:
        """The test set's name (from meta.json)."""
        return (_pair_names(self.meta) or ("", ""))[1]

    @property
    def key(self) -> str:
        return str(self.meta.get("key", ""))

    @property
    def precision(self) -> str | None:
        spec = self.spec
        return (spec or {}).get("precision", self.meta.get("precision"))

    @property
    def save_logits(self) -> bool:
        return bool((self.spec or {}).get("save_logits"))

    def superseded(self) -> bool:
        return self.dir.superseded()

    def records(self, logits: bool = False, fields: tuple[str, ...] | None = None) -> UnitRecords:
        """The unit's per-image records; saved logits are read only when ``logits``, and only
        ``fields`` (names from ``RECORD_FIELDS``; all by default) when given, the others None."""
        fields = RECORD_FIELDS if fields is None else tuple(fields)
        with np.load(self.dir.records, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k in fields or (logits and k == "logits")}
        return UnitRecords.from_arrays(arrays, fields)


UNITS_COLUMNS = ["model", "test_set", "key", "path", "n", "top1", "top5", "precision", "finished_at"]


class Store:
    """A results directory holding units."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.units_root = self.out / "units"

    def unit(self, model: str, test_set: str, key: str) -> UnitDir:
        return UnitDir(self.pair_dir(model, test_set) / key[:16])

    def pair_dir(self, model: str, test_set: str) -> Path:
        """The folder of every unit of one (model, test set) pair."""
        return self.units_root / safe_name(model) / safe_name(test_set)

    def pair_units(self, model: str, test_set: str) -> list[UnitDir]:
        folder = self.pair_dir(model, test_set)
        if not folder.is_dir():
            return []
        return [UnitDir(p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]

    def record_pair_error(self, model: str, test_set: str, info: dict[str, Any]) -> None:
        """A failure before the unit's key was known (model not loaded, set not opened)."""
        atomic_write_json(self.pair_dir(model, test_set) / "error.json", info)

    def read_pair_error(self, model: str, test_set: str) -> dict[str, Any] | None:
        return _read_json_file(self.pair_dir(model, test_set) / "error.json")

    def pairs(self) -> list[tuple[str, str]]:
        """(model, test set) of every pair folder holding a unit or a recorded failure, read from
        the names inside its files (folder names are file-system-safe spellings)."""
        out: dict[tuple[str, str], None] = {}
        if not self.units_root.is_dir():
            return []
        for pair_dir in sorted(p for p in self.units_root.glob("*/*") if p.is_dir()):
            candidates = [pair_dir / "error.json"]
            for unit_dir in sorted(p for p in pair_dir.iterdir() if p.is_dir()):
                candidates += [unit_dir / "spec.json", unit_dir / "meta.json", unit_dir / "error.json"]
            for path in candidates:
                names = _pair_names(_read_json_file(path))
                if names is not None:
                    out[names] = None
                    break
        return list(out)

    def iter_units(self, include_superseded: bool = False) -> Iterator[UnitDir]:
        """Finished units (not those replaced by a newer unit, unless asked)."""
        if not self.units_root.is_dir():
            return
        for meta in sorted(self.units_root.glob("*/*/*/meta.json")):
            u = UnitDir(meta.parent)
            if u.records.is_file() and (include_superseded or not u.superseded()):
                yield u

    def iter_errors(self) -> Iterator[tuple[UnitDir, dict[str, Any]]]:
        if not self.units_root.is_dir():
            return
        for err in sorted(self.units_root.glob("*/*/*/error.json")):
            u = UnitDir(err.parent)
            if not u.finished():
                yield u, json.loads(err.read_text())

    def find_all(self, model: str, test_set: str, precision: str | None = None,
                 save_logits: bool | None = None) -> list[Unit]:
        """Current (not superseded) finished units of a pair, with the given settings when given."""
        out = []
        for d in self.pair_units(model, test_set):
            if not d.finished() or d.superseded():
                continue
            unit = Unit(d.root)
            if (unit.model, unit.test_set) != (model, test_set):  # another name with the same folder
                continue
            if precision is not None and unit.precision != precision:
                continue
            if save_logits is not None and unit.save_logits != bool(save_logits):
                continue
            out.append(unit)
        return out

    def find(self, model: str, test_set: str, precision: str | None = None,
             save_logits: bool | None = None) -> Unit | None:
        """The current finished unit of ``model`` on ``test_set`` (None when there is none).

        ``precision`` / ``save_logits`` pick among units of other settings; when several remain,
        the most recently finished one (the one the tables use)."""
        found = self.find_all(model, test_set, precision, save_logits)
        if not found:
            return None
        return max(found, key=lambda u: (str(u.meta.get("finished_at", "")), str(u.path)))

    def finished_units(self, include_superseded: bool = False) -> Iterator[Unit]:
        """Finished units as :class:`Unit` (not those replaced by a newer unit, unless asked)."""
        for d in self.iter_units(include_superseded=include_superseded):
            yield Unit(d.root)

    def units(self) -> pd.DataFrame:
        """One row per current finished unit (read from meta.json only, no records):
        ``UNITS_COLUMNS``, sorted by test set and model."""
        import pandas as pd

        rows = []
        for unit in self.finished_units():
            meta = unit.meta
            rows.append({"model": unit.model, "test_set": unit.test_set, "key": unit.key,
                         "path": str(unit.path), "n": int(meta["n"]), "top1": float(meta["top1"]),
                         "top5": float(meta["top5"]), "precision": meta.get("precision"),
                         "finished_at": meta.get("finished_at", "")})
        df = pd.DataFrame(rows, columns=UNITS_COLUMNS)
        return df.sort_values(["test_set", "model", "finished_at"]).reset_index(drop=True)
