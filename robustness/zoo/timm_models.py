"""The timm model source: names ``arch.tag``, label-space rule, weights in the user's caches.

Names: ``arch.tag`` (``resnet50.a1_in1k``); ``arch`` alone means timm's default tag for it.
A ``timm:`` prefix is accepted and dropped. This is the source of names without a prefix
(:data:`SOURCE`, registered in :mod:`robustness.zoo.sources`).

Weights are looked up, in order, in the Hugging Face hub cache (``hf_hub_id`` of the
checkpoint's pretrained_cfg; ``model.safetensors`` then ``pytorch_model.bin``) and in the torch
hub cache (``<torch hub>/checkpoints/<file name of pretrained_cfg.url>``, where older timm
versions downloaded to). Only when not offline is a download attempted (Hugging Face first).

Cached files go through timm's own pretrained path (``pretrained_cfg_overlay={'file': ...}``):
timm reads them (safetensors or ``torch.load(weights_only=True)``), applies the architecture's
checkpoint filter and loads strictly, exactly as after a download. A user's file is read by
:func:`robustness.zoo.weight_files.read_state_dict` and loaded strictly, like timm's
``--checkpoint`` option, with timm's checkpoint filter as a fallback.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import timm
from timm.data import resolve_data_config
from timm.models import get_pretrained_cfg
from torch import nn

from robustness.datasets.fingerprint import file_sha256
from robustness.zoo.errors import (
    UnknownModelError,
    UnsafeWeightsError,
    UnsupportedLabelSpaceError,
    WeightsMismatchError,
    WeightsNotFoundError,
)
from robustness.zoo.names import IMAGENET1K_CLASSES, ModelName, suggest
from robustness.zoo.transforms import EvalTransform, timm_eval_transform
from robustness.zoo.weight_files import (
    RANDOM_INIT,
    hf_hub_cache_dir,
    is_offline,
    reachable,
    read_state_dict,
    torch_hub_checkpoint_dir,
    verify_hash_in_name,
)

HF_FILENAMES = ("model.safetensors", "pytorch_model.bin")
ACCEPTED_PREFIXES = ("timm:",)  # dropped: 'timm:resnet50' is 'resnet50'
HUB_PREFIXES = ("hf-hub:", "hf_hub:")  # timm's own hub ids: refused with a hint
_SCHEME = re.compile(r"^[A-Za-z][\w.+-]*:")  # 'tv:', 'local-dir:', ...: another source's name
_DATASET_TOKEN = re.compile(r"^in\d+k$")  # in1k, in12k, in21k, in22k in timm weight tags


# ----------------------------------------------------------------------------- names


def parse_timm_name(name: str) -> ModelName:
    """``[timm:]arch[.tag]`` -> ModelName('timm', arch, tag) (no registry lookups)."""
    text = name.strip()
    if text.startswith(HUB_PREFIXES):
        raise UnknownModelError(
            f"{name!r}: Hugging Face hub model ids are not supported; use a timm name with a "
            "weight tag (e.g. 'resnet50.a1_in1k') and, offline, pass the file with weights=path."
        )
    for prefix in ACCEPTED_PREFIXES:
        text = text.removeprefix(prefix)
    arch, _, tag = text.partition(".")
    return ModelName("timm", arch, tag)


def timm_pretrained_cfg(name: ModelName) -> Any:
    """timm's PretrainedCfg for ``arch.tag`` (default tag when untagged), with clear errors."""
    if not timm.is_model(name.architecture):
        raise UnknownModelError(
            f"{str(name)!r}: timm has no architecture {name.architecture!r}."
            + suggest(name.architecture, timm.list_models())
        )
    try:
        cfg = get_pretrained_cfg(str(name), allow_unregistered=False)
    except RuntimeError as exc:
        tags = timm.list_models(name.architecture, pretrained=True)
        raise UnknownModelError(
            f"{str(name)!r}: no pretrained weights with that tag in timm {timm.__version__}. "
            f"Available: {', '.join(tags) or 'none'}."
        ) from exc
    if cfg is None or not cfg.has_weights:
        raise UnknownModelError(f"{str(name)!r}: timm lists no pretrained weights for it.")
    return cfg


