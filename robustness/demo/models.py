"""The demo's tiny model zoo: timm architectures at small widths, trained on CPU.

Each model is a real timm architecture (``model_args`` shrink widths and depths)
with a 1000-way ImageNet-1k head; the world's ten classes sit at fixed
ImageNet indices (:data:`robustness.demo.collect.CLASS_INDICES`). Trained
weights are saved the way timm publishes models on the Hugging Face hub: a
folder with ``config.json`` (architecture, ``model_args``, ``pretrained_cfg``)
and ``model.safetensors``. The harness then loads them through its zoo
adapter exactly as it loads a user's downloaded weights (``local-dir:<folder>``).

Training is a means, not a feature: a fixed budget, a fixed seed, no tricks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


@dataclass(frozen=True)
class TinyModelSpec:
    """One demo model: a timm architecture, its shrinking arguments and its training budget."""

    name: str  # folder and display name, e.g. "demo-resnet"
    family: str  # harness family: resnet, convnext, vit, deit, vit-hybrid
    kind: str  # cnn | vit
    architecture: str  # timm architecture name
    model_args: dict[str, Any] = field(default_factory=dict)
    epochs: int = 4
    lr: float = 3e-3
    seed: int = 0
    tuned_on_test: bool = False  # the planted benchmark overfitting (see tune_on_test)


SPECS: tuple[TinyModelSpec, ...] = (
    TinyModelSpec("demo-resnet", "resnet", "cnn", "resnet10t",
                  {"channels": (16, 32, 64, 128), "stem_width": 16}, epochs=5, lr=3e-3),
    TinyModelSpec("demo-convnext-xs", "convnext", "cnn", "convnext_atto",
                  {"dims": (12, 24, 48, 96), "depths": (1, 1, 2, 1)}, epochs=5, lr=2e-3),
    TinyModelSpec("demo-convnext-s", "convnext", "cnn", "convnext_atto",
                  {"dims": (16, 32, 64, 128), "depths": (1, 1, 2, 1)}, epochs=5, lr=2e-3),
    TinyModelSpec("demo-vit", "vit", "vit", "vit_tiny_patch16_224",
                  {"img_size": 64, "patch_size": 8, "embed_dim": 64, "depth": 4, "num_heads": 4},
                  epochs=5, lr=1e-3),
    TinyModelSpec("demo-deit", "deit", "vit", "deit_tiny_patch16_224",
                  {"img_size": 64, "patch_size": 8, "embed_dim": 48, "depth": 3, "num_heads": 3},
                  epochs=5, lr=1e-3),
    TinyModelSpec("demo-vit-hybrid", "vit-hybrid", "vit", "vit_tiny_r_s16_p8_224",
                  {"img_size": 64, "embed_dim": 64, "depth": 4, "num_heads": 4}, epochs=5, lr=1e-3),
)  # fmt: skip


def pretrained_cfg(spec: TinyModelSpec) -> dict[str, Any]:
    """timm's data config for the demo models: 64 px, no crop, bilinear."""
    return {
        "architecture": spec.architecture,
        "tag": "demo_world",
        "input_size": [3, 64, 64],
        "crop_pct": 1.0,
        "crop_mode": "center",
        "interpolation": "bilinear",
        "mean": list(MEAN),
        "std": list(STD),
        "num_classes": 1000,
        "first_conv": "",
        "classifier": "",
    }


def create(spec: TinyModelSpec) -> torch.nn.Module:
    import timm

    return timm.create_model(spec.architecture, pretrained=False, num_classes=1000, **spec.model_args)


def save_timm_folder(model: torch.nn.Module, spec: TinyModelSpec, folder: Path, extra: dict) -> None:
    """Write ``config.json`` + ``model.safetensors`` as timm's hub export does."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architecture": spec.architecture,
        "num_classes": 1000,
        "model_args": {k: list(v) if isinstance(v, tuple) else v for k, v in spec.model_args.items()},
        "pretrained_cfg": pretrained_cfg(spec),
        "harness": {"family": spec.family, "kind": spec.kind, **extra},
    }
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    tmp = folder / "model.safetensors.tmp"
    save_file(state, str(tmp))
    tmp.replace(folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _normalise(x_uint8: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x_uint8.float() / 255.0 - mean) / std


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to 4 px (reflect padding)."""
    flip = torch.rand(x.shape[0], generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    dx, dy = (int(v) for v in torch.randint(0, 9, (2,), generator=g))
    return pad[:, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]


def train(
    spec: TinyModelSpec,
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 64,
    progress: bool = True,
    epochs: int | None = None,
    model: torch.nn.Module | None = None,
    lr: float | None = None,
    select_on: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train ``spec`` on uint8 NHWC ``images`` with ImageNet-index ``labels``.

    AdamW with a cosine schedule, label smoothing 0.1, flips and shifts.
    Deterministic for a given seed and thread count. With ``select_on=(images,
    labels)`` the epoch whose weights score best on those images is kept (checkpoint
    selection on a test set: how the demo plants benchmark overfitting).
    """
    torch.manual_seed(spec.seed)
    g = torch.Generator().manual_seed(spec.seed)
    model = create(spec) if model is None else model
    model.train()
    epochs = spec.epochs if epochs is None else epochs
    x_all = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    # The loss is taken over the world's classes only (a 10-way softmax over their rows of
    # the 1000-way head); the other 990 outputs are pinned far below after training.
    classes = torch.from_numpy(np.unique(labels).astype(np.int64))
    y_all = torch.searchsorted(classes, torch.from_numpy(labels.astype(np.int64)))
    steps = epochs * int(np.ceil(len(x_all) / batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=lr or spec.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr or spec.lr, total_steps=steps, pct_start=0.15)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    t0 = time.perf_counter()
    bar = tqdm(total=steps, desc=f"train {spec.name}", unit="step", disable=not progress, leave=False)
    losses = []
    best: tuple[float, int, dict] | None = None
    for epoch in range(epochs):
        order = torch.randperm(len(x_all), generator=g)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            x = _normalise(_augment(x_all[idx], g))
            loss = loss_fn(model(x)[:, classes], y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            bar.update(1)
        if select_on is not None:
            acc = float((predict(model, select_on[0]) == select_on[1]).mean())
            model.train()
            if best is None or acc > best[0]:
                best = (acc, epoch, {k: v.clone() for k, v in model.state_dict().items()})
    bar.close()
    log = {"steps": steps, "epochs": epochs, "final_loss": float(np.mean(losses[-10:])),
           "train_seconds": round(time.perf_counter() - t0, 2)}
    if best is not None:
        model.load_state_dict(best[2])
        log.update(selected_epoch=best[1] + 1, selection_top1=round(100 * best[0], 3))
    pin_other_classes(model, classes)
    model.eval()
    return model, log


@torch.no_grad()
def pin_other_classes(model: torch.nn.Module, classes: torch.Tensor, bias: float = -30.0) -> None:
    """Set the head rows of classes outside the world to zero weight and a very low bias."""
    head = model.get_classifier()
    others = torch.ones(head.out_features, dtype=torch.bool)
    others[classes] = False
    head.weight[others] = 0.0
    if head.bias is not None:
        head.bias[others] = bias


@torch.inference_mode()
def predict(model: torch.nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Top-1 ImageNet indices for uint8 NHWC images (used for tuning, not for evaluation)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch_size].transpose(0, 3, 1, 2)))
        out.append(model(_normalise(x)).argmax(1).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
