"""The evaluation engine: run (model, test set) units into the per-image store.

A *unit* is one model (with its weights) on one test set (with its variant).
Its key hashes everything that changes its output (see :func:`unit_spec`);
finished units are never recomputed, a killed run resumes from the last
checkpoint inside the unit, and one failing unit is recorded without stopping
the others. Units are independent, so a cluster executor can run them in any
order or in parallel.

Images flow as: reader -> model's geometric transform (PIL) -> uint8 CHW tensor
(DataLoader workers) -> float in [0, 1] on the device -> network (normalisation
folded in) -> 1000-way logits -> scored under the test set's rule.
"""

from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor
from tqdm.auto import tqdm

from corruptions.errors import UserInputError
from corruptions.threads import init_worker_process, limit_opencv_threads

from . import __version__
from .datasets.base import (
    DEFAULT_GEOMETRY,
    BadImageError,
    LayoutError,
    input_geometry,
    score_logits,
)
from .datasets.catalogue import parse_set_name, root_names
from .datasets.fingerprint import ImageListFingerprint, test_set_fingerprint
from .datasets.registry import open_test_set as open_named_test_set
from .store import FORMAT_VERSION, Store, UnitDir, concat_records, load_records, unit_key
from .zoo.loader import load_model as load_named_model
from .zoo.resolve import match_weights
from .zoo.transforms import CenterCropOnly


@dataclass
class EvalConfig:
    """How to run units. Only ``precision`` and ``save_logits`` change stored results."""

    batch_size: int = 64
    workers: int = 4
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: str = "auto"  # auto (fp16 autocast on CUDA, fp32 elsewhere) | fp32 | fp16 | bf16
    save_logits: bool = False  # store float16 logits (N, 1000) beside the records
    skip_bad_images: bool = False  # skip unreadable images (counted in the metadata) instead of failing
    checkpoint_every: int = 2048  # images between resume checkpoints (rounded up to whole batches)
    progress: bool = True
    fingerprint: str = "stat"  # how a test set's image list is identified: stat | content
    upgrade_old_units: bool = False  # recompute finished units of an older store format in place

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def resolved(self) -> EvalConfig:
        """This config with ``device`` and ``precision`` decided (``auto`` resolved once, for
        every unit of a run)."""
        device = self.resolved_device()
        return replace(self, device=str(device), precision=self.resolved_precision(device))

    def resolved_precision(self, device: torch.device) -> str:
        if self.precision == "auto":
            return "fp16" if device.type == "cuda" else "fp32"
        if self.precision not in ("fp32", "fp16", "bf16"):
            raise ValueError(f"precision must be auto, fp32, fp16 or bf16, got {self.precision!r}")
        return self.precision


@dataclass
class UnitResult:
    model: str
    test_set: str
    key: str
    status: str  # done | cached | locked | failed
    n: int = 0
    top1: float | None = None  # percent
    error: str | None = None
    path: str | None = None
    partial: str | None = None  # why the set was incomplete, None when complete
    n_skipped: int = 0  # unreadable images skipped (--skip-bad-images)