def timm_label_space_problem(tag: str, num_classes: int | None) -> str | None:
    """Why a timm checkpoint is not a 1000-way ImageNet-1k classifier, or None if it is.

    Rule: the checkpoint's head must have 1000 outputs, and if the tag names datasets
    (``in1k``, ``in12k``, ``in21k``, ``in22k``) the last one named must be ``in1k``
    (``in22k_ft_in1k`` passes, ``in1k_ft_in22k`` does not).
    """
    if num_classes != IMAGENET1K_CLASSES:
        return (
            f"its classifier has {num_classes or 0} outputs (weights tag {tag!r}); "
            "an ImageNet-1k classifier has 1000"
        )
    datasets = [token for token in tag.split("_") if _DATASET_TOKEN.match(token)]
    if datasets and datasets[-1] != "in1k":
        return f"its weights tag {tag!r} says it was last trained on {datasets[-1]}, not in1k"
    return None


def is_timm_in1k(name: str) -> bool:
    """True when the timm ``arch.tag`` checkpoint outputs ImageNet-1k logits (metadata only)."""
    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return False
    return timm_label_space_problem(cfg.tag or name.partition(".")[2], cfg.num_classes) is None


def check_timm_label_space(name: ModelName, cfg: Any) -> None:
    """Raise :class:`UnsupportedLabelSpaceError` unless the checkpoint scores ImageNet-1k."""
    problem = timm_label_space_problem(cfg.tag or name.tag, cfg.num_classes)
    if problem is None:
        return
    in1k_tags = [n for n in timm.list_models(name.architecture, pretrained=True) if is_timm_in1k(n)]
    hint = (
        f" ImageNet-1k weights for this architecture: {', '.join(in1k_tags)}."
        if in1k_tags
        else " timm has no ImageNet-1k weights for this architecture."
    )
    raise UnsupportedLabelSpaceError(
        f"{name}: refused because {problem}. The harness scores 1000-way ImageNet-1k logits "
        "(standard class order), so it needs a checkpoint fine-tuned on ImageNet-1k." + hint
    )


# ----------------------------------------------------------------------------- weights


def _split_hub_id(hf_hub_id: str) -> tuple[str, str | None]:
    repo, _, revision = hf_hub_id.partition("@")
    return repo, revision or None


def _hf_repo_folder(repo: str) -> Path:
    return hf_hub_cache_dir() / ("models--" + repo.replace("/", "--"))


def _hf_filenames(cfg: Any) -> tuple[str, ...]:
    return (cfg.hf_hub_filename,) if cfg.hf_hub_filename else HF_FILENAMES


def find_cached_timm_weights(cfg: Any) -> tuple[Path, str] | None:
    """(file, provenance) of cached weights for a pretrained_cfg, or None. Never downloads."""
    from huggingface_hub import try_to_load_from_cache

    if cfg.hf_hub_id:
        repo, revision = _split_hub_id(cfg.hf_hub_id)
        for filename in _hf_filenames(cfg):
            found = try_to_load_from_cache(
                repo, filename, cache_dir=hf_hub_cache_dir(), revision=revision
            )
            if isinstance(found, str):
                return Path(found), f"hf-cache:{repo}"
    if cfg.url:
        file = torch_hub_checkpoint_dir() / Path(urlparse(cfg.url).path).name
        if file.is_file():
            return file, f"torch-cache:{file.name}"
    return None


def looked_in(cfg: Any) -> list[str]:
    """The concrete places :func:`find_cached_timm_weights` searches, for error messages."""
    places = []
    if cfg.hf_hub_id:
        repo, _ = _split_hub_id(cfg.hf_hub_id)
        places.append(
            f"{_hf_repo_folder(repo)} (Hugging Face cache, {' or '.join(_hf_filenames(cfg))})"
        )
    if cfg.url:
        places.append(str(torch_hub_checkpoint_dir() / Path(urlparse(cfg.url).path).name))
    return places


