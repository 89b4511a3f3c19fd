"""The demo's zero-shot model: a tiny CLIP trained contrastively on the world's captions.

An open_clip ``CLIP`` built from a small config (a ViT image tower on 8 px patches, a
one-layer text transformer; random initialisation, nothing downloaded) is trained with
CLIP's symmetric InfoNCE loss on pairs (training image, caption), the caption being one of
:data:`TEMPLATES` filled with the image's class name from the world
(:data:`robustness.demo.world.SHAPES`: "a photo of a star."). As in CLIP, captions of other
images in the batch are the negatives, including identical captions of same-class images.

No class label is used except through the caption text. The model is then saved in
open_clip's folder layout with a ``zero_shot`` entry naming the world's classes at their
ImageNet-1k indices (:data:`robustness.demo.collect.CLASS_INDICES`) and the templates, so
``openclip-local:<folder>`` builds its zero-shot head over the world's class names (not
ImageNet's) in the harness's 1000-way label space, like the demo's other models.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .collect import CLASS_INDICES
from .models import MEAN, STD, _augment, _normalise
from .world import SHAPES

CONFIG_FILE = "open_clip_config.json"  # what marks an open_clip folder (openclip-local:)

TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.", "a picture of a {}.", "a graphic of a {}.", "a drawing of a {}.",
    "a {} shape.", "an image of a {}.", "a photo of the {}.", "a {} on a background.",
)  # fmt: skip
"""Caption templates: training captions and the zero-shot head's prompts."""


@dataclass(frozen=True)
class TinyClipSpec:
    """The tiny CLIP's architecture (open_clip ``model_cfg`` fields) and training budget."""

    name: str = "demo-clip"  # folder and display name
    family: str = "clip"
    embed_dim: int = 32  # joint embedding width
    image_size: int = 64  # px
    patch_size: int = 8  # px
    vision_width: int = 64
    vision_layers: int = 4
    vision_head_width: int = 16  # width per attention head (4 heads)
    text_width: int = 32
    text_layers: int = 1
    text_heads: int = 2
    context_length: int = 16  # tokens; the longest caption has 9
    epochs: int = 12  # passes over the training images
    batch_size: int = 128  # images (and captions) per step
    lr: float = 2e-3  # peak AdamW learning rate (one-cycle schedule)
    weight_decay: float = 0.1
    seed: int = 0
    templates: tuple[str, ...] = TEMPLATES

    def key(self) -> str:
        """12 hex digits of SHA-256 over every field: the cache key of a trained model."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def model_cfg(spec: TinyClipSpec) -> dict[str, Any]:
    """open_clip's ``model_cfg`` for the spec (as in ``open_clip_config.json``)."""
    return {
        "embed_dim": spec.embed_dim,
        "vision_cfg": {"image_size": spec.image_size, "patch_size": spec.patch_size,
                       "width": spec.vision_width, "layers": spec.vision_layers,
                       "head_width": spec.vision_head_width},
        "text_cfg": {"context_length": spec.context_length, "vocab_size": 49408,
                     "width": spec.text_width, "heads": spec.text_heads, "layers": spec.text_layers},
    }


def preprocess_cfg(spec: TinyClipSpec) -> dict[str, Any]:
    """The demo models' preprocessing (64 px, no crop, bilinear, the demo's mean/std)."""
    return {"size": spec.image_size, "mode": "RGB", "mean": list(MEAN), "std": list(STD),
            "interpolation": "bilinear", "resize_mode": "shortest"}


def prompts(class_names: list[str], templates: tuple[str, ...]) -> list[str]:
    """Every caption, class-major: caption ``c * len(templates) + t`` is class c, template t."""
    return [t.format(name) for name in class_names for t in templates]


def caption_ids(classes: torch.Tensor, n_templates: int, g: torch.Generator) -> torch.Tensor:
    """One caption per image (a template drawn uniformly), as indices into :func:`prompts`."""
    return classes * n_templates + torch.randint(0, n_templates, classes.shape, generator=g)


