"""Hugging Face ``transformers`` image classifiers: ``hf:<repo id>[@revision]`` and ``hf:<folder>``.

Names
-----
* ``hf:google/vit-base-patch16-224`` (``@revision``: a branch, tag or commit; default ``main``):
  an ``AutoModelForImageClassification`` checkpoint in the Hugging Face hub cache
  (``$HF_HUB_CACHE``, ``$HF_HOME/hub``, ``~/.cache/huggingface/hub``; folder
  ``models--<org>--<name>/snapshots/<commit>/``).
* ``hf:/abs/or/./relative/folder`` (a name starting with ``/``, ``.`` or ``~``): a folder written
  by ``save_pretrained`` (``config.json``, ``preprocessor_config.json``, ``model.safetensors`` or
  ``pytorch_model.bin``, or shards with their index). Display name: ``hf:<absolute folder>``.

Nothing is downloaded when offline (``ROBUSTNESS_OFFLINE``, ``HF_HUB_OFFLINE`` or
``TRANSFORMERS_OFFLINE``); a missing checkpoint is a :class:`WeightsNotFoundError` naming the
folders searched. Online, ``huggingface_hub.snapshot_download`` fetches only the config, the
preprocessor config and the weights into that cache. Weights load through
``from_pretrained(local_files_only=True)``: safetensors, or ``torch.load(weights_only=True)``.

Label space
-----------
``config.json`` must declare 1000 labels, else :class:`UnsupportedLabelSpaceError`. Its
``id2label`` is matched to our class order (:mod:`robustness.datasets.classes`: wnids sorted,
``names[i]`` the WordNet lemma list, e.g. ``'tench, Tinca tinca'``), see
:func:`imagenet_label_order`. In the standard order the network is the checkpoint's own; in
another order its logits are re-indexed into ours, and the mapping is recorded in
``ModelInfo.head`` (``label_map``: for each of our classes the checkpoint's output index).

Preprocessing
-------------
Read from the image processor's parameters (:func:`hf_eval_transform`): ``size`` with
``shortest_edge`` (ConvNeXt-style ``crop_pct``: resize to ``int(shortest_edge / crop_pct)`` and
crop ``shortest_edge``, or a plain resize plus ``crop_size``) or ``height``/``width`` (both sides
resized, then ``crop_size`` when ``do_center_crop``); ``resample``; ``image_mean``/``image_std``.
Processors that flip channels, offset the rescale or pad are refused. The center crop rounds its
offset as torchvision does, the processor floors it: for an odd margin the crop can sit one pixel
away from the processor's.

``transformers`` is imported only when a model is loaded (:func:`~robustness.zoo.errors.import_extra`;
``pip install 'robustness-harness[hf]'``). Registered as :data:`SOURCE` in
:mod:`robustness.zoo.sources`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustness.datasets.classes import imagenet_names, imagenet_wnids
from robustness.datasets.fingerprint import file_sha256
from robustness.zoo.errors import (
    UnknownModelError,
    UnsupportedLabelSpaceError,
    WeightsNotFoundError,
    import_extra,
)
from robustness.zoo.names import IMAGENET1K_CLASSES, TRANSFORMER_ARCH_PREFIXES, ModelName
from robustness.zoo.transforms import EvalTransform
from robustness.zoo.weight_files import _TRUE_VALUES, hf_hub_cache_dir, is_offline, reachable

PREFIX = "hf:"
SOURCE_NAME = "hf"
EXTRA = "hf"
REVISION_SEPARATOR = "@"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
DOWNLOAD_PATTERNS = ["config.json", "preprocessor_config.json", "*.safetensors",
                     "model.safetensors.index.json", "pytorch_model*.bin", "pytorch_model.bin.index.json"]
PIL_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
_WNID = re.compile(r"^n\d{8}$")


def transformers_module():
    """``import transformers``, or :class:`~robustness.zoo.errors.MissingExtraError`."""
    return import_extra("transformers", EXTRA, SOURCE_NAME)


def hf_offline() -> bool:
    """The harness's offline switches, plus ``TRANSFORMERS_OFFLINE``."""
    return is_offline() or os.environ.get("TRANSFORMERS_OFFLINE", "").strip().lower() in _TRUE_VALUES


# ----------------------------------------------------------------------------- labels


def normalise_label(text: str) -> str:
    """Case-folded, whitespace collapsed, ', ' between lemmas: 'Tench,Tinca  tinca' -> 'tench, tinca tinca'."""
    lemmas = [" ".join(part.split()) for part in str(text).casefold().split(",")]
    return ", ".join(lemma for lemma in lemmas if lemma)


