"""Write a corrupted copy of an ImageNet-style folder to disk (ImageNet-C layout).

Input: ``SRC/<wnid>/<file>`` (images directly inside one folder per class).
Output: ``OUT/<corruption>/<severity>/<wnid>/<file>``, the layout the released
ImageNet-C uses and the harness's ImageNet-C reader expects.

* Geometry, as the reference ``make_imagenet_c.py`` did: preset ``imagenet``
  resizes the short side to 256 px (PIL bilinear, like torchvision's
  ``Resize(256)`` on a PIL image) and centre-crops 224 x 224. Presets
  ``tiny-imagenet`` (64 px) and ``cifar`` (32 px) use the images as they are:
  those sets are already at their size (the reference scripts did not resize).
* Encoding: ``jpeg`` keeps the source file name (``ILSVRC2012_val_00000001.JPEG``)
  and saves with PIL ``quality=85, optimize=True``, as the reference's saver did;
  ``png`` (lossless, for studies without JPEG artefacts) writes ``<stem>.png``.
* Determinism: each (image, corruption, severity) draws from its own
  ``RandomState`` seeded from the run seed, the image's path relative to SRC,
  the corruption and the severity (:func:`corruptions.base.image_rng`). The
  files do not depend on worker count, order, ``--classes`` or ``--shard``.
* Atomic, resumable: every file is written to a temporary name in its folder
  and renamed into place, so a file that exists is complete; a rerun skips
  existing files. ``OUT/manifest.inprogress.json`` holds the run's settings
  while it runs; a rerun with a different seed, preset or format is refused
  unless ``force=True``. At the end ``manifest.json`` (or
  ``manifest-shard-I-of-N.json``) records seed, versions, parameter tables,
  counts per corruption and severity, and skipped bad files.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import numbers
import os
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from .base import ALL, COMMON, HELD_OUT, PRESETS, check_severity, image_rng
from .errors import UserInputError, failure_reason
from .params import parameter_table
from .registry import get_corruption, registry
from .threads import init_worker_process

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".webp", ".tif", ".tiff")
FORMATS = ("jpeg", "png")
JPEG_SETTINGS = {"quality": 85, "optimize": True}
RESIZE_SHORT_SIDE = 256
CROP_SIZE = 224
TMP_MARKER = ".part-"
IN_PROGRESS = "manifest.inprogress.json"
# Settings that change the bytes written: a resume must use the same ones.
BINDING_KEYS = ("seed", "preset", "format")


class BuildConfigError(UserInputError):
    """The build's arguments or the output folder's state do not allow the run."""


SOURCE_IMAGE_HINT = (
    "Replace or delete the file, or rerun with --skip-bad-images (Python: skip_bad_images=True) "
    "to skip it; skipped files are listed in the manifest."
)
# OS errors of writing OUT that the user fixes (permissions, space, a file in the way).
OUTPUT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT,
                            errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENAMETOOLONG})  # fmt: skip


class SourceImageError(RuntimeError, UserInputError):
    """A source image cannot be read.

    ``cause`` is the exception or its message; the text of another
    ``SourceImageError`` (as a worker process reports it) is not wrapped twice.
    """

    def __init__(self, path: Path, cause: BaseException | str):
        self.path = Path(path)
        if isinstance(cause, UnidentifiedImageError):  # its text repeats the path
            cause = "not an image file PIL can identify"
        self.reason = failure_reason(cause, f"cannot read source image {self.path}: ", SOURCE_IMAGE_HINT)
        super().__init__(f"cannot read source image {self.path}: {self.reason}. {SOURCE_IMAGE_HINT}")

    def __reduce__(self):  # picklable across worker processes (args hold only the message)
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides which files a build writes and what they contain."""

    src: Path
    out: Path
    preset: str = "imagenet"
    corruptions: tuple[str, ...] = ALL
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    seed: int = 0
    format: str = "jpeg"
    classes: tuple[str, ...] | None = None
    shard: tuple[int, int] | None = None  # (index, count), index 0-based
    skip_bad_images: bool = False


@dataclass
class ImageResult:
    """What one worker did with one source image."""

    relpath: str
    written: list[tuple[str, int]] = field(default_factory=list)
    existing: list[tuple[str, int]] = field(default_factory=list)
    error: str | None = None


@dataclass
class BuildReport:
    """Summary of a build; the same numbers go to the manifest."""

    manifest_path: Path
    n_images: int
    n_written: int
    n_existing: int
    bad_files: list[dict[str, str]]
    counts: dict[str, dict[str, int]]


