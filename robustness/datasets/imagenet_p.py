"""ImageNet-P (Hendrycks & Dietterich 2019) as test sets: every frame of every perturbation
sequence is one item, scored like ImageNet val.

On disk, the published layout (and :func:`corruptions.imagenet_p.build_imagenet_p`'s)::

    <root>/<perturbation>/<wnid>/<stem>.mp4        difficulty 1
    <root>/<perturbation>_<d>/<wnid>/<stem>.mp4    noise types at difficulty d = 2, 3

Each (perturbation, difficulty) pair is its own test set of the set group ``imagenet-p``,
named ``imagenet-p.<perturbation>.<difficulty>``: difficulties 1-3 for the three noise
types, 1 only for the others (``corruptions.params.imagenet_p.DIFFICULTIES``; the original
``test.py`` uses a geometric type's "difficulty" as a frame stride when it scores, which
the stability table does, see :mod:`robustness.report.stability`). The held-out
(validation) types are members too (``imagenet-p.speckle_noise.2``), but the bare group
name expands to the 10 test perturbations only. One unit is one (model, perturbation,
difficulty): its images are the frames.

**Items and their order.** Item ``i`` is one frame, as a PIL RGB image, with label = the
wnid's ImageNet-1k index (1000-way scoring, as val). Its relative path is
``<wnid>/<stem>.mp4#<frame>`` with the frame index zero-padded to
:data:`FRAME_DIGITS` digits (``n01440764/ILSVRC2012_val_00000293.mp4#07``): the part before
``#`` is the video file (the URI fragment convention, "this part of that file"), and since
``#`` sorts before every character of a file name except space, ``!`` and ``"``, and the
sequences are ordered by ``<video>#``, the sorted relative paths are sequence-major with the
frames of a sequence in frame order -- the reader's stable order is the sorted order, as for
every other set, and :func:`split_frame_relpath` recovers (video, frame) from a stored image
list. A frame relpath is not a file: the image-list fingerprint's per-file ``stat`` cannot
see a video change, so the videos' own stat fingerprint is part of the set's ``variant``
(and so of every unit key).

**Decoding.** A video is decoded once (PyAV, :func:`corruptions.imagenet_p.read_sequence`) and
its frames kept in a small LRU cache of :data:`CACHE_SEQUENCES` sequences per process (each
DataLoader worker holds its own copy of the set, with its own cache); reading the frames in
order decodes every video once (twice at most when a batch boundary splits it between two
workers). A video that cannot be decoded, or whose frame count is not
``corruptions.params.imagenet_p.FRAMES[perturbation]`` (31; 41 for translate), raises
:class:`BadVideoError` naming the file: a :class:`~.base.LayoutError` and a
:class:`~.base.BadImageError`, so ``--skip-bad-images`` skips its frames like unreadable
images (the stability table then leaves that sequence out). The failure is cached too.

**In memory.** ``imagenet-p-inmemory.<perturbation>.<difficulty>`` renders the same frames from
the ImageNet val folder with :class:`corruptions.imagenet_p.PerturbedSequenceDataset` (the
builder's geometry and per-image seeds; ``encode=True`` adds the builder's H.264 round trip,
so the pixels equal the decoded files of ``build_imagenet_p(..., seed=S)``), one sequence per
val image, no files. Options: ``seed`` (0), ``encode`` (False), ``resize``/``crop`` (256/224
px; other values for small trial runs only, as the builder's), and val's options.

Nothing here imports torch, PyAV or the frame generator at module import.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from corruptions.errors import UserInputError, failure_reason
from corruptions.params import imagenet_p as P

from .. import __version__  # the generator ships in the same distribution
from .base import (
    BAD_IMAGE_HINT,
    DEFAULT_GEOMETRY,
    BadImageError,
    LayoutError,
    Scoring,
    TestSetInfo,
    geometry_variant,
)
from .classes import imagenet_wnids, wnid_to_index
from .fingerprint import image_list_fingerprint, test_set_fingerprint
from .folders import PARTIAL_HINT
from .imagenet import VAL_DIRS, VAL_LAYOUT, VAL_OPTIONS, open_imagenet_val
from .images import subfolder_names, visible_entries
from .spec import SetGroup, member_name
from .testset import TestSet, layout_error

IMAGENET_P_NAME = "imagenet-p"
IN_MEMORY_NAME = "imagenet-p-inmemory"
STABILITY_GROUPS = (IMAGENET_P_NAME, IN_MEMORY_NAME)
"""The set groups whose units the stability table reads (frames of perturbation sequences)."""

FRAME_SEPARATOR = "#"
FRAME_DIGITS = len(str(max(P.FRAMES.values()) - 1))
"""Digits of the zero-padded frame index in a frame's relpath (2: frames 00..40)."""
CACHE_SEQUENCES = 4
"""Decoded sequences kept per process (about 4.7 MB each at 224 px, 31 frames)."""
VIDEO_SUFFIX = ".mp4"

