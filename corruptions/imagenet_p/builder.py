"""Write ImageNet-P from an ImageNet-style folder: one mp4 per (image, perturbation, difficulty).

Input: ``SRC/<wnid>/<file>`` (e.g. ImageNet val, one folder per class).
Output: ``OUT/<perturbation>/<wnid>/<stem>.mp4`` and, for the noise types at difficulty
2 and 3, ``OUT/<perturbation>_<difficulty>/<wnid>/<stem>.mp4`` -- the layout of the
published ImageNet-P and of the original ``make_imagenet_p.py`` (``<stem>`` is the file
name without its extension, as the script's ``img_loc[:-5]``).

* Frames: :func:`corruptions.imagenet_p.perturbation_sequence` (resize 256 in the image's
  own mode, then RGB, as the script; centre crop 224). Encoding:
  :func:`corruptions.imagenet_p.write_sequence_mp4` (libx264 yuv444p, preset veryslow;
  noises ``tune=grain``, others CRF 20).
* Difficulties select the noise levels of the three noise types; every other type has one
  sequence, written whatever ``difficulties`` says.
* Determinism: each sequence draws from ``image_rng(seed, '<wnid>/<file>', perturbation,
  difficulty)`` (gaussian noise seeds a torch generator from it); the files do not depend
  on worker count, order, ``classes`` or ``shard``.
* Atomic and resumable exactly like :mod:`corruptions.builder` (whose pieces this reuses):
  temporary name + rename, existing files skipped on a rerun, ``manifest.inprogress.json``
  while running, ``manifest.json`` (or ``manifest-shard-I-of-N.json``) at the end; a rerun
  with another seed, or into a folder holding another benchmark, is refused unless
  ``force=True``.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..base import image_rng
from ..builder import (
    OUTPUT_ERRNOS,
    TMP_MARKER,
    BuildConfigError,
    BuildReport,
    ImageResult,
    SourceImageError,
    check_output_folder,
    list_source_images,
    package_versions,
    parse_shard,
    prepare_output_folder,
    run_build,
    select_shard,
)
from ..errors import UserInputError
from ..params import imagenet_p as P
from .frames import (
    check_difficulty,
    check_perturbation,
    difficulties_of,
    perturbation_sequence,
    resize_shorter,
    sequence_dirname,
)
from .video import _av, backend_versions, encoder_settings, is_noise, write_sequence_mp4

BENCHMARK = "imagenet-p"
BINDING_KEYS = ("benchmark", "seed", "resize", "crop", "reproducible")


@dataclass(frozen=True)
class PBuildConfig:
    """Everything that decides which ImageNet-P files a build writes and what they hold."""

    src: Path
    out: Path
    perturbations: tuple[str, ...] = P.ALL
    difficulties: tuple[int, ...] = (1,)
    seed: int = 0
    classes: tuple[str, ...] | None = None
    shard: tuple[int, int] | None = None
    skip_bad_images: bool = False
    resize: int = P.RESIZE
    crop: int = P.CROP
    reproducible: bool = True

    def sequences(self) -> list[tuple[str, int]]:
        """(perturbation, difficulty) pairs to write per image."""
        return [
            (name, d)
            for name in self.perturbations
            for d in difficulties_of(name)
            if d in self.difficulties or name not in P.NOISE
        ]


def parse_perturbations(spec: str | Sequence[str]) -> tuple[str, ...]:
    """``all`` | ``test`` (the 10 test types) | ``held-out`` | ``noise`` | ``name,name`` ->
    validated perturbation names."""
    groups = {"all": P.ALL, "test": P.PERTURBATIONS, "held-out": P.HELD_OUT,
              "held_out": P.HELD_OUT, "noise": P.NOISE}  # fmt: skip
    if isinstance(spec, str):
        names = groups.get(spec) or tuple(s.strip() for s in spec.split(",") if s.strip())
    else:
        names = tuple(spec)
    if not names:
        raise BuildConfigError(f"no perturbations in {spec!r}; name some, or use all, test, "
                               "held-out, noise")  # fmt: skip
    try:
        return tuple(check_perturbation(n) for n in names)
    except UserInputError as exc:
        raise BuildConfigError(f"{exc}; or use all, test, held-out, noise") from None


def parse_difficulties(spec: str | Iterable[int]) -> tuple[int, ...]:
    """``1-3`` | ``1,3`` | ``2`` -> sorted unique difficulties, each 1..3."""
    if isinstance(spec, str):
        values: list[Any] = []
        try:
            for part in spec.split(","):
                if "-" in part:
                    lo, hi = (int(v) for v in part.split("-", 1))
                    values.extend(range(lo, hi + 1))
                elif part.strip():
                    values.append(int(part))
        except ValueError:
            raise BuildConfigError(f"cannot parse difficulties {spec!r}; write 1-3 or 1,3") from None
    else:
        values = list(spec)
    try:
        checked = [check_difficulty("gaussian_noise", v) for v in values]
    except UserInputError as exc:
        raise BuildConfigError(str(exc)) from None
    if not checked:
        raise BuildConfigError(f"no difficulties in {spec!r}; write 1-3 or 1,3")
    return tuple(sorted(set(checked)))


def output_path(out: Path, relpath: str, name: str, difficulty: int) -> Path:
    """``out/<perturbation>[_<difficulty>]/<wnid>/<stem>.mp4``."""
    rel = Path(relpath)
    return Path(out) / sequence_dirname(name, difficulty) / rel.parent / f"{rel.stem}.mp4"


def load_source(path: Path, resize: int = P.RESIZE) -> Image.Image:
    """The source image as the script read it: resized (shorter side 256, bilinear) in its own
    mode, then converted to RGB. Unreadable files raise :class:`SourceImageError`."""
    try:
        with Image.open(path) as im:
            im.load()
            return resize_shorter(im, resize).convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise SourceImageError(path, exc) from exc


def write_mp4_atomic(frames: np.ndarray, path: Path, noise: bool, reproducible: bool = True) -> None:
    """Encode ``frames`` (uint8 T x H x W x 3) to ``path`` via a temporary file + rename."""
    tmp = path.with_name(f"{path.name}{TMP_MARKER}{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            write_sequence_mp4(frames, f, noise, reproducible)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno not in OUTPUT_ERRNOS:
            raise
        raise BuildConfigError(
            f"cannot write {path}: {exc.strerror or exc}; free space or fix the permissions of "
            "the output folder, then rerun the same command to resume"
        ) from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def perturb_one_image(config: PBuildConfig, relpath: str) -> ImageResult:
    """Write every sequence of one source image that is not on disk yet."""
    result = ImageResult(relpath)
    todo = []
    for name, d in config.sequences():
        exists = output_path(config.out, relpath, name, d).exists()
        (result.existing if exists else todo).append((name, d))
    if not todo:
        return result
    try:
        image = load_source(Path(config.src) / relpath, config.resize)
    except SourceImageError as exc:
        result.error = str(exc)
        return result
    for name, d in todo:
        rng = image_rng(config.seed, relpath, name, d)
        frames = perturbation_sequence(image, name, d, rng, resize=None, crop=config.crop)
        path = output_path(config.out, relpath, name, d)
        write_mp4_atomic(frames, path, is_noise(name), config.reproducible)
        result.written.append((name, d))
    return result


def settings_record(config: PBuildConfig) -> dict[str, Any]:
    return {
        "benchmark": BENCHMARK,
        "src": str(Path(config.src).resolve()),
        "out": str(Path(config.out).resolve()),
        "perturbations": list(config.perturbations),
        "difficulties": list(config.difficulties),
        "seed": config.seed,
        "classes": list(config.classes) if config.classes is not None else None,
        "shard": list(config.shard) if config.shard is not None else None,
        "skip_bad_images": config.skip_bad_images,
        "resize": config.resize,
        "crop": config.crop,
        "reproducible": config.reproducible,
    }


def check_resume(out: Path, config: PBuildConfig, force: bool) -> None:
    """Refuse to add files to ``out`` that another seed or another benchmark's build made,
    unless ``force``."""
    current = settings_record(config)
    for name in sorted(p.name for p in Path(out).glob("manifest*.json")):
        with open(Path(out) / name) as f:
            try:
                previous = json.load(f).get("settings", {})
            except json.JSONDecodeError:
                continue
        diff = {k: (previous.get(k), current[k]) for k in BINDING_KEYS if previous.get(k) != current[k]}
        if diff and not force:
            details = ", ".join(f"{k}: {a!r} on disk vs {b!r} now" for k, (a, b) in diff.items())
            raise BuildConfigError(
                f"{out} holds files from a build with other settings ({details}, per {name}). "
                "Use another output folder, rerun with the same settings to resume, or pass "
                "--force to mix them anyway."
            )


def parameter_record() -> dict[str, Any]:
    """The plain data of :mod:`corruptions.params.imagenet_p`, JSON-ready."""
    keys = ("SOURCE", "RESIZE", "CROP", "FRAMES", "NOISE_LEVELS", "LADDERS", "FIXED",
            "CLEAN_FIRST_FRAME")  # fmt: skip
    return json.loads(json.dumps({k: getattr(P, k) for k in keys}))


def build_imagenet_p(
    src: str | Path,
    out: str | Path,
    *,
    perturbations: str | Sequence[str] = "all",
    difficulties: str | Iterable[int] = "1",
    seed: int = 0,
    workers: int = 1,
    classes: Sequence[str] | None = None,
    shard: str | tuple[int, int] | None = None,
    skip_bad_images: bool = False,
    force: bool = False,
    progress: bool = True,
    reproducible: bool = True,
    resize: int = P.RESIZE,
    crop: int = P.CROP,
) -> BuildReport:
    """Write ImageNet-P sequences of every image of ``src`` under ``out`` (see the module
    docstring for layout, seeding and resume). ``perturbations``: ``all`` (the 14),
    ``test`` (10), ``held-out`` (4), ``noise`` or names; ``difficulties``: of the noise types
    (``1-3``). ``reproducible=False`` lets x264 use its assembly: 2-4 times faster, but the
    bytes of a file may differ between runs (:mod:`corruptions.imagenet_p.video`).
    ``resize``/``crop`` (px) change the script's 256/224 geometry, for small trial sets only.
    ``BuildReport.counts`` is ``{perturbation: {difficulty: n_files}}``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise BuildConfigError(f"seed must be an integer (run seed), got {seed!r}")
    for label, value in (("resize", resize), ("crop", crop)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise BuildConfigError(f"{label} must be a positive number of pixels, got {value!r}")
    if crop > resize:
        raise BuildConfigError(f"crop ({crop} px) must not exceed resize ({resize} px)")
    config = PBuildConfig(
        src=Path(src),
        out=Path(out),
        perturbations=parse_perturbations(perturbations),
        difficulties=parse_difficulties(difficulties),
        seed=int(seed),
        classes=tuple(classes) if classes is not None else None,
        shard=parse_shard(shard),
        skip_bad_images=skip_bad_images,
        resize=int(resize),
        crop=int(crop),
        reproducible=bool(reproducible),
    )
    _av(encode=True)  # fail before any work when PyAV or libx264 is missing
    check_output_folder(config.out)
    relpaths = select_shard(list_source_images(config.src, config.classes), config.shard)
    check_resume(config.out, config, force)
    prepare_output_folder(config.out)
    counts: dict[str, dict[str, int]] = {}
    for name, d in config.sequences():
        counts.setdefault(name, {})[str(d)] = 0

    def describe() -> dict[str, Any]:
        versions = package_versions()
        versions.update(backend_versions())
        try:  # gaussian noise's frames come from torch's generator
            versions["torch"] = metadata.version("torch")
        except metadata.PackageNotFoundError:
            versions["torch"] = None
        return {
            "layout": "<perturbation>[_<difficulty>]/<wnid>/<stem>.mp4",
            "geometry": f"resize short side {config.resize} (PIL bilinear, source mode, then RGB) "
            f"+ center crop {config.crop}",
            "encoding": {"noise": encoder_settings(True, config.reproducible),
                         "other": encoder_settings(False, config.reproducible)},  # fmt: skip
            "seeding": "corruptions.base.image_rng(seed, '<wnid>/<file>', perturbation, difficulty)"
            "; gaussian_noise seeds a torch.Generator with one draw from it",
            "versions": versions,
            "parameters": parameter_record(),
        }

    return run_build(config, relpaths, perturb_one_image, settings=settings_record(config),
                     counts=counts, workers=workers, progress=progress, describe=describe)