# --------------------------------------------------------------------------- selection


def parse_corruptions(spec: str | Sequence[str]) -> tuple[str, ...]:
    """``all`` | ``common`` | ``held-out`` | ``c-bar`` | ``shifts`` | ``name,name`` -> corruption
    names (validated). ``all`` is ImageNet-C's 19; ``c-bar`` and ``shifts`` are the other
    benchmarks' (build them into their own output folders)."""
    groups = {"c-bar": "imagenet-c-bar", "cbar": "imagenet-c-bar", "shifts": "shifts"}
    if not isinstance(spec, str):
        names = tuple(spec)
    elif spec in groups:
        names = tuple(n for n, c in registry().items() if c.benchmark == groups[spec])
    elif spec == "all":
        names = ALL
    elif spec == "common":
        names = COMMON
    elif spec in ("held-out", "held_out", "heldout"):
        names = HELD_OUT
    else:
        names = tuple(s.strip() for s in spec.split(",") if s.strip())
    known = registry()
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise BuildConfigError(
            f"unknown or unavailable corruption(s) {unknown or spec!r}; available: "
            f"{', '.join(sorted(known)) or '(none registered)'}; or use all, common, held-out, "
            "c-bar, shifts"
        )
    return names


def parse_severities(spec: str | Iterable[int]) -> tuple[int, ...]:
    """``1-5`` | ``1,3`` | ``4`` -> sorted unique severities, each checked to be 1..5."""
    if isinstance(spec, str):
        values: list[int] = []
        try:
            for part in spec.split(","):
                if "-" in part:
                    lo, hi = (int(v) for v in part.split("-", 1))
                    values.extend(range(lo, hi + 1))
                elif part.strip():
                    values.append(int(part))
        except ValueError:
            raise BuildConfigError(
                f"cannot parse severities {spec!r}; write a range like 1-5 or a list like 1,3"
            ) from None
    else:
        values = list(spec)
    if not values:
        raise BuildConfigError(f"no severities in {spec!r}; write 1-5 or 1,3")
    try:
        checked = [check_severity(v) for v in values]  # refuses 2.5 and True, no truncation
    except ValueError as exc:
        raise BuildConfigError(f"{exc} (CLI: --severities 1-5 or a list like 1,3)") from None
    return tuple(sorted(set(checked)))


