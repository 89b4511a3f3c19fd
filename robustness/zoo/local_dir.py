"""Models saved as a folder in timm's hub export format: ``local-dir:<folder>``.

The folder holds ``config.json`` (``architecture``, ``num_classes``,
``model_args``, ``pretrained_cfg``) and ``model.safetensors`` -- what timm's
``push_to_hf_hub``/``save_for_hf`` writes and what a downloaded Hugging Face
snapshot of a timm model contains. This is how fine-tuned or custom-width
models are evaluated, and how the demo's tiny zoo is loaded.

The display name is the folder's name; results are keyed by the SHA-256 of
``model.safetensors``, so two folders with the same name and different weights
never share stored results. The canonical name is ``local-dir:<absolute folder>``;
a wildcard (``local-dir:/zoo/*``) expands to the matching folders that hold a
config and weights. Registered as :data:`SOURCE` in :mod:`robustness.zoo.sources`.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import timm
from timm.data import resolve_data_config
from torch import nn

from robustness.datasets.fingerprint import file_sha256
from robustness.zoo.errors import UnsupportedLabelSpaceError, WeightsNotFoundError
from robustness.zoo.names import IMAGENET1K_CLASSES, ModelName
from robustness.zoo.transforms import EvalTransform, timm_eval_transform
from robustness.zoo.weight_files import read_state_dict

PREFIX = "local-dir:"
SOURCE_NAME = "local-dir"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def is_local_dir_name(name: str) -> bool:
    return name.strip().startswith(PREFIX)


def folder_of(name: str) -> Path:
    return Path(name.strip()[len(PREFIX) :]).expanduser().resolve()


def canonical_local_dir_name(name: str, check_label_space: bool = False) -> str:
    """``local-dir:<absolute folder>``; checks the folder has a config and weights (and, with
    ``check_label_space``, that the config declares a 1000-class head)."""
    folder = folder_of(name)
    config = read_config(folder)
    weight_file(folder)
    if check_label_space:
        checked_num_classes(folder, config)
    return PREFIX + str(folder)


def checked_num_classes(folder: Path, config: dict[str, Any]) -> int:
    """The config's class count; :class:`UnsupportedLabelSpaceError` unless it is 1000."""
    num_classes = int(config.get("num_classes", config.get("pretrained_cfg", {}).get("num_classes", 0)))
    if num_classes != IMAGENET1K_CLASSES:
        raise UnsupportedLabelSpaceError(
            f"{PREFIX}{folder}: config.json declares {num_classes} classes; the harness scores "
            "1000-way ImageNet-1k logits, so only ImageNet-1k classifiers can be evaluated."
        )
    return num_classes


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
    """(network without normalisation, eval transform, ModelInfo fields) for a timm folder.

    Family and kind come from the config's optional ``harness`` entry, else from the timm
    architecture the folder holds (``classified_as``).
    """
    folder = folder_of(name)
    config = read_config(folder)
    num_classes = checked_num_classes(folder, config)
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
    extra = config.get("harness", {})
    fields = {
        "name": folder.name,
        "architecture": arch,
        "crop_pct": float(data_config["crop_pct"]),
        "num_classes": num_classes,
        "weights": str(file),
        "weights_sha256": file_sha256(file),
        "family": extra.get("family"),
        "kind": extra.get("kind"),
        "classified_as": arch,
    }
    return model, transform, fields


def _is_in1k_folder(folder: Path) -> bool:
    """A folder with weights and a readable config declaring 1000 classes (for wildcards)."""
    try:
        canonical_local_dir_name(PREFIX + str(folder), check_label_space=True)
    except (WeightsNotFoundError, UnsupportedLabelSpaceError, ValueError):
        return False
    return True


class LocalDirSource:
    """timm export folders on disk: ``local-dir:<folder>``."""

    prefix = PREFIX
    name = SOURCE_NAME

    def owns(self, name: str) -> bool:
        return is_local_dir_name(name)

    def parse(self, name: str) -> ModelName:
        """The folder as written (no file system access); ``str()`` spells the name back."""
        return ModelName(SOURCE_NAME, name.strip()[len(PREFIX) :], "", PREFIX)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        """``local-dir:<absolute folder>`` (the config and weights must be there)."""
        return canonical_local_dir_name(name, check_label_space)

    def expand(self, pattern: str) -> list[str]:
        """Folders matching a shell pattern that hold a config and weights, sorted.

        A folder that exists under the pattern's literal name (brackets are legal in paths)
        is that folder alone.
        """
        if folder_of(pattern).is_dir():
            return [canonical_local_dir_name(pattern, check_label_space=True)]
        text = str(Path(pattern.strip()[len(PREFIX) :]).expanduser())
        folders = sorted(Path(p).resolve() for p in glob.glob(text))
        return [PREFIX + str(f) for f in folders if _is_in1k_folder(f)]

    def load(
        self, name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
    ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
        """The folder's own weights (``pretrained`` does not apply; ``weights`` is refused)."""
        if weights is not None:
            raise ValueError(f"{name}: the folder holds the weights; drop weights=")
        return load_local_dir(name, use_test_size)


SOURCE = LocalDirSource()