def imagenet_label_order(id2label: dict[Any, str]) -> list[int]:
    """For each of our 1000 classes, the checkpoint output index that scores it.

    Rule, per label of ``id2label`` (keys are output indices): a wnid (``n01440764``) names
    that class; otherwise the label, normalised (:func:`normalise_label`), must equal a class's
    full WordNet lemma list (``'tench, tinca tinca'``) or, failing that, the first lemma of
    exactly one class (``'tench'``). Two ImageNet classes share their whole name ('crane', the
    bird 134 and the machine 517): identical labels are matched in index order, which is all a
    name can say. Every class must be matched exactly once, else
    :class:`UnsupportedLabelSpaceError` lists what did not match.
    """
    if len(id2label) != IMAGENET1K_CLASSES:
        raise UnsupportedLabelSpaceError(f"id2label has {len(id2label)} labels, not 1000")
    ours = [normalise_label(n) for n in imagenet_names()]
    by_full: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(ours):
        by_full[name].append(i)
    by_first: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(ours):
        by_first[name.split(", ")[0]].append(i)
    wnid_index = {w: i for i, w in enumerate(imagenet_wnids())}
    taken: dict[str, int] = defaultdict(int)  # full-name duplicates used so far
    source = [-1] * IMAGENET1K_CLASSES
    unmatched = []
    for output in sorted(id2label, key=int):
        label = str(id2label[output]).strip()
        key = normalise_label(label)
        if _WNID.match(label) and label in wnid_index:
            target = wnid_index[label]
        elif key in by_full and taken[key] < len(by_full[key]):
            target = by_full[key][taken[key]]
            taken[key] += 1
        elif len(by_first.get(key, ())) == 1:
            target = by_first[key][0]
        else:
            unmatched.append(f"{output}: {label!r}")
            continue
        if source[target] != -1:
            unmatched.append(f"{output}: {label!r} (class {target} already matched)")
            continue
        source[target] = int(output)
    if unmatched:
        raise UnsupportedLabelSpaceError(
            f"{len(unmatched)} of 1000 labels in id2label do not name distinct ImageNet-1k classes "
            f"(e.g. {'; '.join(unmatched[:5])}); the harness scores ImageNet-1k logits and matches "
            "labels by wnid or WordNet name (robustness/datasets/imagenet_classes.json).")
    return source


class ReorderedClassifier(nn.Module):
    """A transformers classifier's logits re-indexed into our class order (``source[i]`` is the
    checkpoint output that scores our class ``i``); identity when the orders agree."""

    def __init__(self, model: nn.Module, source: list[int] | None) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("source", None if source is None else torch.tensor(source, dtype=torch.long))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.model(pixel_values=images).logits
        return logits if self.source is None else logits.index_select(1, self.source)


# ----------------------------------------------------------------------------- names and files


def _is_folder_text(text: str) -> bool:
    return text.startswith(("/", ".", "~"))


def split_name(name: str) -> tuple[str, str | None]:
    """``hf:org/repo@rev`` -> (``org/repo``, ``rev``); a folder keeps any '@'."""
    text = name.strip()[len(PREFIX):]
    if _is_folder_text(text):
        return text, None
    repo, sep, revision = text.partition(REVISION_SEPARATOR)
    return repo, (revision or None) if sep else None


def _repo_folder(repo: str) -> Path:
    return hf_hub_cache_dir() / ("models--" + repo.replace("/", "--"))


def _weights_in(folder: Path) -> list[Path]:
    """The weight files a folder holds (an index and its shards, or one file), safetensors first."""
    for name in WEIGHT_FILES:
        file = folder / name
        if file.is_file():
            if name.endswith(".index.json"):
                shards = sorted(set(json.loads(file.read_text()).get("weight_map", {}).values()))
                return [file] + [folder / s for s in shards]
            return [file]
    return []