def parse_shard(spec: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``i/n`` (0-based i, 0 <= i < n) -> (i, n); None stays None."""
    if spec is None:
        return None
    if isinstance(spec, str):
        try:
            i, n = (int(v) for v in spec.split("/"))
        except ValueError:
            raise BuildConfigError(f"cannot parse shard {spec!r}; write i/n, e.g. 0/4") from None
    else:
        i, n = spec
    if not (n >= 1 and 0 <= i < n):
        raise BuildConfigError(f"shard {i}/{n} is out of range; need 0 <= i < n (0-based)")
    return (i, n)


def list_source_images(src: Path, classes: Sequence[str] | None = None) -> list[str]:
    """Relative POSIX paths ``<wnid>/<file>`` of the images under ``src``, sorted.

    Only files directly inside a class folder are used (the ImageNet train/val
    layout). Raises :class:`BuildConfigError` naming ``src`` when nothing fits.
    """
    src = Path(src)
    layout = "SRC must be an ImageNet-style folder SRC/<wnid>/<image>"
    if src.is_file():
        raise BuildConfigError(f"source folder {src} is a file, not a folder; {layout}")
    if not src.is_dir():
        raise BuildConfigError(f"source folder {src} does not exist; {layout}")
    try:
        class_dirs = sorted(p for p in src.iterdir() if p.is_dir())
    except OSError as exc:
        raise BuildConfigError(
            f"cannot list source folder {src}: {exc.strerror or exc}; check its permissions"
        ) from exc
    if classes is not None:
        wanted = set(classes)
        missing = wanted - {p.name for p in class_dirs}
        if missing:
            raise BuildConfigError(
                f"class folder(s) {sorted(missing)} not found in {src}; --classes takes the "
                "names of SRC's sub-folders (e.g. n01440764)"
            )
        class_dirs = [p for p in class_dirs if p.name in wanted]
    relpaths = [
        f"{d.name}/{f.name}"
        for d in class_dirs
        for f in sorted(d.iterdir())
        if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
    ]
    if not relpaths:
        raise BuildConfigError(
            f"no images found in {src}: expected an ImageNet-style folder SRC/<wnid>/<image> "
            f"with extensions {', '.join(IMAGE_EXTENSIONS)}"
        )
    return relpaths


def select_shard(relpaths: Sequence[str], shard: tuple[int, int] | None) -> list[str]:
    """Every n-th image starting at i (of the sorted list); shards partition the set."""
    if shard is None:
        return list(relpaths)
    i, n = shard
    return list(relpaths[i::n])


# --------------------------------------------------------------------------- geometry & I/O


def preprocess(image: Image.Image, preset: str) -> np.ndarray:
    """PIL image -> uint8 HxWx3 (0-255) at the geometry the corruption is applied to.

    ``imagenet``: short side to 256 (PIL bilinear; long side ``int(256 * long / short)``,
    as torchvision), then the centre 224 x 224 (offsets rounded as torchvision).
    ``tiny-imagenet`` / ``cifar``: unchanged.
    """
    image = image.convert("RGB")
    if preset == "imagenet":
        w, h = image.size
        if w <= h:
            size = (RESIZE_SHORT_SIDE, int(RESIZE_SHORT_SIDE * h / w))
        else:
            size = (int(RESIZE_SHORT_SIDE * w / h), RESIZE_SHORT_SIDE)
        image = image.resize(size, Image.BILINEAR)
        w, h = image.size
        top = int(round((h - CROP_SIZE) / 2.0))
        left = int(round((w - CROP_SIZE) / 2.0))
        image = image.crop((left, top, left + CROP_SIZE, top + CROP_SIZE))
    elif preset not in PRESETS:
        raise BuildConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return np.array(image, dtype=np.uint8)  # a fresh, writable array


def load_source(path: Path, preset: str) -> np.ndarray:
    """Read and preprocess one source image; unreadable files raise :class:`SourceImageError`."""
    try:
        with Image.open(path) as im:
            im.load()
            return preprocess(im, preset)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise SourceImageError(path, exc) from exc


def output_path(out: Path, relpath: str, name: str, severity: int, fmt: str) -> Path:
    """``out/<name>/<severity>/<wnid>/<file>``; PNG output is named ``<stem>.png``."""
    rel = Path(relpath)
    if fmt == "png":
        rel = rel.with_suffix(".png")
    return Path(out) / name / str(severity) / rel


def write_atomic(image: np.ndarray, path: Path, fmt: str) -> None:
    """Save uint8 HxWx3 to ``path`` via a temporary file in the same folder + rename.

    Permission, disk-space and in-the-way-file errors raise :class:`BuildConfigError`
    naming ``path``; nothing half-written stays behind.
    """
    tmp = path.with_name(f"{path.name}{TMP_MARKER}{os.getpid()}")
    pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            if fmt == "jpeg":
                pil.save(f, format="JPEG", **JPEG_SETTINGS)
            else:
                pil.save(f, format="PNG")
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


def check_output_folder(out: Path) -> None:
    """Refuse an OUT that cannot become a folder (an existing file, or a file on its path).

    Writes nothing; :func:`prepare_output_folder` creates it and checks it is writable.
    """
    out = Path(out)
    try:
        if out.exists() and not out.is_dir():
            raise BuildConfigError(
                f"output folder {out} is an existing file, not a folder; pass a folder path "
                "(it is created if missing)"
            )
        for parent in out.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise BuildConfigError(
                        f"cannot create output folder {out}: {parent} is a file, not a folder; "
                        "pass a path inside a folder"
                    )
                break
    except OSError as exc:  # e.g. a name too long, a permission-denied parent
        raise BuildConfigError(
            f"cannot write to output folder {out}: {exc.strerror or exc}; choose a folder you "
            "can write to"
        ) from exc


def prepare_output_folder(out: Path) -> None:
    """Create ``out`` (with parents) and check a file can be written in it."""
    out = Path(out)
    probe = out / f".write-check{TMP_MARKER}{os.getpid()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"ok")
        probe.unlink()
    except OSError as exc:
        raise BuildConfigError(
            f"cannot write to output folder {out}: {exc.strerror or exc}; choose a folder you "
            "can write to (or fix its permissions)"
        ) from exc


def remove_stale_temporaries(out: Path) -> int:
    """Delete temporary files a killed run left behind; returns how many."""
    n = 0
    if Path(out).is_dir():
        for p in Path(out).rglob(f"*{TMP_MARKER}*"):
            if p.is_file():
                p.unlink()
                n += 1
    return n


# --------------------------------------------------------------------------- the work


def corrupt_one_image(config: BuildConfig, relpath: str) -> ImageResult:
    """Write every (corruption, severity) of one source image that is not on disk yet."""
    result = ImageResult(relpath)
    todo = [
        (name, sev)
        for name in config.corruptions
        for sev in config.severities
        if not output_path(config.out, relpath, name, sev, config.format).exists()
    ]
    result.existing = [
        (n, s) for n in config.corruptions for s in config.severities if (n, s) not in todo
    ]
    if not todo:
        return result
    try:
        image = load_source(Path(config.src) / relpath, config.preset)
    except SourceImageError as exc:
        result.error = str(exc)
        return result
    for name, sev in todo:
        corruption = get_corruption(name)
        rng = image_rng(config.seed, relpath, name, sev)
        # A fresh copy per corruption: no transform can leak changes into the next one.
        corrupted = corruption(image.copy(), sev, rng=rng, preset=config.preset)
        write_atomic(corrupted, output_path(config.out, relpath, name, sev, config.format), config.format)
        result.written.append((name, sev))
    return result


ImageJob = Callable[[Any, str], ImageResult]
"""Writes every output of one source image: ``job(config, relpath)``; a module-level function,
so that worker processes can import it."""


def _call(args: tuple[ImageJob, Any, str]) -> ImageResult:
    job, config, relpath = args
    return job(config, relpath)


def _init_worker() -> None:
    """One library thread per worker process: the processes are the parallelism
    (:func:`corruptions.threads.init_worker_process`)."""
    init_worker_process()


def _run(job: ImageJob, config: Any, relpaths: list[str], workers: int) -> Iterator[ImageResult]:
    jobs = [(job, config, r) for r in relpaths]
    if workers <= 1:
        yield from map(_call, jobs)
        return
    # spawn, not fork: forking a process that already runs OpenMP/torch threads can deadlock
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap_unordered(_call, jobs, chunksize=1)


def run_build(config: Any, relpaths: list[str], job: ImageJob, *, settings: dict[str, Any],
              counts: dict[str, dict[str, int]], workers: int, progress: bool,
              describe: Callable[[], dict[str, Any]]) -> BuildReport:
    """The loop every on-disk build shares (ImageNet-C and its relatives here, ImageNet-P in
    :mod:`corruptions.imagenet_p.builder`), after the output folder was checked and prepared.

    ``config`` has ``src``, ``out``, ``shard`` and ``skip_bad_images``; ``job`` writes one
    image's outputs, in ``workers`` processes; ``counts`` is ``{name: {str(level): 0}}``, filled
    from the ``(name, level)`` pairs each job reports. Marks ``out`` as in progress (with
    ``settings``), sweeps stale temporaries (unsharded runs only: shards share ``out``), stops at
    the first unreadable image unless ``skip_bad_images``, then writes the manifest (the common
    fields plus ``describe()``, called after the work) and removes the mark."""
    in_progress = config.out / (
        IN_PROGRESS if config.shard is None else f"{IN_PROGRESS[:-5]}-shard-{config.shard[0]}.json"
    )
    if config.shard is None:
        remove_stale_temporaries(config.out)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_json_atomic({"settings": settings, "started": started}, in_progress)

    n_written = n_existing = 0
    bad_files: list[dict[str, str]] = []
    bar = _progress_bar(len(relpaths), progress)
    try:
        for res in _run(job, config, relpaths, max(1, int(workers))):
            bar.update(1)
            if res.error is not None:
                if not config.skip_bad_images:
                    raise SourceImageError(Path(config.src) / res.relpath, res.error)
                bad_files.append({"file": res.relpath, "error": res.error})
                continue
            for name, level in res.written + res.existing:
                counts[name][str(level)] += 1
            n_written += len(res.written)
            n_existing += len(res.existing)
    finally:
        bar.close()

    manifest = {
        "settings": settings,
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **describe(),
        "n_images": len(relpaths),
        "n_files_written": n_written,
        "n_files_already_present": n_existing,
        "counts": counts,
        "bad_files": bad_files,
    }
    manifest_path = config.out / manifest_name(config.shard)
    write_json_atomic(manifest, manifest_path)
    in_progress.unlink(missing_ok=True)
    return BuildReport(manifest_path, len(relpaths), n_written, n_existing, bad_files, counts)


# --------------------------------------------------------------------------- manifest


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("robustness-harness", "numpy", "scipy", "scikit-image", "pillow",
                 "opencv-python-headless", "opencv-python"):  # fmt: skip
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def parameter_tables(names: Sequence[str], preset: str) -> dict[str, Any]:
    """The parameter rows used (``corruptions/params/``): per severity for the ImageNet-C and
    C-bar tables, the whole ladder for a shift. A corruption without a table is an error."""
    tables = {name: parameter_table(get_corruption(name).family, name, preset) for name in names}
    return json.loads(json.dumps(tables, default=repr))


def manifest_name(shard: tuple[int, int] | None) -> str:
    return "manifest.json" if shard is None else f"manifest-shard-{shard[0]}-of-{shard[1]}.json"


def settings_record(config: BuildConfig) -> dict[str, Any]:
    record = asdict(config)
    record["src"] = str(Path(config.src).resolve())
    record["out"] = str(Path(config.out).resolve())
    record["corruptions"] = list(config.corruptions)
    record["severities"] = list(config.severities)
    record["classes"] = list(config.classes) if config.classes is not None else None
    record["shard"] = list(config.shard) if config.shard is not None else None
    return record


def check_resume(out: Path, config: BuildConfig, force: bool) -> None:
    """Refuse to add files made with other binding settings to ``out`` unless ``force``."""
    for name in sorted(p.name for p in Path(out).glob("manifest*.json")):
        with open(Path(out) / name) as f:
            try:
                previous = json.load(f).get("settings", {})
            except json.JSONDecodeError:
                continue
        current = settings_record(config)
        diff = {k: (previous.get(k), current[k]) for k in BINDING_KEYS if previous.get(k) != current[k]}
        if diff and not force:
            details = ", ".join(f"{k}: {a!r} on disk vs {b!r} now" for k, (a, b) in diff.items())
            raise BuildConfigError(
                f"{out} holds files from a build with other settings ({details}, per {name}). "
                "Use another output folder, rerun with the same settings to resume, or pass "
                "--force to mix them anyway."
            )


def write_json_atomic(data: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(f"{path.name}{TMP_MARKER}{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- entry point


def build_corrupted_set(
    src: str | Path,
    out: str | Path,
    *,
    preset: str = "imagenet",
    corruptions: str | Sequence[str] = "all",
    severities: str | Iterable[int] = "1-5",
    seed: int = 0,
    format: str = "jpeg",
    workers: int = 1,
    classes: Sequence[str] | None = None,
    shard: str | tuple[int, int] | None = None,
    skip_bad_images: bool = False,
    force: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Corrupt every image of ``src`` and write ``out/<corruption>/<severity>/<wnid>/<file>``.

    See the module docstring for geometry, naming, determinism and resume rules.
    ``shard="i/n"`` (0-based) writes every n-th image starting at i; the union of
    the n shards is the full set, file for file. Returns a :class:`BuildReport`.
    """
    if preset not in PRESETS:
        raise BuildConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if format not in FORMATS:
        raise BuildConfigError(f"unknown format {format!r}; choose jpeg or png")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise BuildConfigError(f"seed must be an integer (run seed), got {seed!r}; floats are not "
                               "truncated, pass e.g. seed=0")  # fmt: skip
    config = BuildConfig(
        src=Path(src),
        out=Path(out),
        preset=preset,
        corruptions=parse_corruptions(corruptions),
        severities=parse_severities(severities),
        seed=int(seed),
        format=format,
        classes=tuple(classes) if classes is not None else None,
        shard=parse_shard(shard),
        skip_bad_images=skip_bad_images,
    )
    check_output_folder(config.out)
    relpaths = select_shard(list_source_images(config.src, config.classes), config.shard)
    check_resume(config.out, config, force)  # reads only: a refused run leaves OUT as it was
    prepare_output_folder(config.out)
    counts = {name: {str(s): 0 for s in config.severities} for name in config.corruptions}

    def describe() -> dict[str, Any]:
        return {
            "layout": "<corruption>/<severity>/<wnid>/<file>",
            "geometry": "resize short side 256 (PIL bilinear) + center crop 224"
            if config.preset == "imagenet"
            else "none (images used at their size)",
            "encoding": {"format": "JPEG", **JPEG_SETTINGS} if config.format == "jpeg" else {"format": "PNG"},
            "seeding": "corruptions.base.image_rng(seed, '<wnid>/<file>', corruption, severity)",
            "versions": package_versions(),
            "parameters": parameter_tables(config.corruptions, config.preset),
        }

    return run_build(config, relpaths, corrupt_one_image, settings=settings_record(config),
                     counts=counts, workers=workers, progress=progress, describe=describe)


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="img", desc="corrupting", disable=not enabled, dynamic_ncols=True)