def _download(cfg: Any) -> tuple[Path, str]:
    if cfg.hf_hub_id:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.utils import EntryNotFoundError

        repo, revision = _split_hub_id(cfg.hf_hub_id)
        filenames = _hf_filenames(cfg)
        for index, filename in enumerate(filenames):
            try:
                path = hf_hub_download(
                    repo, filename, revision=revision, cache_dir=hf_hub_cache_dir()
                )
                return Path(path), f"hf-cache:{repo}"
            except EntryNotFoundError:
                if index == len(filenames) - 1:
                    raise
    import torch.hub

    file = torch_hub_checkpoint_dir() / Path(urlparse(cfg.url).path).name
    file.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(cfg.url, str(file), progress=False)
    return file, f"torch-cache:{file.name}"


def missing_weights_message(name: str, cfg: Any, reason: str) -> str:
    places = "\n".join(f"  - {place}" for place in looked_in(cfg))
    return (
        f"no pretrained weights for {name} on this machine ({reason}). Looked in:\n{places}\n"
        "To provide them: on a machine with internet access run\n"
        f"  python -c \"import timm; timm.create_model('{name}', pretrained=True)\"\n"
        f"and copy its Hugging Face cache folder into {hf_hub_cache_dir()} here (set HF_HOME or "
        "HF_HUB_CACHE to use another cache), or pass a weight file explicitly: "
        "load_model(name, weights='file.safetensors') / --weights file.safetensors."
    )


def locate_timm_weights(name: str, cfg: Any) -> tuple[Path, str]:
    """Cached weights for ``name``; download them only when not offline."""
    found = find_cached_timm_weights(cfg)
    if found is not None:
        return found
    if is_offline():
        raise WeightsNotFoundError(
            missing_weights_message(name, cfg, "offline: ROBUSTNESS_OFFLINE or HF_HUB_OFFLINE")
        )
    url = os.environ.get("HF_ENDPOINT", "https://huggingface.co") if cfg.hf_hub_id else cfg.url
    if not reachable(url):
        raise WeightsNotFoundError(missing_weights_message(
            name, cfg, f"offline: {urlparse(url).hostname} cannot be reached; set HF_HUB_OFFLINE=1 "
            "to skip this check"))
    try:
        return _download(cfg)
    except Exception as exc:  # network, auth, disk: all become the same actionable error
        reason = f"download failed: {type(exc).__name__}: {str(exc)[:300]}"
        raise WeightsNotFoundError(missing_weights_message(name, cfg, reason)) from exc


def _mismatch(name: str, weights_label: str, exc: Exception) -> WeightsMismatchError:
    return WeightsMismatchError(
        f"weights {weights_label} do not fit {name}: {str(exc)[:800]}. Check the file holds "
        "weights for exactly this architecture (and a 1000-class head)."
    )


def build_timm_model_random(name: str) -> nn.Module:
    """The architecture with timm's random initialisation (no weights read)."""
    return timm.create_model(name, pretrained=False)


def build_timm_from_cache(name: str, file: Path, weights_label: str) -> nn.Module:
    """timm's own pretrained path (checkpoint filter, strict keys) reading a cached file.

    timm reads the file itself: safetensors, or ``torch.load(weights_only=True)``.
    """
    try:
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(file)})
    except (pickle.UnpicklingError, RuntimeError) as exc:
        message = str(exc)
        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in message:
            raise UnsafeWeightsError(
                f"{file}: refused to load; torch.load(weights_only=True) found non-tensor "
                f"pickled objects ({message.splitlines()[0][:300]}). Delete the cached file and "
                "download it again, or pass a safetensors file with weights=PATH."
            ) from exc
        raise _mismatch(name, weights_label, exc) from exc


