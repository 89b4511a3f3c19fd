"""open_clip zero-shot classifiers: ``openclip:ARCH.TAG`` and ``openclip-local:FOLDER``.

Names
-----
* ``openclip:ARCH.TAG``: an (architecture, pretrained tag) pair as ``open_clip.list_pretrained()``
  spells it, e.g. ``openclip:ViT-B-32.laion2b_s34b_b79k``, ``openclip:ViT-L-14.openai``.
* ``openclip-local:FOLDER``: a checkpoint on disk in open_clip's own folder layout (what
  ``open_clip.push_to_hf_hub`` writes and a hub snapshot holds): ``open_clip_config.json``
  (``model_cfg``, optional ``preprocess_cfg``, optional ``harness: {family, kind}``) next to
  ``open_clip_model.safetensors`` (or ``open_clip_pytorch_model.bin``, read with
  ``weights_only=True``). The display name is the folder's name, as for ``local-dir:``.
* A suffix ``@simple`` selects open_clip's 7 short templates instead of the default 80 OpenAI
  templates (``@openai``, dropped from canonical names): ``openclip:ViT-B-32.openai@simple``.
  Different template sets are different classifiers, so they are recorded under different names.
* A folder's own class names and templates: an optional ``zero_shot`` entry of
  ``open_clip_config.json``, ``{"class_names": {"7": "circle", "107": "triangle", ...},
  "templates": ["a photo of a {}.", ...]}`` (ImageNet-1k index -> name; ``templates``
  optional, format strings with ``{}``), builds the head over those names only (a model trained
  on another world's classes, e.g. the demo's CLIP). Indices without a name are classes the
  model cannot predict: their logit is a constant below every reachable one,
  ``-(exp(logit_scale) + |logit_bias|) - 1``. With ``templates`` given the folder's name takes no
  ``@SET`` suffix; ``ModelInfo.head['templates']`` is then ``'checkpoint'``.

The head
--------
The standard zero-shot head, computed with open_clip's own ``build_zero_shot_classifier``: for
each of the 1000 ImageNet classes (``open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES``, in the
standard wnid order, which is our class order), the text embeddings of the class name under
each template, L2-normalised, averaged, normalised again. Logits are
``exp(logit_scale) * cos(image embedding, class embedding)`` (plus ``logit_bias`` for SigLIP
models): the scaled cosine similarities ``model.get_logits`` computes. Top-k is unaffected by
the scale; stored logits match open_clip's.

The head is computed once per (model config, weights SHA-256, class names, templates,
tokenizer) and kept in ``<cache>/robustness-harness/zeroshot-heads/<head_sha256>.safetensors``
(``<cache>`` = ``$XDG_CACHE_HOME`` or ``~/.cache``), so a sweep over many test sets, or many
Slurm jobs sharing the cache, computes it once. It is computed in float32 on CUDA when
available (``load`` gets no device; 80,000 prompts through a ViT-L text tower take minutes on
a CPU), else on the CPU. ``head_sha256`` (the hash of those inputs) and the template set are
recorded in ``ModelInfo.head``; the network holds only the image tower and the head.

Weights
-------
Looked up where open_clip puts them, never downloaded when offline (``ROBUSTNESS_OFFLINE`` or
``HF_HUB_OFFLINE``): the Hugging Face hub cache (``$HF_HUB_CACHE``, ``$HF_HOME/hub``,
``~/.cache/huggingface/hub``; repo and file from the tag's ``hf_hub`` entry, safetensors
first), then open_clip's URL download folder (``$OPENCLIP_CACHE_DIR``, default open_clip's
``~/.cache/clip``; open_clip itself has no variable for it). Old OpenAI ``.pt`` files there are
TorchScript archives, which ``weights_only=True`` refuses: use the hub copy. When the tag's
config asks for QuickGELU (the OpenAI weights) the model is built with it, as the weights were
trained, whatever the architecture's default. Preprocessing is the model's own
``preprocess_cfg`` with the tag's overrides: resize the shorter side to the input size and crop
it (``resize_mode='shortest'``, crop_pct 1) or squash; ``'longest'`` (letterbox) is refused.

``open_clip`` is imported only inside ``load``/``expand``/``canonical`` (through
:func:`~robustness.zoo.errors.import_extra`): it takes seconds to import and is an optional
extra (``pip install 'robustness-harness[clip]'``); ``import robustness`` must not need it.
Registered as :data:`SOURCE` and :data:`LOCAL_SOURCE` in :mod:`robustness.zoo.sources`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn

from robustness.datasets.fingerprint import file_sha256
from robustness.zoo.errors import (
    UnknownModelError,
    UnsafeWeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
    import_extra,
)
from robustness.zoo.names import IMAGENET1K_CLASSES, TRANSFORMER_ARCH_PREFIXES, ModelName, suggest
from robustness.zoo.transforms import EvalTransform
from robustness.zoo.weight_files import RANDOM_INIT, hf_hub_cache_dir, is_offline, reachable

PREFIX = "openclip:"
LOCAL_PREFIX = "openclip-local:"
SOURCE_NAME = "openclip"
LOCAL_SOURCE_NAME = "openclip-local"
EXTRA = "clip"
TEMPLATE_SEPARATOR = "@"
TEMPLATE_SETS = {"openai": "OPENAI_IMAGENET_TEMPLATES", "simple": "SIMPLE_IMAGENET_TEMPLATES"}
"""Template set name -> attribute of ``open_clip.zero_shot_metadata`` (80 and 7 templates)."""
DEFAULT_TEMPLATES = "openai"
LOCAL_CONFIG = "open_clip_config.json"
LOCAL_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.safetensors",
                      "open_clip_pytorch_model.bin", "open_clip_pytorch_model.pth",
                      "model.safetensors", "pytorch_model.bin")  # open_clip's preference order
HF_DEFAULT_FILE = "open_clip_pytorch_model.bin"
CLASSES_PER_BATCH = 10  # classes per text-tower forward pass (x templates prompts)
HEAD_FORMAT = 1  # bump when the head computation changes: old cache entries are then ignored


def open_clip_module():
    """``import open_clip``, or :class:`~robustness.zoo.errors.MissingExtraError`."""
    return import_extra("open_clip", EXTRA, SOURCE_NAME)


# ----------------------------------------------------------------------------- names


def split_templates(text: str, strict: bool) -> tuple[str, str]:
    """``'X@simple'`` -> ``('X', 'simple')``; no suffix -> ``(X, DEFAULT_TEMPLATES)``.

    strict: an unknown suffix is an error (``openclip:`` names never hold '@'); otherwise
    it stays part of ``X`` (a folder may have '@' in its name)."""
    rest, sep, suffix = text.rpartition(TEMPLATE_SEPARATOR)
    if sep and suffix in TEMPLATE_SETS:
        return rest, suffix
    if sep and strict:
        raise UnknownModelError(f"{text!r}: unknown template set {suffix!r}; known: "
                                f"{', '.join(TEMPLATE_SETS)} (default {DEFAULT_TEMPLATES})")
    return text, DEFAULT_TEMPLATES


def _suffix(templates: str) -> str:
    return "" if templates == DEFAULT_TEMPLATES else TEMPLATE_SEPARATOR + templates


def parse_openclip_name(name: str) -> tuple[str, str, str]:
    """``openclip:ARCH.TAG[@SET]`` -> (arch, tag, template set); no lookups."""
    text, templates = split_templates(name.strip()[len(PREFIX):], strict=True)
    arch, _, tag = text.partition(".")
    return arch, tag, templates


def known_pretrained() -> list[tuple[str, str]]:
    """open_clip's (architecture, tag) pairs."""
    return [tuple(p) for p in open_clip_module().list_pretrained()]