P_LAYOUT = """\
  <root>/gaussian_noise/n01440764/ILSVRC2012_val_00000293.mp4   (difficulty 1)
  <root>/gaussian_noise/n01443537/...        (1000 wnid folders per perturbation)
  <root>/gaussian_noise_2/...                (noise types: difficulties 2 and 3)
  <root>/rotate/n01440764/...                (one folder per perturbation)
"""


class BadVideoError(BadImageError, LayoutError):
    """An ImageNet-P video that cannot be decoded or holds the wrong number of frames.

    A :class:`~.base.BadImageError` (``--skip-bad-images`` skips its frames) and a
    :class:`~.base.LayoutError`; the message names the video file once."""

    def __init__(self, path: Path, cause: BaseException | str):
        self.path = Path(path)
        prefix = f"cannot read ImageNet-P video {self.path}: "
        self.reason = (cause.reason if isinstance(cause, BadImageError)
                       else failure_reason(cause, prefix, BAD_IMAGE_HINT))
        Exception.__init__(self, f"{prefix}{self.reason}. {BAD_IMAGE_HINT}")


# ---------------------------------------------------------------- names and relpaths


def frame_relpath(sequence: str, frame: int) -> str:
    """``<sequence>#<frame, zero-padded>``: the relative path of one frame of a sequence."""
    return f"{sequence}{FRAME_SEPARATOR}{frame:0{FRAME_DIGITS}d}"


def split_frame_relpath(relpath: str) -> tuple[str, int]:
    """(sequence relpath, frame index) of a frame relpath; ValueError for other paths."""
    sequence, sep, frame = str(relpath).rpartition(FRAME_SEPARATOR)
    if not sep or not sequence or not frame.isdigit():
        raise ValueError(f"{relpath!r} is not an ImageNet-P frame path "
                         f"(<sequence>{FRAME_SEPARATOR}<frame index>)")
    return sequence, int(frame)


def sequence_order(sequences: Sequence[str]) -> list[int]:
    """Positions of ``sequences`` in the order their frames' relpaths sort (by
    ``<sequence>#``), so that frame ``t`` of sequence ``k`` is item ``k * T + t``."""
    return sorted(range(len(sequences)), key=lambda k: sequences[k] + FRAME_SEPARATOR)


def _check(perturbation: str, difficulty: int) -> tuple[str, int]:
    """Validated (perturbation, difficulty), with the generator's own messages."""
    from corruptions.imagenet_p.frames import check_difficulty, check_perturbation

    return check_perturbation(perturbation), check_difficulty(perturbation, difficulty)


def sequence_dirname(perturbation: str, difficulty: int) -> str:
    """``<perturbation>`` at difficulty 1, else ``<perturbation>_<difficulty>`` (the folder)."""
    return perturbation if difficulty == 1 else f"{perturbation}_{difficulty}"


def perturbation_sort_key(perturbation: str) -> tuple[int, int, str]:
    """Test perturbations first (paper order), then the held-out ones."""
    if perturbation in P.PERTURBATIONS:
        return (0, P.PERTURBATIONS.index(perturbation), perturbation)
    return (1, P.HELD_OUT.index(perturbation) if perturbation in P.HELD_OUT else 0, perturbation)


def _difficulties(perturbation: str) -> tuple[int, ...]:
    return P.DIFFICULTIES if perturbation in P.NOISE else (1,)


def _selected(perturbation: str | None) -> list[str]:
    """The perturbations a group name stands for: one when named (any of the 14, unknown
    names kept so the opener says why), else the 10 test perturbations."""
    return [perturbation] if perturbation else list(P.PERTURBATIONS)


def sequences_on_disk(root: Path | None, perturbation: str | None = None) -> list[tuple[str, int]]:
    """(perturbation, difficulty) pairs whose folder exists under ``root``: every difficulty
    of ``perturbation`` when given (held-out types too), else of the 10 test perturbations;
    test perturbations in paper order, difficulties ascending."""
    if root is None or not Path(root).is_dir():
        return []
    pairs = [(p, d) for p in _selected(perturbation) if p in P.ALL for d in _difficulties(p)
             if (Path(root) / sequence_dirname(p, d)).is_dir()]
    return sorted(pairs, key=lambda pd_: (perturbation_sort_key(pd_[0]), pd_[1]))