class _MissingKeysRecorder(logging.Handler):
    """Collects timm's 'Missing keys ...' log records (timm loads some archs non-strictly)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Missing keys"):
            self.messages.append(message)


@contextmanager
def _recording_missing_keys() -> Iterator[_MissingKeysRecorder]:
    logger = logging.getLogger("timm.models._builder")
    recorder, old_level = _MissingKeysRecorder(), logger.level
    logger.addHandler(recorder)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(old_level)


def build_timm_from_state_dict(name: str, state_dict: dict, weights_label: str) -> nn.Module:
    """A timm model with a user's state dict.

    First a strict ``load_state_dict`` (what timm's ``validate.py --checkpoint`` does); if
    the keys do not match, timm's pretrained path, whose per-architecture checkpoint filter
    converts original-format checkpoints (e.g. OpenCLIP 'visual.trunk.' ViTs). That fallback
    briefly holds an extra copy of the weights (timm deep-copies its config), and is refused
    when timm reports missing keys (it loads a few architectures, e.g. DLA, non-strictly).
    """
    model = timm.create_model(name, pretrained=False)
    try:
        model.load_state_dict(state_dict, strict=True)
        return model
    except RuntimeError as strict_error:
        del model
        try:
            with _recording_missing_keys() as recorder:
                model = timm.create_model(
                    name, pretrained=True, pretrained_cfg_overlay={"state_dict": state_dict}
                )
        except (RuntimeError, KeyError, ValueError):
            raise _mismatch(name, weights_label, strict_error) from strict_error
        if recorder.messages:
            raise _mismatch(name, weights_label, strict_error) from strict_error
    model.pretrained_cfg.pop("state_dict", None)  # drop timm's copy of the weights
    return model


def timm_data_config(model: nn.Module, use_test_size: bool) -> dict[str, Any]:
    """timm's own eval preprocessing for a model, from its pretrained_cfg."""
    return resolve_data_config({}, model=model, use_test_size=use_test_size)


# ----------------------------------------------------------------------------- the source


def load_timm(
    name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    """(network without normalisation, eval transform, ModelInfo fields) for a timm name."""
    parsed = parse_timm_name(name)
    cfg = timm_pretrained_cfg(parsed)
    tagged = ModelName("timm", parsed.architecture, parsed.tag or cfg.tag)
    check_timm_label_space(tagged, cfg)
    canonical = str(tagged)
    label, sha256 = RANDOM_INIT, None
    if not pretrained:
        model = build_timm_model_random(canonical)
    elif weights is not None:
        file = Path(weights).expanduser().resolve()
        state_dict, label, sha256 = read_state_dict(file), str(file), file_sha256(file)
        model = build_timm_from_state_dict(canonical, state_dict, label)
        del state_dict
    else:
        file, label = locate_timm_weights(canonical, cfg)
        sha256 = file_sha256(file)
        if label.startswith("torch-cache:"):
            verify_hash_in_name(file, sha256)
        model = build_timm_from_cache(canonical, file, label)
    data_config = timm_data_config(model, use_test_size)
    transform = timm_eval_transform(data_config)
    fields = {
        "name": canonical,
        "architecture": parsed.architecture,
        "crop_pct": float(data_config["crop_pct"]),
        "num_classes": int(getattr(model, "num_classes", cfg.num_classes)),
        "weights": label,
        "weights_sha256": sha256,
    }
    return model, transform, fields


class TimmSource:
    """timm checkpoints: every name without another source's prefix (see module docstring)."""

    prefix = ""
    name = "timm"

    def owns(self, name: str) -> bool:
        text = name.strip()
        return _SCHEME.match(text) is None or text.startswith(ACCEPTED_PREFIXES + HUB_PREFIXES)

    def parse(self, name: str) -> ModelName:
        return parse_timm_name(name)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        """``resnet50`` -> ``resnet50.a1_in1k``; with ``check_label_space``, refuse heads that
        are not ImageNet-1k (metadata only, nothing is loaded)."""
        parsed = parse_timm_name(name)
        cfg = timm_pretrained_cfg(parsed)
        canonical = ModelName("timm", parsed.architecture, parsed.tag or cfg.tag)
        if check_label_space:
            check_timm_label_space(canonical, cfg)
        return str(canonical)

    def expand(self, pattern: str) -> list[str]:
        """``timm.list_models(pattern, pretrained=True)`` restricted to ImageNet-1k heads."""
        text = pattern.strip()
        for prefix in ACCEPTED_PREFIXES:
            text = text.removeprefix(prefix)
        return [n for n in timm.list_models(text, pretrained=True) if is_timm_in1k(n)]

    def load(
        self, name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
    ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
        return load_timm(name, weights, pretrained, use_test_size)


SOURCE = TimmSource()