@dataclass
class RunSummary:
    results: list[UnitResult] = field(default_factory=list)
    model_errors: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[UnitResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.model_errors

    def describe(self) -> str:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        lines = [
            "units: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
            if counts
            else "units: none"
        ]
        for name, err in self.model_errors.items():
            lines.append(f"  model {name} could not be loaded: {err}")
        for r in self.failed:
            lines.append(f"  FAILED {r.model} on {r.test_set}: {r.error}")
        return "\n".join(lines)


def library_versions() -> dict[str, str]:
    import PIL
    import torchvision

    out = {
        "robustness-harness": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }
    try:
        import timm

        out["timm"] = timm.__version__
    except ImportError:  # pragma: no cover - timm is a dependency
        pass
    return out


def unit_spec(model: Any, test_set: Any, precision: str, save_logits: bool,
              fingerprint: ImageListFingerprint | None = None) -> dict[str, Any]:
    """Everything that changes a unit's stored output; hashed into its key.

    The model's name, source and the SHA-256 of the weights actually loaded (and of a
    zero-shot head or class-order mapping, ``ModelInfo.head_identity``), its preprocessing, the precision, the scoring, and the fingerprint of the test
    set's image list (paths, labels, sizes and modification times; see
    :mod:`robustness.datasets.fingerprint`). The set's folder is not part of it:
    the same images elsewhere are the same unit.
    """
    info = model.info
    described = test_set.info.describe()
    described.pop("root", None)
    fingerprint = fingerprint or test_set_fingerprint(test_set)
    head = info.head_identity() if hasattr(info, "head_identity") else None
    return {
        "model": {
            "name": info.name,
            "source": getattr(info, "source", None),
            "weights_sha256": info.weights_sha256,
            "num_classes": info.num_classes,
            **({"head": head} if head else {}),  # zero-shot text head, re-ordered classes
        },
        "transform": input_transform_spec(model, test_set),
        "test_set": {**described, "images": fingerprint.describe()},
        "precision": precision,
        "save_logits": bool(save_logits),
    }


def unit_provenance(model: Any, test_set: Any, open_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where a unit's inputs came from (not hashed): the weights file and the set's folder.

    ``status`` and the cluster launcher use it to tell a stale unit without loading a model.
    """
    weights = str(model.info.weights)
    out: dict[str, Any] = {"weights": weights, "test_set_root": str(Path(test_set.info.root).resolve()),
                           "open_options": dict(open_options or {})}
    path = Path(weights)
    if path.is_absolute() and path.is_file():
        st = path.stat()
        out["weights_file"] = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return out


def input_transform(model: Any, test_set: Any) -> Callable:
    """PIL -> PIL geometry of ``test_set``'s images for ``model``: the model's own transform,
    or a center crop to its input side for a pre-cropped set opened with
    ``geometry=center-crop`` (``robustness.datasets.base.GEOMETRIES``)."""
    if input_geometry(test_set.info) != "center-crop":
        return model.transform
    crop = CenterCropOnly(int(model.info.img_size))
    if len(test_set) > 0:  # here, not in a DataLoader worker: a one-line error before any work
        try:
            crop.check(test_set[0][0].size)
        except BadImageError:
            pass  # the unit reports it (or skips it) like any unreadable image
    return crop


def input_transform_spec(model: Any, test_set: Any) -> dict[str, Any]:
    """The model's transform spec, plus ``geometry`` when it is not the default."""
    geometry = input_geometry(test_set.info)
    return {**model.transform_spec(), **({"geometry": geometry} if geometry != DEFAULT_GEOMETRY else {})}


class _Preprocessed(Dataset):
    """Reader items at ``positions`` -> (uint8 CHW tensor, label, index, relpath, error)."""

    def __init__(self, test_set, positions: Sequence[int], transform: Callable, fallback_shape):
        self.test_set = test_set
        self.positions = list(positions)
        self.transform = transform
        self.fallback_shape = tuple(fallback_shape)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, j: int):
        pos = self.positions[j]
        try:
            image, label, index, relpath = self.test_set[pos]
            x = pil_to_tensor(self.transform(image))
            return x, int(label), int(index), str(relpath), ""
        except BadImageError as exc:
            label = int(self.test_set.labels[pos])
            relpath = str(self.test_set.relpaths[pos])
            return torch.zeros(self.fallback_shape, dtype=torch.uint8), label, pos, relpath, str(exc)


def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return torch.autocast(device_type=device.type, enabled=False)
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _load_parts(unit: UnitDir, test_set: Any) -> tuple[list[dict[str, np.ndarray]], int]:
    """Checkpointed parts of an unfinished unit and how many positions they cover.

    Parts are kept only while they describe the set's current image list, position by
    position (relative path and label); otherwise they are dropped and the unit starts over.
    """
    parts, covered = [], 0
    for path in unit.part_files():
        start = int(path.stem.split("-")[1])
        if start != covered:  # a gap: keep only the contiguous prefix
            break
        try:
            part = load_records(path)
        except Exception:  # a part torn by a crash mid-rename cannot exist; a corrupt one is redone
            break
        parts.append(part)
        covered += len(part["index"])
    if not parts:
        return [], 0
    done = concat_records(parts)
    expected_paths = np.asarray(test_set.relpaths[:covered], dtype=str)
    expected_labels = np.asarray(test_set.labels[:covered], dtype=np.int64)
    if (covered > len(test_set) or not np.array_equal(done["relpath"].astype(str), expected_paths)
            or not np.array_equal(done["label"], expected_labels)):
        unit.clear_parts()
        return [], 0
    return parts, covered


def _batches(loader: DataLoader, network: torch.nn.Module, device: torch.device, precision: str,
             scoring: Any, save_logits: bool, skip_bad: bool, root: Path,
             skipped: list[dict[str, str]]):
    """Score the loader's batches: yields one record dict per batch (``_valid`` marks decoded images)."""
    channels_last = device.type == "cuda"
    for x, labels, indices, relpaths, errors in loader:
        bad = [i for i, e in enumerate(errors) if e]
        if bad and not skip_bad:
            raise BadImageError(root / relpaths[bad[0]], errors[bad[0]])
        for i in bad:
            skipped.append({"relpath": relpaths[i], "error": errors[i]})
        x = x.to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(device, precision):
            logits = network(x.float().div_(255.0))
        logits = logits.float()
        scored = score_logits(logits, labels, scoring)
        rec = {
            "index": indices.numpy().astype(np.int64),
            "relpath": np.array(relpaths, dtype=str),
            "label": labels.numpy().astype(np.int64),
            "top5": scored.top5.astype(np.int16),
            "correct1": scored.correct1,
            "correct5": scored.correct5,
            "correct1_all": scored.correct1_all,
            "correct5_all": scored.correct5_all,
        }
        if scored.prob5 is not None:  # the scoring of every built-in set gives them
            rec["prob5"] = scored.prob5.astype(np.float16)
            rec["p_true"] = scored.p_true.astype(np.float16)
        if save_logits:
            rec["logits"] = logits.cpu().numpy().astype(np.float16)
        rec["_valid"] = np.array([not e for e in errors], dtype=bool)
        yield rec


def evaluate_unit(model: Any, test_set: Any, store: Store, config: EvalConfig, *,
                  fingerprint: ImageListFingerprint | None = None,
                  open_options: dict[str, Any] | None = None,
                  partial: str | None = None) -> UnitResult:
    """Evaluate one model on one test set into ``store``; resume if partly done.

    The unit's key is :func:`unit_spec`'s hash. A finished unit of the same key is
    returned as ``cached``; one being computed by another process (its lock is held)
    as ``locked``. ``partial``: why the set is incomplete (recorded in the unit's
    metadata and shown in tables), None for a complete set.
    """
    device = config.resolved_device()
    precision = config.resolved_precision(device)
    fingerprint = fingerprint or test_set_fingerprint(test_set, config.fingerprint)
    spec = unit_spec(model, test_set, precision, config.save_logits, fingerprint)
    key = unit_key(spec)
    name, set_name = model.info.name, test_set.info.name
    unit = store.unit(name, set_name, key)
    if unit.finished() and not _to_upgrade(unit, config):
        return _cached(unit, name, set_name, key)
    holder = unit.try_lock()
    if holder is not None:
        return UnitResult(name, set_name, key, "locked", path=str(unit.root),
                          error=f"being computed by another run (host {holder.get('host')}, "
                          f"pid {holder.get('pid')}, since {holder.get('started')})")
    try:
        if unit.finished() and not _to_upgrade(unit, config):  # finished by another run meanwhile
            return _cached(unit, name, set_name, key)
        unit.write_spec({"key": key, **spec,
                         "provenance": unit_provenance(model, test_set, open_options)})
        return _compute_unit(model, test_set, unit, key, config, device, precision, partial)
    finally:
        unit.release_lock()


def _to_upgrade(unit: UnitDir, config: EvalConfig) -> bool:
    """A finished unit of an older store format, to recompute under ``upgrade_old_units``
    (format 1 stored no per-image confidences)."""
    return config.upgrade_old_units and int(unit.read_meta().get("format", 1)) < FORMAT_VERSION


def _cached(unit: UnitDir, name: str, set_name: str, key: str) -> UnitResult:
    if unit.superseded():  # the inputs went back to those of an older unit: it is current again
        unit.reinstate()
    meta = unit.read_meta()
    return UnitResult(name, set_name, key, "cached", meta["n"], meta["top1"], path=str(unit.root),
                      partial=meta.get("partial"), n_skipped=len(meta.get("skipped_images", [])))


def _compute_unit(model: Any, test_set: Any, unit: UnitDir, key: str, config: EvalConfig,
                  device: torch.device, precision: str, partial: str | None) -> UnitResult:
    """The three steps of computing a unit: batches with checkpoints, then the records and
    metadata, written by the store."""
    t0 = time.perf_counter()
    records, skipped, resumed_from = _checkpointed_records(model, test_set, unit, config, device,
                                                           precision)
    if not records["evaluated"].any():
        raise RuntimeError(f"no images could be evaluated in {test_set.info.root}")
    meta = unit_meta(model, test_set, key, records, config=config, device=device,
                     precision=precision, skipped=skipped, partial=partial,
                     resumed_from=resumed_from, seconds=time.perf_counter() - t0)
    unit.finish(records, meta)
    return UnitResult(model.info.name, test_set.info.name, key, "done", meta["n"], meta["top1"],
                      path=str(unit.root), partial=partial, n_skipped=len(skipped))


def _checkpointed_records(model: Any, test_set: Any, unit: UnitDir, config: EvalConfig,
                          device: torch.device, precision: str):
    """Batch iteration from the last checkpoint on, writing a part every ``checkpoint_every``
    images. Returns (records of every position, with ``evaluated``; skipped images; position resumed from)."""
    n_total = len(test_set)
    bs = int(config.batch_size)
    if bs < 1:
        raise UserInputError(f"batch size must be at least 1, got {config.batch_size}")
    chunk = max(bs, -(-int(config.checkpoint_every) // bs) * bs)
    parts, start = _load_parts(unit, test_set)
    size = model.info.img_size
    view = _Preprocessed(test_set, range(start, n_total), input_transform(model, test_set),
                         (3, size, size))
    if int(config.workers) > 0:  # forked workers keep it: set before the fork (corruptions.threads)
        limit_opencv_threads(1)
    loader = DataLoader(
        view,
        batch_size=bs,
        shuffle=False,
        num_workers=max(0, int(config.workers)),
        pin_memory=device.type == "cuda",
        persistent_workers=False,
        worker_init_fn=init_worker_process,  # one library thread per worker: workers are the parallelism
    )
    network = model.network
    if device.type == "cuda":
        network = network.to(memory_format=torch.channels_last)
    network.eval()
    pending: list[dict[str, np.ndarray]] = []
    pending_start = start
    skipped: list[dict[str, str]] = []
    bar = tqdm(total=n_total, initial=start, desc=f"{model.info.name} | {test_set.info.name}",
               unit="img", disable=not config.progress, leave=False)
    with torch.inference_mode():
        for rec in _batches(loader, network, device, precision, test_set.info.scoring,
                            config.save_logits, config.skip_bad_images, Path(test_set.info.root), skipped):
            pending.append(rec)
            bar.update(len(rec["index"]))
            unit.touch_lock()
            done = sum(len(p["index"]) for p in pending)
            if done >= chunk:
                part = concat_records(pending)
                unit.write_part(pending_start, part)
                parts.append(part)
                pending_start += done
                pending = []
    bar.close()
    if pending:
        parts.append(concat_records(pending))
    records, skipped = _valid_records(parts, skipped)
    return records, skipped, start


def unit_meta(model: Any, test_set: Any, key: str, records: dict[str, np.ndarray], *,
              config: EvalConfig, device: torch.device, precision: str,
              skipped: list[dict[str, str]], partial: str | None, resumed_from: int,
              seconds: float) -> dict[str, Any]:
    """A finished unit's meta.json: the model, the set, the settings, the accuracies (percent,
    over the evaluated images) and how it was computed."""
    evaluated = np.asarray(records["evaluated"], dtype=bool)
    return {
        "key": key,
        "model": asdict(model.info),
        "test_set": test_set.info.describe(),
        "transform": input_transform_spec(model, test_set),
        "precision": precision,
        "device": str(device),
        "batch_size": int(config.batch_size),
        "n": int(evaluated.sum()),
        "n_total": len(test_set),
        "top1": float(100.0 * records["correct1"][evaluated].mean()),
        "top5": float(100.0 * records["correct5"][evaluated].mean()),
        "top1_all": float(100.0 * records["correct1_all"][evaluated].mean()),
        "top5_all": float(100.0 * records["correct5_all"][evaluated].mean()),
        "skipped_images": skipped,
        "partial": partial,
        "resumed_from": resumed_from,
        "eval_seconds": seconds,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": library_versions(),
    }


def _valid_records(parts: list[dict[str, np.ndarray]], skipped: list[dict[str, str]]):
    """Every position's records with ``evaluated`` (False for an image that could not be
    decoded, whose predictions are not kept); every skipped image is listed once."""
    allrec = concat_records(parts) if parts else {}
    evaluated = allrec.pop("_valid", np.zeros(0, dtype=bool)).astype(bool)
    if len(evaluated) and not evaluated.all():
        seen = {s["relpath"] for s in skipped}
        for rp in allrec["relpath"][~evaluated]:
            if str(rp) not in seen:
                skipped.append({"relpath": str(rp), "error": "skipped in an earlier, interrupted run"})
    return {**allrec, "evaluated": evaluated}, skipped


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, torch.OutOfMemoryError):
        return f"out of memory ({exc}); lower --batch-size"
    return f"{type(exc).__name__}: {exc}"


def set_root(name: str, roots: dict[str, str]) -> str | None:
    """The folder a user gave for ``name``: its own ``--root`` entry, else its set group's
    (``imagenet-c``), else the folder the group renders from (see ``catalogue.root_names``)."""
    return next((roots[k] for k in root_names(name) if k in roots), None)


def set_options(name: str, options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Reader options for ``name``: its set group's, overridden by its own."""
    group = parse_set_name(name).group
    out = dict(options.get(group, {})) if group is not None else {}
    out.update(options.get(name, {}))
    return out


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def partial_reason(open_test_set: Callable, set_name: str, data_root: Any, root: str | None,
                   options: dict[str, Any]) -> str | None:
    """Why a set opened with ``allow_partial`` is incomplete (the reader's own words), or None.

    The set is opened once more without ``allow_partial``: the reader's layout check is
    the one definition of complete."""
    if not options.get("allow_partial"):
        return None
    strict = {k: v for k, v in options.items() if k != "allow_partial"}
    try:
        open_test_set(set_name, data_root, root=root, **strict)
    except LayoutError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if "incomplete" in ln]
        reason = lines[0] if lines else str(exc).splitlines()[0]
        reason = reason.split("incomplete", 1)[1] if "incomplete" in reason else reason
        return ("incomplete" + reason.split(" (", 1)[0]).rstrip(".")
    return None


@dataclass
class _OpenedSet:
    """A test set opened once per run, with what every unit on it needs."""

    test_set: Any
    fingerprint: ImageListFingerprint
    options: dict[str, Any]
    partial: str | None


def run_evaluation(
    models: Sequence[str],
    test_sets: Sequence[str],
    out: str | Path,
    data_root: str | Path | None = None,
    roots: dict[str, str] | None = None,
    config: EvalConfig | None = None,
    weights: dict[str, str] | None = None,
    load_model: Callable | None = None,
    open_test_set: Callable | None = None,
    dataset_options: dict[str, dict[str, Any]] | None = None,
) -> RunSummary:
    """Evaluate every model on every test set, loading each model once.

    ``test_sets`` are reader names (``imagenet``, ``imagenet-c.fog.3``, ...);
    ``roots`` overrides a set's folder (``{"imagenet": "/data/val"}``);
    ``weights`` maps a model name (short or full, as in ``models``) to a local
    weight file; ``dataset_options`` maps a set name to reader options
    (``{"imagenet": {"allow_partial": True}}``). Each unit is skipped only when a
    finished unit of exactly its key exists (see :func:`unit_spec`). Returns a
    summary; failures are recorded in the store and in the summary.
    """
    load_model = load_model or load_named_model
    open_test_set = open_test_set or open_named_test_set
    config = (config or EvalConfig()).resolved()
    store = Store(out)
    summary = RunSummary()
    roots = roots or {}
    # names as --models resolves them; contents are read by load_model (preflight checked them
    # for runs through submit_evaluation)
    weights = match_weights(weights or {}, models, check_contents=False)
    opened: dict[str, _OpenedSet] = {}
    open_errors: dict[str, tuple[str, str]] = {}
    device = config.resolved_device()
    for model_name in models:
        try:
            model = load_model(model_name, weights=weights.get(model_name), device=device)
        except Exception as exc:
            summary.model_errors[model_name] = _error_text(exc)
            for set_name in test_sets:
                store.record_pair_error(model_name, set_name, {
                    "model": model_name, "test_set": set_name, "stage": "model",
                    "error": f"model not loaded: {_error_text(exc)}",
                    "traceback": traceback.format_exc(), "at": _now()})
            continue
        for set_name in test_sets:
            try:
                if set_name in open_errors:
                    result = UnitResult(model.info.name, set_name, "", "failed", error=open_errors[set_name][0])
                    store.record_pair_error(model.info.name, set_name, {
                        "model": model.info.name, "test_set": set_name, "stage": "test set",
                        "error": open_errors[set_name][0], "traceback": open_errors[set_name][1],
                        "at": _now()})
                    summary.results.append(result)
                    continue
                if set_name not in opened:
                    opened[set_name] = _open(open_test_set, set_name, data_root, roots,
                                             dataset_options or {}, config)
                ds = opened[set_name]
                result = evaluate_unit(model, ds.test_set, store, config, fingerprint=ds.fingerprint,
                                       open_options=ds.options, partial=ds.partial)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                result = UnitResult(model.info.name, set_name, "", "failed", error=_error_text(exc))
                info = {"model": model.info.name, "test_set": set_name, "error": result.error,
                        "traceback": traceback.format_exc(), "at": _now()}
                ds = opened.get(set_name)
                if ds is None:
                    open_errors[set_name] = (result.error, info["traceback"])
                    store.record_pair_error(model.info.name, set_name, {**info, "stage": "test set"})
                else:
                    precision = config.resolved_precision(device)
                    result.key = unit_key(unit_spec(model, ds.test_set, precision, config.save_logits,
                                                    ds.fingerprint))
                    store.unit(model.info.name, set_name, result.key).record_error(info)
            summary.results.append(result)
        del model
    return summary


def _open(open_test_set: Callable, set_name: str, data_root: Any, roots: dict[str, str],
          dataset_options: dict[str, dict[str, Any]], config: EvalConfig) -> _OpenedSet:
    root = set_root(set_name, roots)
    options = set_options(set_name, dataset_options)
    test_set = open_test_set(set_name, data_root, root=root, **options)
    return _OpenedSet(test_set, test_set_fingerprint(test_set, config.fingerprint), options,
                      partial_reason(open_test_set, set_name, data_root, root, options))
