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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor
from tqdm.auto import tqdm

from . import __version__
from .datasets.base import BadImageError, score_logits
from .datasets.imagenet_c import parse_family_unit
from .store import Store, UnitDir, atomic_write_json, concat_records, load_records, unit_key


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

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

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
    status: str  # done | cached | failed
    n: int = 0
    top1: float | None = None  # percent
    error: str | None = None
    path: str | None = None


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


def unit_spec(model: Any, test_set: Any, precision: str, save_logits: bool) -> dict[str, Any]:
    """Everything that changes a unit's stored output; hashed into its key."""
    info = model.info
    return {
        "model": {
            "name": info.name,
            "weights_sha256": info.weights_sha256,
            "num_classes": info.num_classes,
        },
        "transform": model.transform_spec(),
        "test_set": test_set.info.describe(),
        "precision": precision,
        "save_logits": bool(save_logits),
    }


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


def _load_parts(unit: UnitDir) -> tuple[list[dict[str, np.ndarray]], int]:
    """Checkpointed parts of an unfinished unit and how many positions they cover."""
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
    return parts, covered


def evaluate_unit(model: Any, test_set: Any, store: Store, config: EvalConfig) -> UnitResult:
    """Evaluate one model on one test set into ``store``; resume if partly done."""
    device = config.resolved_device()
    precision = config.resolved_precision(device)
    spec = unit_spec(model, test_set, precision, config.save_logits)
    key = unit_key(spec)
    name, set_name = model.info.name, test_set.info.name
    unit = store.unit(name, set_name, key)
    if unit.finished():
        meta = unit.read_meta()
        return UnitResult(name, set_name, key, "cached", meta["n"], meta["top1"], path=str(unit.root))

    n_total = len(test_set)
    bs = max(1, int(config.batch_size))
    chunk = max(bs, -(-int(config.checkpoint_every) // bs) * bs)
    parts, start = _load_parts(unit)
    start = min(start, n_total)
    atomic_write_json(unit.root / "spec.json", {"key": key, **spec})

    size = model.info.img_size
    view = _Preprocessed(test_set, range(start, n_total), model.transform, (3, size, size))
    loader = DataLoader(
        view,
        batch_size=bs,
        shuffle=False,
        num_workers=max(0, int(config.workers)),
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )
    network = model.network
    channels_last = device.type == "cuda"
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
    network.eval()
    scoring = test_set.info.scoring
    pending: list[dict[str, np.ndarray]] = []
    pending_start = start
    skipped: list[dict[str, str]] = []
    t0 = time.perf_counter()
    bar = tqdm(
        total=n_total,
        initial=start,
        desc=f"{name} | {set_name}",
        unit="img",
        disable=not config.progress,
        leave=False,
    )
    with torch.inference_mode():
        for x, labels, indices, relpaths, errors in loader:
            bad = [i for i, e in enumerate(errors) if e]
            if bad and not config.skip_bad_images:
                raise BadImageError(Path(test_set.info.root) / relpaths[bad[0]], errors[bad[0]])
            keep = np.array([not e for e in errors], dtype=bool)
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
            if config.save_logits:
                rec["logits"] = logits.cpu().numpy().astype(np.float16)
            rec["_valid"] = keep
            pending.append(rec)
            bar.update(len(labels))
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
    allrec = concat_records(parts) if parts else {}
    valid = allrec.pop("_valid", np.zeros(0, dtype=bool)).astype(bool)
    if len(valid) and not valid.all():
        for rp in allrec["relpath"][~valid]:
            if not any(s["relpath"] == rp for s in skipped):
                skipped.append({"relpath": str(rp), "error": "skipped in an earlier, interrupted run"})
    records = {k: v[valid] for k, v in allrec.items()}
    n = int(len(records.get("index", [])))
    if n == 0:
        raise RuntimeError(f"no images could be evaluated in {test_set.info.root}")
    top1 = float(100.0 * records["correct1"].mean())
    top5 = float(100.0 * records["correct5"].mean())
    meta = {
        "key": key,
        "model": asdict(model.info),
        "test_set": test_set.info.describe(),
        "transform": model.transform_spec(),
        "precision": precision,
        "device": str(device),
        "batch_size": bs,
        "n": n,
        "n_total": n_total,
        "top1": top1,
        "top5": top5,
        "top1_all": float(100.0 * records["correct1_all"].mean()),
        "top5_all": float(100.0 * records["correct5_all"].mean()),
        "skipped_images": skipped,
        "resumed_from": start,
        "eval_seconds": time.perf_counter() - t0,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": library_versions(),
    }
    unit.finish(records, meta)
    return UnitResult(name, set_name, key, "done", n, top1, path=str(unit.root))


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, torch.OutOfMemoryError):
        return f"out of memory ({exc}); lower --batch-size"
    return f"{type(exc).__name__}: {exc}"


def _family(name: str) -> str | None:
    unit = parse_family_unit(name)
    return None if unit is None else unit[0]


def set_root(name: str, roots: dict[str, str]) -> str | None:
    """The folder a user gave for ``name``; ImageNet-C(-like) units fall back to their family's
    (``imagenet-c``, ``imagenet-c-bar``, ``imagenet-shifts``)."""
    if name in roots:
        return roots[name]
    family = _family(name)
    if family is None:
        return None
    if family == "imagenet-c-inmemory":  # rendered from val: val's folder serves
        return roots.get(family, roots.get("imagenet"))
    return roots.get(family)


def _options_for(name: str, options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    family = _family(name)
    out = dict(options.get(family, {})) if family is not None else {}
    out.update(options.get(name, {}))
    return out


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
    ``weights`` maps a model name to a local weight file; ``dataset_options``
    maps a set name to reader options (``{"imagenet": {"allow_partial": True}}``).
    Returns a summary; failures are recorded in the store and in the summary.
    """
    if load_model is None:
        from .zoo import load_model
    if open_test_set is None:
        from .datasets import open_test_set
    config = config or EvalConfig()
    store = Store(out)
    summary = RunSummary()
    roots = roots or {}
    weights = weights or {}
    opened: dict[str, Any] = {}
    for model_name in models:
        try:
            model = load_model(model_name, weights=weights.get(model_name), device=config.resolved_device())
        except Exception as exc:
            summary.model_errors[model_name] = _error_text(exc)
            atomic_write_json(
                store.units_root / "_load_errors" / f"{model_name.replace('/', '_')}.json",
                {"model": model_name, "error": _error_text(exc), "traceback": traceback.format_exc()},
            )
            continue
        for set_name in test_sets:
            try:
                if set_name not in opened:
                    opened[set_name] = open_test_set(
                        set_name, data_root, root=set_root(set_name, roots),
                        **_options_for(set_name, dataset_options or {}),
                    )
                result = evaluate_unit(model, opened[set_name], store, config)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                result = UnitResult(model.info.name, set_name, "", "failed", error=_error_text(exc))
                ds = opened.get(set_name)
                if ds is not None:
                    device = config.resolved_device()
                    spec = unit_spec(model, ds, config.resolved_precision(device), config.save_logits)
                    key = unit_key(spec)
                    result.key = key
                    store.unit(model.info.name, set_name, key).record_error(
                        {"model": model.info.name, "test_set": set_name, "error": result.error,
                         "traceback": traceback.format_exc(),
                         "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
                    )
            summary.results.append(result)
        del model
    return summary