def clip_loss(image_features: torch.Tensor, text_features: torch.Tensor,
              logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric InfoNCE on unit-norm (B, D) features: the mean of image->text and
    text->image cross-entropies, pair i being the positive of row i."""
    logits = logit_scale.exp() * image_features @ text_features.T
    target = torch.arange(len(logits))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def create(spec: TinyClipSpec) -> torch.nn.Module:
    """The untrained open_clip ``CLIP`` of the spec."""
    import open_clip

    return open_clip.CLIP(**model_cfg(spec))


def train_clip(spec: TinyClipSpec, images: np.ndarray, classes: np.ndarray, class_names: list[str],
               progress: bool = True) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train on uint8 NHWC ``images`` whose captions name ``class_names[classes[i]]``.

    AdamW on a one-cycle schedule, the demo's flips and shifts; every step encodes all
    (classes x templates) captions once and picks each image's caption from them (the
    same gradients as encoding each image's caption). Deterministic for a given seed and
    thread count. Returns the model (eval mode) and a log: steps, final loss, seconds.
    """
    import open_clip
    from tqdm.auto import tqdm

    torch.manual_seed(spec.seed)
    g = torch.Generator().manual_seed(spec.seed)
    model = create(spec)
    model.train()
    tokens = open_clip.tokenize(prompts(class_names, spec.templates), context_length=spec.context_length)
    x_all = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    y_all = torch.from_numpy(classes.astype(np.int64))
    per_epoch = math.ceil(len(x_all) / spec.batch_size)
    steps = spec.epochs * per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=steps, pct_start=0.15)
    t0 = time.perf_counter()
    losses = []
    bar = tqdm(total=steps, desc=f"train {spec.name}", unit="step", disable=not progress, leave=False)
    for _ in range(spec.epochs):
        order = torch.randperm(len(x_all), generator=g)
        for i in range(0, len(order), spec.batch_size):
            idx = order[i : i + spec.batch_size]
            caps = caption_ids(y_all[idx], len(spec.templates), g)
            image_features = model.encode_image(_normalise(_augment(x_all[idx], g)), normalize=True)
            text_features = model.encode_text(tokens, normalize=True)[caps]
            loss = clip_loss(image_features, text_features, model.logit_scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))  # as open_clip's training loop
            losses.append(float(loss.detach()))
            bar.update(1)
    bar.close()
    model.eval()
    log = {"steps": steps, "epochs": spec.epochs, "batch_size": spec.batch_size,
           "final_loss": round(float(np.mean(losses[-10:])), 4),
           "logit_scale": round(float(model.logit_scale.detach().exp()), 3),
           "train_seconds": round(time.perf_counter() - t0, 2)}
    return model, log


def save_open_clip_folder(model: torch.nn.Module, spec: TinyClipSpec, folder: Path,
                          class_names: dict[int, str], extra: dict[str, Any]) -> None:
    """Write ``open_clip_config.json`` + ``open_clip_model.safetensors`` (open_clip's layout).

    ``class_names``: ImageNet-1k index -> the world's name, written as the config's
    ``zero_shot`` entry with the templates (read by ``openclip-local:``)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "model_cfg": model_cfg(spec),
        "preprocess_cfg": preprocess_cfg(spec),
        "zero_shot": {"class_names": {str(k): v for k, v in sorted(class_names.items())},
                      "templates": list(spec.templates)},
        "harness": {"family": spec.family, **extra},
    }
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    tmp = folder / "open_clip_model.safetensors.tmp"
    save_file(state, str(tmp))
    tmp.replace(folder / "open_clip_model.safetensors")
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def world_class_names(n_classes: int) -> dict[int, str]:
    """ImageNet-1k index -> the world's class name (its shape), for the first ``n_classes``."""
    return {CLASS_INDICES[k]: SHAPES[k] for k in range(n_classes)}


def is_clip_folder(folder: Path) -> bool:
    """Whether ``folder`` holds an open_clip checkpoint (written whole: built aside, renamed)."""
    return (folder / CONFIG_FILE).is_file()


def model_reference(folder: Path) -> str:
    """How the harness loads a demo model folder: ``openclip-local:`` for an open_clip
    folder (the zero-shot CLIP), ``local-dir:`` for a timm export folder."""
    return f"{'openclip-local:' if is_clip_folder(folder) else 'local-dir:'}{folder}"


def train_clip_folder(spec: TinyClipSpec, images: np.ndarray, labels: np.ndarray, n_classes: int,
                      folder: Path, progress: bool = True) -> Path:
    """Train the CLIP on uint8 NHWC ``images`` with world ``labels`` (0..n_classes-1) and save
    it into ``folder`` (built aside, then renamed); an existing folder is reused."""
    import shutil

    if is_clip_folder(folder):
        return folder
    names = world_class_names(n_classes)
    model, log = train_clip(spec, images, labels, [names[i] for i in sorted(names)], progress)
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    save_open_clip_folder(model, spec, tmp, names, {"training": log, "tuned_on_test": False})
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder
