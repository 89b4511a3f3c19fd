"""Models saved as a folder in timm's hub export format: ``local-dir:<folder>``.

The folder holds ``config.json`` (``architecture``, ``num_classes``,
``model_args``, ``pretrained_cfg``) and ``model.safetensors`` -- what timm's
``push_to_hf_hub``/``save_for_hf`` writes and what a downloaded Hugging Face
snapshot of a timm model contains. This is how fine-tuned or custom-width
models are evaluated, and how the demo's tiny zoo is loaded.

The display name is the folder's name; results are keyed by the SHA-256 of
``model.safetensors``, so two folders with the same name and different weights
never share stored results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from robustness.zoo.errors import UnsupportedLabelSpaceError, WeightsNotFoundError
from robustness.zoo.names import IMAGENET1K_CLASSES
from robustness.zoo.transforms import EvalTransform, timm_eval_transform
from robustness.zoo.weight_files import read_state_dict, sha256_of_file

PREFIX = "local-dir:"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def is_local_dir_name(name: str) -> bool:
    return name.strip().startswith(PREFIX)


def folder_of(name: str) -> Path:
    return Path(name.strip()[len(PREFIX) :]).expanduser().resolve()


def canonical_local_dir_name(name: str) -> str:
    """``local-dir:<absolute folder>``; checks the folder has a config and weights."""
    folder = folder_of(name)
    read_config(folder)
    weight_file(folder)
    return PREFIX + str(folder)


def read_config(folder: Path) -> dict[str, Any]:
    cfg_file = folder / "config.json"
    if not cfg_file.is_file():
        raise WeightsNotFoundError(
            f"{PREFIX}{folder}: no config.json there. A timm model folder holds config.json "
            "(architecture, num_classes, model_args, pretrained_cfg) and model.safetensors, "
            "as written by timm's save_for_hf or found in a Hugging Face snapshot."
        )
    try:
        return json.loads(cfg_file.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{cfg_file}: not valid JSON ({exc})") from exc


def weight_file(folder: Path) -> Path:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise WeightsNotFoundError(
        f"{PREFIX}{folder}: no weights there (looked for {', '.join(WEIGHT_FILES)}). "
        "Copy the model's model.safetensors next to its config.json."
    )


def load_local_dir(name: str, use_test_size: bool) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    """(network without normalisation, eval transform, ModelInfo fields) for a timm folder."""
    import timm
    from timm.data import resolve_data_config

    folder = folder_of(name)
    config = read_config(folder)
    num_classes = int(config.get("num_classes", config.get("pretrained_cfg", {}).get("num_classes", 0)))
    if num_classes != IMAGENET1K_CLASSES:
        raise UnsupportedLabelSpaceError(
            f"{PREFIX}{folder}: config.json declares {num_classes} classes; the harness scores "
            "1000-way ImageNet-1k logits, so only ImageNet-1k classifiers can be evaluated."
        )
    arch = config.get("architecture")
    if not arch or not timm.is_model(arch):
        raise ValueError(f"{folder / 'config.json'}: unknown timm architecture {arch!r}")
    file = weight_file(folder)
    model = timm.create_model(
        arch,
        pretrained=False,
        num_classes=num_classes,
        **config.get("model_args", {}),
    )
    # the folder's own data config replaces the architecture's default one entirely
    # (a default test_input_size must not leak into a model exported at another size)
    model.pretrained_cfg = {**dict(config.get("pretrained_cfg", {})), "architecture": arch}
    state_dict = read_state_dict(file)
    model.load_state_dict(state_dict, strict=True)
    del state_dict
    model.eval()
    data_config = resolve_data_config({}, model=model, use_test_size=use_test_size)
    transform = timm_eval_transform(data_config)
    fields = {
        "name": folder.name,
        "source": "local-dir",
        "crop_pct": float(data_config["crop_pct"]),
        "num_classes": num_classes,
        "weights": str(file),
        "weights_sha256": sha256_of_file(file),
    }
    extra = config.get("harness", {})
    return model, transform, {**fields, "_architecture": arch, "_family": extra.get("family"),
                              "_kind": extra.get("kind")}