def cached_snapshot(repo: str, revision: str | None) -> Path | None:
    """The cache's snapshot folder of ``repo`` at ``revision`` holding a config and weights."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, "config.json", cache_dir=hf_hub_cache_dir(),
                                   revision=revision)
    if not isinstance(found, str):
        return None
    folder = Path(found).parent
    return folder if _weights_in(folder) else None


def checkpoint_folder(name: str) -> tuple[Path, str]:
    """(folder holding config + weights, provenance label) for a name; downloads only online."""
    text, revision = split_name(name)
    if _is_folder_text(text):
        folder = Path(text).expanduser().resolve()
        if not (folder / "config.json").is_file() or not _weights_in(folder):
            raise WeightsNotFoundError(
                f"{PREFIX}{folder}: no transformers checkpoint there (looked for config.json and "
                f"{' or '.join(WEIGHT_FILES)}); save one with model.save_pretrained(folder) and "
                "image_processor.save_pretrained(folder).")
        return folder, str(folder)
    if not text or text.count("/") > 1:
        raise UnknownModelError(f"{name!r}: expected hf:<org>/<name> (a Hugging Face repo id) or "
                                "hf:/path/to/folder")
    folder = cached_snapshot(text, revision)
    if folder is not None:
        return folder, f"hf-cache:{text}"
    looked = (f"{_repo_folder(text)}/snapshots/<commit of {revision or 'main'}>/ "
              f"(config.json and {' or '.join(WEIGHT_FILES)})")

    def missing(reason: str) -> WeightsNotFoundError:
        return WeightsNotFoundError(
            f"no checkpoint for {PREFIX}{text} on this machine ({reason}). Looked in:\n  - {looked}\n"
            "To provide it: on a machine with internet access run\n"
            f"  python -c \"import transformers as t; t.AutoModelForImageClassification.from_pretrained"
            f"('{text}'); t.AutoImageProcessor.from_pretrained('{text}')\"\n"
            f"and copy {_repo_folder(text).name} into {hf_hub_cache_dir()} here (HF_HOME or "
            "HF_HUB_CACHE set another cache), or evaluate a save_pretrained folder as hf:/path.")

    if hf_offline():
        raise missing("offline: ROBUSTNESS_OFFLINE, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE")
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if not reachable(endpoint):
        raise missing(f"offline: {endpoint} cannot be reached")
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(text, revision=revision, cache_dir=hf_hub_cache_dir(),
                                 allow_patterns=DOWNLOAD_PATTERNS)
    except Exception as exc:  # network, auth, unknown repo: one actionable error
        raise missing(f"download failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return Path(path), f"hf-cache:{text}"


def weights_sha256(files: list[Path]) -> str:
    """The file's SHA-256; for shards, the SHA-256 of the JSON list of (name, SHA-256) pairs."""
    if len(files) == 1:
        return file_sha256(files[0])
    pairs = [[f.name, file_sha256(f)] for f in files]
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


# ----------------------------------------------------------------------------- preprocessing


def hf_eval_transform(processor: Any) -> EvalTransform:
    """Our transform from a transformers image processor's parameters (see module docstring)."""
    def get(key: str, default: Any = None) -> Any:
        value = getattr(processor, key, default)
        return default if value is None else value

    for flag in ("do_flip_channel_order", "flip_channel_order", "rescale_offset", "do_pad"):
        if get(flag, False) is True:
            raise ValueError(f"{type(processor).__name__}: {flag} is not supported by the harness's "
                             "transform (resize, center crop, normalise)")
    if get("do_rescale", True) and abs(float(get("rescale_factor", 1 / 255)) - 1 / 255) > 1e-9:
        raise ValueError(f"{type(processor).__name__}: rescale_factor {get('rescale_factor')} is "
                         "not 1/255")
    size = dict(get("size", {}) or {})
    crop = dict(get("crop_size", {}) or {})
    do_crop = bool(get("do_center_crop", False)) and bool(crop)
    if crop and crop.get("height") != crop.get("width"):
        raise ValueError(f"non-square crop_size {crop}: only square inputs are supported")
    mode = "shorter_side"
    if size.get("shortest_edge"):
        edge = int(size["shortest_edge"])
        crop_pct = getattr(processor, "crop_pct", None)
        if crop_pct is not None:  # ConvNeXt-style: crop_pct decides, crop_size is unused
            if edge < 384:
                resize, side = int(edge / float(crop_pct)), edge
            else:
                resize, side, mode = edge, edge, "squash"
        else:
            resize, side = edge, int(crop["height"]) if do_crop else edge
    elif size.get("height") and size.get("width"):
        if size["height"] != size["width"]:
            raise ValueError(f"non-square size {size}: only square inputs are supported")
        resize, mode = int(size["height"]), "squash"
        side = int(crop["height"]) if do_crop else resize
    else:
        raise ValueError(f"{type(processor).__name__}: size {size} (e.g. longest_edge) is not supported")
    if not get("do_resize", True):
        raise ValueError(f"{type(processor).__name__}: do_resize=False (images of any size) is not supported")
    resample = get("resample", 2)
    interpolation = PIL_RESAMPLE.get(int(getattr(resample, "value", resample)), None)
    if interpolation is None:
        raise ValueError(f"{type(processor).__name__}: unknown resample {resample!r}")
    normalize = bool(get("do_normalize", True))
    mean = tuple(float(v) for v in get("image_mean", (0.0, 0.0, 0.0))) if normalize else (0.0, 0.0, 0.0)
    std = tuple(float(v) for v in get("image_std", (1.0, 1.0, 1.0))) if normalize else (1.0, 1.0, 1.0)
    return EvalTransform(resize_size=resize, crop_size=side, interpolation=interpolation,
                         mean=mean, std=std, resize_mode=mode)


# ----------------------------------------------------------------------------- loading


def read_hf_config(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "config.json").read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{folder / 'config.json'}: not valid JSON ({exc})") from exc