def checked_pretrained_cfg(arch: str, tag: str) -> dict[str, Any]:
    """open_clip's pretrained config of ``arch.tag``; :class:`UnknownModelError` if unknown."""
    open_clip = open_clip_module()
    pairs = known_pretrained()
    if (arch, tag) not in pairs:
        archs = sorted({a for a, _ in pairs})
        if arch not in archs:
            hint = suggest(arch, archs)
        else:
            hint = " Tags for it: " + ", ".join(t for a, t in pairs if a == arch) + "."
        raise UnknownModelError(f"{PREFIX}{arch}.{tag}: open_clip {open_clip.__version__} has no "
                                f"pretrained weights of that name (ARCH.TAG as in "
                                f"open_clip.list_pretrained()).{hint}")
    return dict(open_clip.pretrained.get_pretrained_cfg(arch, tag))


def local_folder(name: str) -> tuple[Path, str]:
    """``openclip-local:FOLDER[@SET]`` -> (absolute folder, template set); no checks."""
    text, templates = split_templates(name.strip()[len(LOCAL_PREFIX):], strict=False)
    return Path(text).expanduser().resolve(), templates


def read_local_config(folder: Path) -> dict[str, Any]:
    """The folder's ``open_clip_config.json`` (must hold ``model_cfg``)."""
    file = folder / LOCAL_CONFIG
    if not file.is_file():
        raise WeightsNotFoundError(
            f"{LOCAL_PREFIX}{folder}: no {LOCAL_CONFIG} there. An open_clip folder holds "
            f"{LOCAL_CONFIG} ({{'model_cfg': ..., 'preprocess_cfg': ...}}) and "
            f"{LOCAL_WEIGHT_FILES[0]}, as open_clip.push_to_hf_hub writes; for a training "
            "checkpoint write {'model_cfg': open_clip.get_model_config(ARCH)} next to it.")
    try:
        config = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON ({exc})") from exc
    if not isinstance(config.get("model_cfg"), dict):
        raise ValueError(f"{file}: no 'model_cfg' entry (open_clip's model config)")
    return config