def rendered_members(root: Path | None = None, perturbation: str | None = None) -> list[tuple[str, int]]:
    """The in-memory group's (perturbation, difficulty) pairs: all difficulties of
    ``perturbation``, else of the 10 test perturbations; nothing is listed on disk."""
    pairs = [(p, d) for p in _selected(perturbation) if p in P.ALL for d in _difficulties(p)]
    return sorted(pairs, key=lambda pd_: (perturbation_sort_key(pd_[0]), pd_[1]))


# ---------------------------------------------------------------- the frame sets


class FrameSet:
    """Frames of perturbation sequences as a test set (the engine's reader interface:
    ``info``, ``relpaths``, ``labels``, ``len``, items ``(PIL image, label, index, relpath)``).

    ``sequences``: one relative path per sequence; ``sequence_labels``: their labels;
    ``frames``: frames per sequence. Item ``k * frames + t`` is frame ``t`` of the ``k``-th
    sequence in :func:`sequence_order`. Subclasses give :meth:`_load` (uint8 ``T x H x W x 3``
    of one sequence, RGB). ``decodes`` counts the sequences this copy loaded (cache misses); a
    pickled copy (a DataLoader worker's) starts with an empty cache and a count of 0.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, info: TestSetInfo, sequences: Sequence[str], sequence_labels: Sequence[int],
                 frames: int, cache_size: int = CACHE_SEQUENCES):
        if len(sequences) != len(sequence_labels):
            raise ValueError(f"{len(sequences)} sequences but {len(sequence_labels)} labels")
        order = sequence_order(sequences)
        self.info = info
        self.sequences: list[str] = [sequences[k] for k in order]
        self.sequence_source: list[int] = order
        """Position of each (sorted) sequence in the list the set was built from."""
        self.sequence_labels = np.asarray(sequence_labels, dtype=np.int64)[order]
        self.frames = int(frames)
        self.relpaths: list[str] = [frame_relpath(s, t) for s in self.sequences for t in range(self.frames)]
        self.labels: np.ndarray = np.repeat(self.sequence_labels, self.frames)
        self.cache_size = int(cache_size)
        self.decodes = 0
        self._cache: OrderedDict[int, np.ndarray | BaseException] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.relpaths)

    def __getitem__(self, index: int) -> tuple[Image.Image, int, int, str]:
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} of a set of {len(self)} frames")
        k, t = divmod(index, self.frames)
        frames = self.sequence_frames(k)
        return Image.fromarray(frames[t]), int(self.labels[index]), index, self.relpaths[index]

    def sequence_frames(self, k: int) -> np.ndarray:
        """All frames of the ``k``-th sequence (uint8 ``T x H x W x 3``), from the cache or
        loaded once; a load that failed raises its error again without a second attempt."""
        with self._lock:
            if k in self._cache:
                self._cache.move_to_end(k)
                cached = self._cache[k]
            else:
                self.decodes += 1
                try:
                    cached = self._load(k)
                except BadImageError as exc:
                    cached = exc
                self._cache[k] = cached
                while len(self._cache) > max(self.cache_size, 1):
                    self._cache.popitem(last=False)
        if isinstance(cached, BaseException):
            raise cached
        return cached

    def _load(self, k: int) -> np.ndarray:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers start with an empty cache
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        state["_lock"] = None
        state["decodes"] = 0
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.info.name!r}, root={str(self.info.root)!r}, "
                f"sequences={len(self.sequences)}, frames={self.frames})")


class ImageNetPSet(FrameSet):
    """One (perturbation, difficulty) folder of ImageNet-P videos (see the module docstring)."""

    def __init__(self, info: TestSetInfo, sequences: Sequence[str], sequence_labels: Sequence[int],
                 perturbation: str, cache_size: int = CACHE_SEQUENCES):
        self.perturbation = perturbation
        super().__init__(info, sequences, sequence_labels, P.FRAMES[perturbation], cache_size)

    def video_path(self, k: int) -> Path:
        """The file of the ``k``-th sequence."""
        return Path(self.info.root) / self.sequences[k]

    def path(self, index: int) -> Path:
        """The video holding item ``index``."""
        return self.video_path(index // self.frames)

    def _load(self, k: int) -> np.ndarray:
        from corruptions.imagenet_p.video import VideoBackendError, read_sequence

        path = self.video_path(k)
        try:
            frames = read_sequence(path)
        except VideoBackendError:
            raise  # PyAV missing: not the file's fault
        except (UserInputError, OSError) as exc:
            # FFmpeg's own words ("Invalid data found when processing input"), without the
            # path that read_sequence and FFmpeg both repeat
            reason = getattr(exc.__cause__, "strerror", None) or str(exc).replace(repr(path), "it")
            raise BadVideoError(path, reason) from exc
        if frames.shape[0] != self.frames:
            raise BadVideoError(path, (
                f"decoded {frames.shape[0]} frames, expected {self.frames} (ImageNet-P "
                f"{self.perturbation} sequences have {self.frames}); the file is truncated or "
                "belongs to another perturbation"))
        return frames


class InMemoryPerturbedSet(FrameSet):
    """``source`` (ImageNet val) rendered into ImageNet-P frames on the fly, one sequence per
    image (see the module docstring)."""

    def __init__(self, source: TestSet, perturbation: str, difficulty: int, *, seed: int = 0,
                 encode: bool = False, resize: int = P.RESIZE, crop: int = P.CROP,
                 cache_size: int = CACHE_SEQUENCES, geometry: str = DEFAULT_GEOMETRY):
        from corruptions.imagenet_p import PerturbedSequenceDataset

        self.source = source
        self.perturbed = PerturbedSequenceDataset(source, perturbation, difficulty, seed=seed,
                                                  encode=encode, resize=resize, crop=crop)
        name = member_name(perturbation, difficulty, IN_MEMORY_NAME)
        info = TestSetInfo(
            name=name, root=source.info.root,
            variant={"perturbation": perturbation, "difficulty": int(difficulty),
                     "seed": int(seed), "encode": bool(encode), "resize": int(resize),
                     "crop": int(crop), "frames": P.FRAMES[perturbation],
                     "source": source.info.describe(),
                     # the frames' relpaths are no files: the val images' own fingerprint
                     "source_images": test_set_fingerprint(source, "stat").sha256,
                     "generator": __version__, **geometry_variant(name, geometry)},
            scoring=source.info.scoring)
        super().__init__(info, source.relpaths, source.labels, P.FRAMES[perturbation], cache_size)

    def _load(self, k: int) -> np.ndarray:
        return np.asarray(self.perturbed[self.sequence_source[k]][0])


# ---------------------------------------------------------------- openers


def scan_videos(folder: Path, *, set_name: str, allow_partial: bool = False) -> tuple[list[str], list[int]]:
    """``(<wnid>/<file>.mp4 relpaths, labels)`` of one perturbation folder; a
    :class:`~.base.LayoutError` for folders that are not wnids, entries that are not videos,
    and (unless ``allow_partial``) missing or empty wnid folders."""
    folders = subfolder_names(folder)
    if not folders:
        raise layout_error(set_name, folder, P_LAYOUT, "no wnid folders found.",
                           "point the root at the ImageNet-P folder (the one that holds the "
                           "perturbation folders).")
    index = wnid_to_index()
    unknown = [f for f in folders if f not in index]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise layout_error(set_name, folder, P_LAYOUT,
                           f"{len(unknown)} of {len(folders)} folders are not ImageNet wnids: {shown}",
                           "move unrelated folders elsewhere; a perturbation folder holds one "
                           "folder per wnid.")
    relpaths: list[str] = []
    labels: list[int] = []
    used = []
    for wnid in folders:
        entries = visible_entries(folder / wnid)
        bad = [e.name + ("/" if e.is_dir() else "") for e in entries
               if e.is_dir() or not e.name.lower().endswith(VIDEO_SUFFIX)]
        if bad:
            raise layout_error(set_name, folder, P_LAYOUT,
                               f"wnid folder {wnid}/ holds entries that are not .mp4 videos: "
                               + ", ".join(bad[:3]),
                               "remove or move them (temporary '.part-' files come from an "
                               "interrupted build: rerun it to finish).", where=folder / wnid)
        names = [e.name for e in entries]
        if names:
            used.append(wnid)
        relpaths += [f"{wnid}/{n}" for n in names]
        labels += [index[wnid]] * len(names)
    if not relpaths:
        raise layout_error(set_name, folder, P_LAYOUT, "wnid folders exist but hold no videos.",
                           "check that the archive was fully extracted.")
    if not allow_partial:
        missing = sorted(set(imagenet_wnids()) - set(used))
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise layout_error(set_name, folder, P_LAYOUT,
                               f"incomplete: {len(missing)} of 1000 class folders are missing or "
                               f"empty ({shown}).", PARTIAL_HINT)
    return relpaths, labels


def open_imagenet_p(root: Path, perturbation: str, difficulty: int, *,
                    allow_partial: bool = False, geometry: str = DEFAULT_GEOMETRY) -> ImageNetPSet:
    """``imagenet-p.<perturbation>.<difficulty>``: the videos of
    ``root/<perturbation>[_<difficulty>]/<wnid>/*.mp4``, one item per frame; ``geometry``: how
    the 224 px frames reach a model (``base.GEOMETRIES``)."""
    perturbation, difficulty = _check(perturbation, difficulty)
    root = Path(root)
    name = member_name(perturbation, difficulty, IMAGENET_P_NAME)
    shown_geometry = geometry_variant(name, geometry)
    folder = root / sequence_dirname(perturbation, difficulty)
    if not folder.is_dir():
        raise layout_error(
            name, root, P_LAYOUT, f"folder {folder.name}/ not found.",
            "extract or build this perturbation into the ImageNet-P root (`python -m corruptions "
            "imagenet-p VAL ROOT`), or run `robustness datasets` to list what is present.")
    relpaths, labels = scan_videos(folder, set_name=name, allow_partial=allow_partial)
    info = TestSetInfo(
        name=name, root=folder, scoring=Scoring(),
        variant={"perturbation": perturbation, "difficulty": difficulty,
                 "frames": P.FRAMES[perturbation],
                 # frame relpaths are no files: the videos' own (stat) fingerprint
                 "videos": image_list_fingerprint(folder, relpaths, labels, "stat").sha256,
                 **shown_geometry})
    return ImageNetPSet(info, relpaths, labels, perturbation)


def open_imagenet_p_inmemory(val_root: Path, perturbation: str, difficulty: int, *, seed: int = 0,
                             encode: bool = False, resize: int = P.RESIZE, crop: int = P.CROP,
                             geometry: str = DEFAULT_GEOMETRY,
                             **val_options: Any) -> InMemoryPerturbedSet:
    """``imagenet-p-inmemory.<perturbation>.<difficulty>`` over the ImageNet val folder."""
    perturbation, difficulty = _check(perturbation, difficulty)
    sizes = {"resize": resize, "crop": crop}
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in sizes.values()) \
            or crop > resize:
        raise UserInputError(f"{member_name(perturbation, difficulty, IN_MEMORY_NAME)}: resize and "
                             f"crop must be pixel counts with crop <= resize, got {sizes}")
    return InMemoryPerturbedSet(open_imagenet_val(val_root, **val_options), perturbation,
                                difficulty, seed=seed, encode=encode, resize=resize, crop=crop,
                                geometry=geometry)


IMAGENET_P = SetGroup(
    name=IMAGENET_P_NAME, title="ImageNet-P", opener=open_imagenet_p, members=sequences_on_disk,
    generator_benchmark="imagenet-p", default_dir="imagenet-p", alt_dirs=("ImageNet-P",),
    layout=P_LAYOUT, measured_against_baseline=False, options=("allow_partial", "geometry"),
    description="ImageNet-P: perturbation videos, one set per perturbation and difficulty, named "
    "imagenet-p.<perturbation>.<difficulty> (difficulties 1-3 for the noise types, 1 for the "
    "others); every frame is one image, scored like val; 'imagenet-p' expands to the 10 test "
    "perturbations on disk (the held-out ones by name). Needs PyAV (the imagenet-p extra).")
IMAGENET_P_INMEMORY = SetGroup(
    name=IN_MEMORY_NAME, title="ImageNet-P in memory", opener=open_imagenet_p_inmemory,
    members=rendered_members, on_disk=False, layout=VAL_LAYOUT, measured_against_baseline=False,
    options=(*VAL_OPTIONS, "seed", "encode", "resize", "crop", "geometry"),
    description="ImageNet-P rendered in memory from ImageNet val (the builder's frames and seeds; "
    "encode=true adds its H.264 round trip), named imagenet-p-inmemory.<perturbation>."
    "<difficulty>; 'imagenet-p-inmemory' expands to the 10 test perturbations.", **VAL_DIRS)

SPECS = (IMAGENET_P, IMAGENET_P_INMEMORY)