def checked_label_order(name: str, config: dict[str, Any]) -> list[int]:
    """:func:`imagenet_label_order` of the config's ``id2label``, with the model named in errors."""
    id2label = config.get("id2label") or {}
    n = len(id2label) or int(config.get("num_labels", 0) or 0)
    if n != IMAGENET1K_CLASSES:
        raise UnsupportedLabelSpaceError(
            f"{name}: config.json declares {n} labels; the harness scores 1000-way ImageNet-1k "
            "logits, so only ImageNet-1k classifiers can be evaluated.")
    try:
        return imagenet_label_order(id2label)
    except UnsupportedLabelSpaceError as exc:
        raise UnsupportedLabelSpaceError(f"{name}: {exc}") from exc


def canonical_hf_name(name: str) -> str:
    text, revision = split_name(name)
    if _is_folder_text(text):
        return PREFIX + str(Path(text).expanduser().resolve())
    return PREFIX + text + (REVISION_SEPARATOR + revision if revision else "")


def load_hf(name: str, pretrained: bool) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    """(network without normalisation, eval transform, ModelInfo fields) for an ``hf:`` name."""
    transformers = transformers_module()
    canonical = canonical_hf_name(name)
    folder, label = checkpoint_folder(name)
    config = read_hf_config(folder)
    order = checked_label_order(canonical, config)
    identity = order == list(range(IMAGENET1K_CLASSES))
    if pretrained:
        files = _weights_in(folder)
        model = transformers.AutoModelForImageClassification.from_pretrained(
            str(folder), local_files_only=True)
        sha = weights_sha256(files)
    else:
        auto_config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
        model = transformers.AutoModelForImageClassification.from_config(auto_config)
        label, sha = "random-init", None
    processor = transformers.AutoImageProcessor.from_pretrained(str(folder), local_files_only=True)
    transform = hf_eval_transform(processor)
    network = ReorderedClassifier(model.eval(), None if identity else order).eval()
    model_type = config.get("model_type", "")
    kind = "vit" if model_type.startswith(TRANSFORMER_ARCH_PREFIXES) else "cnn"
    fields = {
        "name": canonical,
        "architecture": (config.get("architectures") or [model_type])[0],
        "num_classes": IMAGENET1K_CLASSES,
        "weights": label,
        "weights_sha256": sha,
        "kind": kind,
        "classified_as": canonical,
        "head": {
            "type": "checkpoint",
            "label_order": "imagenet-1k" if identity else "mapped-by-name",
            "label_map": None if identity else order,
            "label_map_sha256": None if identity else hashlib.sha256(json.dumps(order).encode()).hexdigest(),
            "processor": type(processor).__name__,
        },
    }
    return network, transform, fields


class HfSource:
    """transformers ``AutoModelForImageClassification`` checkpoints: ``hf:<repo id>`` or ``hf:<folder>``."""

    prefix = PREFIX
    name = SOURCE_NAME

    def owns(self, name: str) -> bool:
        return name.strip().startswith(PREFIX)

    def parse(self, name: str) -> ModelName:
        """The repo id (with ``@revision``) or folder as the architecture; no tag."""
        return ModelName(SOURCE_NAME, name.strip()[len(PREFIX):], "", PREFIX)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        """``hf:org/name[@rev]`` or ``hf:<absolute folder>``; with ``check_label_space`` the
        cached config's labels must be ImageNet-1k (nothing is loaded)."""
        canonical = canonical_hf_name(name)
        if check_label_space:
            folder, _ = checkpoint_folder(name)
            checked_label_order(canonical, read_hf_config(folder))
        return canonical

    def expand(self, pattern: str) -> list[str]:
        """Cached repos (``hf:org/*``) or folders matching the pattern with an ImageNet-1k config."""
        import glob

        text = pattern.strip()[len(PREFIX):]
        if _is_folder_text(text):
            candidates = [PREFIX + str(Path(p).resolve()) for p in sorted(glob.glob(str(Path(text).expanduser())))]
        else:
            cache = hf_hub_cache_dir()
            repos = sorted(p.name[len("models--"):].replace("--", "/", 1)
                           for p in cache.glob("models--*")) if cache.is_dir() else []
            candidates = [PREFIX + r for r in repos if fnmatch.fnmatchcase(r, text)]
        out = []
        for candidate in candidates:
            try:
                out.append(self.canonical(candidate, check_label_space=True))
            except (WeightsNotFoundError, UnsupportedLabelSpaceError, UnknownModelError, ValueError):
                continue
        return out

    def load(self, name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
             ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
        """The checkpoint's own weights (``weights=`` is refused: give a folder instead)."""
        if weights is not None:
            raise ValueError(f"{name}: a transformers checkpoint is a folder; evaluate it as "
                             "hf:/path/to/folder instead of weights=")
        return load_hf(name, pretrained)


SOURCE = HfSource()