def local_weight_file(folder: Path) -> Path:
    for name in LOCAL_WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise WeightsNotFoundError(f"{LOCAL_PREFIX}{folder}: no weights there (looked for "
                               f"{', '.join(LOCAL_WEIGHT_FILES)}).")


# ----------------------------------------------------------------------------- weights


def openclip_cache_dir() -> Path:
    """open_clip's URL download folder: ``$OPENCLIP_CACHE_DIR``, else ``~/.cache/clip``."""
    return Path(os.environ.get("OPENCLIP_CACHE_DIR") or "~/.cache/clip").expanduser()


def _hf_files(cfg: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(repo, file names to try, safetensors first) of the tag's ``hf_hub`` entry."""
    hub = cfg.get("hf_hub") or ""
    if not hub:
        return None
    repo, filename = os.path.split(hub)  # 'org/repo/' (default file) or 'org/repo/file', as open_clip
    filename = filename or HF_DEFAULT_FILE
    names = list(open_clip_module().pretrained._get_safe_alternatives(filename)) + [filename]
    return repo, names


def _url_file(cfg: dict[str, Any]) -> Path | None:
    url = cfg.get("url") or ""
    return openclip_cache_dir() / os.path.basename(urlparse(url).path) if url else None


def find_cached_openclip_weights(cfg: dict[str, Any]) -> tuple[Path, str] | None:
    """(file, provenance label) of cached weights for a tag's config, or None. No network."""
    from huggingface_hub import try_to_load_from_cache

    hf = _hf_files(cfg)
    if hf is not None:
        repo, names = hf
        for filename in names:
            found = try_to_load_from_cache(repo, filename, cache_dir=hf_hub_cache_dir())
            if isinstance(found, str):
                return Path(found), f"hf-cache:{repo}"
    file = _url_file(cfg)
    if file is not None and file.is_file():
        return file, str(file)
    return None


def looked_in(cfg: dict[str, Any]) -> list[str]:
    """The places :func:`find_cached_openclip_weights` searches, for error messages."""
    places = []
    hf = _hf_files(cfg)
    if hf is not None:
        repo, names = hf
        folder = hf_hub_cache_dir() / ("models--" + repo.replace("/", "--"))
        places.append(f"{folder} (Hugging Face cache, {' or '.join(names)})")
    file = _url_file(cfg)
    if file is not None:
        places.append(f"{file} (open_clip download folder; OPENCLIP_CACHE_DIR)")
    return places


def locate_openclip_weights(name: str, cfg: dict[str, Any]) -> tuple[Path, str]:
    """Cached weights for a tag; downloaded with open_clip's own downloader only when online."""
    found = find_cached_openclip_weights(cfg)
    if found is not None:
        return found
    places = "\n".join(f"  - {p}" for p in looked_in(cfg))
    arch, tag, _ = parse_openclip_name(name)

    def missing(reason: str) -> WeightsNotFoundError:
        return WeightsNotFoundError(
            f"no weights for {name} on this machine ({reason}). Looked in:\n{places}\n"
            "To provide them: on a machine with internet access run\n"
            f"  python -c \"import open_clip; open_clip.create_model('{arch}', pretrained='{tag}')\"\n"
            f"and copy its Hugging Face cache folder into {hf_hub_cache_dir()} here (HF_HOME or "
            "HF_HUB_CACHE set another cache), or pass the file: weights=FILE / --weights.")

    if is_offline():
        raise missing("offline: ROBUSTNESS_OFFLINE or HF_HUB_OFFLINE")
    hf = _hf_files(cfg)
    url = os.environ.get("HF_ENDPOINT", "https://huggingface.co") if hf else cfg.get("url", "")
    if not reachable(url):
        raise missing(f"offline: {urlparse(url).hostname} cannot be reached")
    try:
        cache = hf_hub_cache_dir() if hf else openclip_cache_dir()
        path = open_clip_module().pretrained.download_pretrained(cfg, cache_dir=str(cache))
    except Exception as exc:  # network, auth, disk: one actionable error
        raise missing(f"download failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
    return Path(path), (f"hf-cache:{hf[0]}" if hf else str(path))


# ----------------------------------------------------------------------------- model


def openclip_eval_transform(preprocess_cfg: dict[str, Any]) -> EvalTransform:
    """Our transform from open_clip's ``preprocess_cfg`` (its eval ``image_transform``)."""
    size = preprocess_cfg.get("size", 224)
    if isinstance(size, (list, tuple)):
        if len(set(size)) != 1:
            raise ValueError(f"non-square open_clip input size {size}: only square inputs are supported")
        size = size[0]
    mode = preprocess_cfg.get("resize_mode") or "shortest"
    if mode not in ("shortest", "squash"):
        raise ValueError(f"open_clip resize_mode {mode!r} (resize the longer side and pad) is "
                         "not supported; supported: 'shortest' and 'squash'")
    return EvalTransform(
        resize_size=int(size), crop_size=int(size),
        interpolation=preprocess_cfg.get("interpolation") or "bicubic",
        mean=tuple(float(v) for v in preprocess_cfg["mean"]),
        std=tuple(float(v) for v in preprocess_cfg["std"]),
        resize_mode="squash" if mode == "squash" else "shorter_side",
    )


def vision_kind(model_cfg: dict[str, Any]) -> str:
    """'cnn' for a ModifiedResNet or a convolutional timm tower, else 'vit'."""
    vision = model_cfg.get("vision_cfg", {})
    if isinstance(vision.get("layers"), (list, tuple)):
        return "cnn"
    timm_name = vision.get("timm_model_name")
    if timm_name:
        return "vit" if timm_name.startswith(TRANSFORMER_ARCH_PREFIXES) else "cnn"
    return "vit"


def _load_checkpoint(model: nn.Module, file: Path, label: str) -> None:
    """open_clip's ``load_checkpoint`` (its key conversions, strict) with ``weights_only=True``."""
    open_clip = open_clip_module()
    try:
        open_clip.load_checkpoint(model, str(file), strict=True, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError) as exc:
        message = str(exc)
        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in message or "TorchScript" in message:
            raise UnsafeWeightsError(
                f"{file}: refused to load; torch.load(weights_only=True) cannot read it "
                f"({message.splitlines()[0][:300]}). TorchScript archives (OpenAI's original .pt "
                "files) and pickled objects are not read: use the Hugging Face hub copy "
                "(open_clip_model.safetensors) or re-save the state dict with safetensors."
            ) from exc
        raise WeightsMismatchError(f"weights {label} do not fit this open_clip model: "
                                   f"{message[:800]}") from exc


@dataclass(frozen=True)
class ClipSpec:
    """What builds one open_clip classifier (before the weights are read)."""

    model_id: str  # 'ViT-B-32' or 'local-dir:<folder>' (open_clip's own schema)
    model_cfg: dict[str, Any]
    preprocess_overlay: dict[str, Any]  # the tag's preprocessing overrides
    quick_gelu: bool


class _DropRandomInitNotice(logging.Filter):
    """Drops open_clip's "No pretrained weights loaded ... initialized randomly" warning,
    wrong when the harness reads the weights right after building the model."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No pretrained weights loaded")


def build_clip(spec: ClipSpec, weights_follow: bool = False) -> nn.Module:
    """The open_clip model with random weights (nothing is downloaded); ``weights_follow``:
    the caller loads weights next, so open_clip's random-init warning is dropped."""
    open_clip = open_clip_module()
    kwargs: dict[str, Any] = {"pretrained_image": False, "pretrained_text": False,
                              "force_preprocess_cfg": spec.preprocess_overlay or None,
                              "cache_dir": str(hf_hub_cache_dir())}
    if spec.quick_gelu:
        kwargs["force_quick_gelu"] = True
    if spec.model_id.startswith("local-dir:"):
        kwargs["load_weights"] = False
    notice = _DropRandomInitNotice()
    root = logging.getLogger()  # open_clip warns through logging.warning (the root logger)
    if weights_follow:
        root.addFilter(notice)
    try:
        return open_clip.create_model(spec.model_id, **kwargs).eval()
    finally:
        root.removeFilter(notice)


# ----------------------------------------------------------------------------- the head


def imagenet_prompts(templates: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(1000 class names, template format strings with '{}') from open_clip's zero-shot metadata."""
    meta = import_extra("open_clip.zero_shot_metadata", EXTRA, SOURCE_NAME)
    names = tuple(meta.IMAGENET_CLASSNAMES)
    if len(names) != IMAGENET1K_CLASSES:
        raise ValueError(f"open_clip lists {len(names)} ImageNet class names, expected 1000")
    return names, tuple(t("{}") for t in getattr(meta, TEMPLATE_SETS[templates]))


@dataclass(frozen=True)
class ZeroShotPrompts:
    """What a zero-shot head is built from: one head row per class name."""

    class_names: tuple[str, ...]
    templates: tuple[str, ...]  # format strings with '{}'
    templates_name: str  # 'openai' | 'simple' | CHECKPOINT_TEMPLATES
    source: str  # where the class names come from (recorded in ModelInfo.head)
    class_indices: tuple[int, ...] | None = None  # ImageNet-1k index per row; None: rows 0..999


CHECKPOINT_TEMPLATES = "checkpoint"
"""``head['templates']`` of a head built from a folder's own ``zero_shot.templates``."""


def standard_prompts(templates_name: str) -> ZeroShotPrompts:
    """The 1000 ImageNet class names of open_clip under a named template set."""
    names, templates = imagenet_prompts(templates_name)
    return ZeroShotPrompts(names, templates, templates_name,
                           "open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES")


def folder_prompts(config: dict[str, Any], file: Path, templates_name: str, explicit_set: bool
                   ) -> ZeroShotPrompts | None:
    """The ``zero_shot`` entry of a folder's config as prompts (None without one).

    ``class_names`` maps ImageNet-1k indices (JSON keys) to names, listed in index order;
    ``templates`` (optional) replace the ``@SET`` templates, which must then not be named
    (``explicit_set``). Raises ValueError on a malformed entry."""
    entry = config.get("zero_shot")
    if entry is None:
        return None
    names = entry.get("class_names") if isinstance(entry, dict) else None
    if not isinstance(names, dict) or not names:
        raise ValueError(f"{file}: 'zero_shot' needs 'class_names': {{ImageNet index: name}}")
    try:
        pairs = sorted((int(k), v) for k, v in names.items())
    except ValueError as exc:
        raise ValueError(f"{file}: zero_shot.class_names keys must be ImageNet-1k indices") from exc
    bad = [(i, v) for i, v in pairs if not 0 <= i < IMAGENET1K_CLASSES or not isinstance(v, str) or not v]
    if bad:
        raise ValueError(f"{file}: zero_shot.class_names entries out of 0..999 or not names: {bad[:3]}")
    source = f"{LOCAL_CONFIG} zero_shot ({len(pairs)} of {IMAGENET1K_CLASSES} classes)"
    indices = tuple(i for i, _ in pairs)
    class_names = tuple(v for _, v in pairs)
    own = entry.get("templates")
    if own is None:
        return ZeroShotPrompts(class_names, imagenet_prompts(templates_name)[1], templates_name, source,
                               indices)
    if explicit_set:
        raise ValueError(f"{file}: the folder gives its own zero_shot.templates; drop the "
                         f"{TEMPLATE_SEPARATOR}{templates_name} suffix")
    if not isinstance(own, list) or not own or not all(isinstance(t, str) and "{}" in t for t in own):
        raise ValueError(f"{file}: zero_shot.templates must be a list of strings with '{{}}'")
    return ZeroShotPrompts(class_names, tuple(own), CHECKPOINT_TEMPLATES, source, indices)


def unreachable_logit(logit_scale: float, logit_bias: float | None) -> float:
    """The logit of classes a head has no row for: below ``logit_scale * cos + bias`` for every
    cosine in [-1, 1]."""
    return -(abs(logit_scale) + abs(logit_bias or 0.0)) - 1.0


def _sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def head_identity(spec: ClipSpec, weights_sha256: str | None, class_names: tuple[str, ...],
                  templates: tuple[str, ...], tokenizer: Any,
                  class_indices: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Everything the text head and its class positions are computed from (hashed into
    ``head_sha256``); ``class_indices`` only when the rows are not the 1000 classes in order."""
    placed = {} if class_indices is None else {"class_indices_sha256": _sha256_json(list(class_indices))}
    return {
        "format": HEAD_FORMAT,
        "model_cfg_sha256": _sha256_json([spec.model_cfg, spec.quick_gelu]),
        "weights_sha256": weights_sha256,
        "class_names_sha256": _sha256_json(list(class_names)),
        "templates_sha256": _sha256_json(list(templates)),
        "tokenizer": type(tokenizer).__name__,
        "context_length": getattr(tokenizer, "context_length", None),
        **placed,
    }


def zeroshot_cache_dir() -> Path:
    """``<$XDG_CACHE_HOME or ~/.cache>/robustness-harness/zeroshot-heads`` (read at call time)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "robustness-harness" / "zeroshot-heads"


def compute_head(model: nn.Module, tokenizer: Any, class_names: tuple[str, ...],
                 templates: tuple[str, ...]) -> torch.Tensor:
    """(classes, D) float32 class embeddings, unit rows: open_clip's ``build_zero_shot_classifier``
    (per class: normalise each template's text embedding, average, normalise)."""
    open_clip = open_clip_module()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    try:
        weights = open_clip.build_zero_shot_classifier(
            model, tokenizer, class_names, list(templates), num_classes_per_batch=CLASSES_PER_BATCH,
            device=device)
    finally:
        model.to("cpu")
    return weights.T.float().cpu().contiguous()


def cached_head(model: nn.Module, tokenizer: Any, class_names: tuple[str, ...],
                templates: tuple[str, ...], identity: dict[str, Any]) -> tuple[torch.Tensor, str, bool]:
    """(head, head_sha256, computed now?): read from the cache or computed and stored there.

    Models without a weights file (random init) are never cached."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    head_sha = _sha256_json(identity)
    if identity["weights_sha256"] is None:
        return compute_head(model, tokenizer, class_names, templates), head_sha, True
    file = zeroshot_cache_dir() / f"{head_sha}.safetensors"
    if file.is_file():
        try:
            with safe_open(str(file), framework="pt") as handle:
                stored = json.loads((handle.metadata() or {}).get("identity", "null"))
                head = handle.get_tensor("head")
            if stored == identity and head.shape[0] == len(class_names):
                return head, head_sha, False
        except Exception:  # a damaged or foreign file: computed again and replaced
            pass
    head = compute_head(model, tokenizer, class_names, templates)
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    save_file({"head": head}, str(partial), metadata={"identity": json.dumps(identity, sort_keys=True)})
    os.replace(partial, file)  # atomic: concurrent jobs write the same content
    return head, head_sha, True


class ZeroShotClassifier(nn.Module):
    """(N, 3, H, W) normalised images -> (N, classes) logits:
    ``exp(logit_scale) * normalize(image embedding) @ head.T (+ logit_bias)``.

    With ``class_indices`` (the ImageNet-1k index of each head row) the logits are placed in
    a 1000-way output whose other classes get :func:`unreachable_logit`."""

    def __init__(self, clip: nn.Module, head: torch.Tensor,
                 class_indices: tuple[int, ...] | None = None) -> None:
        super().__init__()
        open_clip = open_clip_module()
        if type(clip) in (open_clip.CLIP, open_clip.CustomTextCLIP):
            self.visual, self.clip = clip.visual, None  # encode_image is visual(x); text tower dropped
        else:
            self.visual, self.clip = None, clip
        self.register_buffer("head", head)
        self.logit_scale = float(clip.logit_scale.detach().exp().reshape(-1)[0])
        bias = getattr(clip, "logit_bias", None)
        self.logit_bias = None if bias is None else float(bias.detach().reshape(-1)[0])
        self.register_buffer("rows", None if class_indices is None else torch.tensor(class_indices))
        self.floor = unreachable_logit(self.logit_scale, self.logit_bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.visual is not None:
            features = F.normalize(self.visual(images), dim=-1)
        else:
            features = self.clip.encode_image(images, normalize=True)
        logits = self.logit_scale * features @ self.head.to(features.dtype).T
        logits = logits if self.logit_bias is None else logits + self.logit_bias
        if self.rows is None:
            return logits
        out = logits.new_full((len(logits), IMAGENET1K_CLASSES), self.floor)
        out[:, self.rows] = logits
        return out


def build_zeroshot(spec: ClipSpec, file: Path | None, label: str, prompts: ZeroShotPrompts
                   ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    """(network, transform, fields common to both sources) for a built spec and weights file."""
    open_clip = open_clip_module()
    model = build_clip(spec, weights_follow=file is not None)
    sha256 = None
    if file is not None:
        sha256 = file_sha256(file)
        _load_checkpoint(model, file, label)
    tokenizer = open_clip.get_tokenizer(spec.model_id, cache_dir=str(hf_hub_cache_dir()))
    class_names, templates = prompts.class_names, prompts.templates
    identity = head_identity(spec, sha256, class_names, templates, tokenizer, prompts.class_indices)
    head, head_sha, computed = cached_head(model, tokenizer, class_names, templates, identity)
    transform = openclip_eval_transform(model.visual.preprocess_cfg)
    network = ZeroShotClassifier(model, head, prompts.class_indices).eval()
    fields = {
        "num_classes": int(head.shape[0]) if prompts.class_indices is None else IMAGENET1K_CLASSES,
        "weights": label,
        "weights_sha256": sha256,
        "crop_pct": round(transform.crop_pct, 6),
        "kind": vision_kind(spec.model_cfg),
        "training": "zero-shot",
        "head": {
            "type": "zero-shot",
            "templates": prompts.templates_name,
            "n_templates": len(templates),
            "class_names": prompts.source,
            "head_sha256": head_sha if sha256 is not None else None,
            "identity": identity,
            "computed": computed,
            "logit_scale": network.logit_scale,
            "logit_bias": network.logit_bias,
            "open_clip": open_clip.__version__,
        },
    }
    return network, transform, fields


def _named_spec(arch: str, cfg: dict[str, Any]) -> ClipSpec:
    open_clip = open_clip_module()
    model_cfg = open_clip.get_model_config(arch)
    if model_cfg is None:
        raise UnknownModelError(f"{PREFIX}{arch}: open_clip has no model config {arch!r}")
    overlay = open_clip.transform.merge_preprocess_dict({}, cfg)
    quick = bool(cfg.get("quick_gelu")) and not model_cfg.get("quick_gelu", False)
    return ClipSpec(arch, model_cfg, overlay, quick)


def load_openclip(name: str, weights: str | Path | None, pretrained: bool
                  ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    """``openclip:ARCH.TAG[@SET]``: (network without normalisation, transform, fields)."""
    arch, tag, templates = parse_openclip_name(name)
    cfg = checked_pretrained_cfg(arch, tag)
    canonical = f"{PREFIX}{arch}.{tag}{_suffix(templates)}"
    if not pretrained:
        file, label = None, RANDOM_INIT
    elif weights is not None:
        file = Path(weights).expanduser().resolve()
        if not file.is_file():
            raise WeightsNotFoundError(f"weights file {file} does not exist (or is not a file).")
        label = str(file)
    else:
        file, label = locate_openclip_weights(canonical, cfg)
    network, transform, fields = build_zeroshot(_named_spec(arch, cfg), file, label,
                                                standard_prompts(templates))
    return network, transform, {"name": canonical, "architecture": arch, **fields}


def load_openclip_local(name: str) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
    """``openclip-local:FOLDER[@SET]``: (network without normalisation, transform, fields)."""
    folder, templates = local_folder(name)
    config = read_local_config(folder)
    file = local_weight_file(folder)
    spec = ClipSpec(f"local-dir:{folder}", config["model_cfg"], {}, False)
    explicit = name.strip().endswith(TEMPLATE_SEPARATOR + templates)
    prompts = folder_prompts(config, folder / LOCAL_CONFIG, templates, explicit) or standard_prompts(templates)
    network, transform, fields = build_zeroshot(spec, file, str(file), prompts)
    extra = config.get("harness", {})
    fields["family"] = extra.get("family")
    fields["kind"] = extra.get("kind") or fields["kind"]
    suffix = "" if prompts.templates_name == CHECKPOINT_TEMPLATES else _suffix(templates)
    return network, transform, {"name": folder.name + suffix,
                                "architecture": folder.name, **fields}


# ----------------------------------------------------------------------------- the sources


class OpenClipSource:
    """open_clip pretrained tags as zero-shot ImageNet classifiers: ``openclip:ARCH.TAG``."""

    prefix = PREFIX
    name = SOURCE_NAME

    def owns(self, name: str) -> bool:
        return name.strip().startswith(PREFIX)

    def parse(self, name: str) -> ModelName:
        arch, tag, templates = parse_openclip_name(name)
        return ModelName(SOURCE_NAME, arch, tag + _suffix(templates), PREFIX)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        """``openclip:ARCH.TAG`` (``@simple`` kept); every tag has a zero-shot ImageNet head."""
        arch, tag, templates = parse_openclip_name(name)
        checked_pretrained_cfg(arch, tag)
        return f"{PREFIX}{arch}.{tag}{_suffix(templates)}"

    def expand(self, pattern: str) -> list[str]:
        """Every open_clip (arch, tag) whose ``openclip:ARCH.TAG`` matches, in open_clip's order."""
        text, templates = split_templates(pattern.strip()[len(PREFIX):], strict=True)
        names = [f"{a}.{t}" for a, t in known_pretrained()]
        return [f"{PREFIX}{n}{_suffix(templates)}" for n in names if fnmatch.fnmatchcase(n, text)]

    def load(self, name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
             ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
        """``weights``: a CLIP checkpoint file to read instead of the caches."""
        return load_openclip(name, weights, pretrained)


class OpenClipLocalSource:
    """open_clip checkpoint folders as zero-shot classifiers: ``openclip-local:FOLDER``."""

    prefix = LOCAL_PREFIX
    name = LOCAL_SOURCE_NAME

    def owns(self, name: str) -> bool:
        return name.strip().startswith(LOCAL_PREFIX)

    def parse(self, name: str) -> ModelName:
        text, templates = split_templates(name.strip()[len(LOCAL_PREFIX):], strict=False)
        return ModelName(LOCAL_SOURCE_NAME, text + _suffix(templates), "", LOCAL_PREFIX)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        folder, templates = local_folder(name)
        read_local_config(folder)
        local_weight_file(folder)
        return f"{LOCAL_PREFIX}{folder}{_suffix(templates)}"

    def expand(self, pattern: str) -> list[str]:
        """Folders matching a shell pattern that hold an open_clip config and weights."""
        import glob

        text, templates = split_templates(pattern.strip()[len(LOCAL_PREFIX):], strict=False)
        out = []
        for path in sorted(Path(p).resolve() for p in glob.glob(str(Path(text).expanduser()))):
            if (path / LOCAL_CONFIG).is_file() and any((path / f).is_file() for f in LOCAL_WEIGHT_FILES):
                out.append(f"{LOCAL_PREFIX}{path}{_suffix(templates)}")
        return out

    def load(self, name: str, weights: str | Path | None, pretrained: bool, use_test_size: bool
             ) -> tuple[nn.Module, EvalTransform, dict[str, Any]]:
        """The folder's own weights (``weights=`` is refused, ``pretrained`` does not apply)."""
        if weights is not None:
            raise ValueError(f"{name}: the folder holds the weights; drop weights=")
        return load_openclip_local(name)


SOURCE = OpenClipSource()
LOCAL_SOURCE = OpenClipLocalSource()


# ----------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class CatalogueEntry:
    """One open_clip (architecture, tag) for ``robustness models --family clip``."""

    name: str  # 'openclip:ARCH.TAG'
    params_m: float | None  # parameters of image + text tower, millions (None: not buildable offline)
    cached: str | None  # where its weights are on this machine, None when not cached


def parameter_count_m(arch: str) -> float | None:
    """Millions of parameters of ``arch``, counted on the meta device (no memory, no weights);
    None when it cannot be built offline (e.g. a Hugging Face text tower not in the cache)."""
    open_clip = open_clip_module()
    cfg = open_clip.get_model_config(arch)
    if not cfg or "multimodal_cfg" in cfg:
        return None
    custom = cfg.pop("custom_text", False) or "hf_model_name" in cfg.get("text_cfg", {})
    cfg.get("text_cfg", {})["hf_model_pretrained"] = False
    cfg.get("vision_cfg", {})["timm_model_pretrained"] = False
    try:
        with torch.device("meta"):
            model = (open_clip.CustomTextCLIP if custom else open_clip.CLIP)(**cfg)
    except Exception:  # noqa: BLE001 - any failure just means "size unknown"
        return None
    return round(sum(p.numel() for p in model.parameters()) / 1e6, 1)


def openclip_catalogue(pattern: str = "*") -> list[CatalogueEntry]:
    """Every open_clip pretrained (architecture, tag) matching ``pattern`` (``ARCH.TAG`` form),
    with its size and cached weights (nothing is downloaded)."""
    open_clip = open_clip_module()
    size_file = zeroshot_cache_dir().parent / f"openclip-sizes-{open_clip.__version__}.json"
    try:  # counting ~120 architectures on the meta device takes minutes: kept per version
        sizes: dict[str, float | None] = json.loads(size_file.read_text())
    except (OSError, ValueError):
        sizes = {}
    known = len(sizes)
    out = []
    for arch, tag in known_pretrained():
        if not fnmatch.fnmatchcase(f"{arch}.{tag}", pattern):
            continue
        if arch not in sizes:
            sizes[arch] = parameter_count_m(arch)
        found = find_cached_openclip_weights(dict(open_clip.pretrained.get_pretrained_cfg(arch, tag)))
        out.append(CatalogueEntry(f"{PREFIX}{arch}.{tag}", sizes[arch],
                                  None if found is None else str(found[0])))
    if len(sizes) > known:
        try:
            size_file.parent.mkdir(parents=True, exist_ok=True)
            size_file.write_text(json.dumps(sizes, sort_keys=True))
        except OSError:  # a read-only cache only costs the next listing time
            pass
    return out
