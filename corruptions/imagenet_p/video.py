"""ImageNet-P sequences as H.264 mp4 files, as the original script stored them.

The script wrote each frame as an RGB PNG and ran ffmpeg 4.0.2 (x264 0.155)::

    ffmpeg -r 1 -framerate 1 -i img%01d.png -vcodec libx264 {-tune grain | -crf 20} \\
        -preset veryslow -y out.mp4

i.e. libx264 at 1 frame per second in an mp4 container, ``yuv444p`` (what ffmpeg picks
for RGB input: no chroma subsampling, High 4:4:4 Predictive profile), preset ``veryslow``;
the noise types with ``-tune grain`` at x264's default rate factor (CRF 23), the others
at CRF 20. Here the same encoder settings run through PyAV (``pip install av``; its PyPI
wheels bundle FFmpeg with libx264), so no system ffmpeg is needed.

Reproducibility: by default (``reproducible=True``) x264 runs single-threaded and without
its assembly (``x264-params asm=0``), and then writes the same bytes for the same frames
(and PyAV build). With its assembly on, x264's 4:4:4 encoding reads uninitialised heap
memory: re-encoding the same frames in one process now and then gives another stream
(measured: the bytes follow glibc's ``MALLOC_PERTURB_``; 4:2:0 and ``asm=0`` do not), so
``reproducible=False`` is 2-4 times faster but not repeatable. Not bit-identical to the
published files either way: their x264 build (0.155) differs, and ffmpeg ran it with as
many threads as the machine had.

Decoding (:func:`read_sequence`) converts back to RGB with FFmpeg's default BT.601
limited-range matrix, as OpenCV's ``VideoCapture`` in the script's ``test.py`` did.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any, BinaryIO

import numpy as np

from ..errors import UserInputError
from ..params.imagenet_p import ENCODING, NOISE

EXTRA = "imagenet-p"
INSTALL_HINT = (f"pip install 'robustness-harness[{EXTRA}]' (or pip install av: its PyPI wheels "
                "bundle FFmpeg with libx264)")  # fmt: skip


class VideoBackendError(UserInputError, ImportError):
    """PyAV (the ``imagenet-p`` extra) or its libx264 encoder is missing."""


def _av(encode: bool = False):
    """The ``av`` module; a clear error naming the extra when it (or libx264) is missing."""
    try:
        import av
    except ImportError as exc:
        raise VideoBackendError(
            f"reading and writing ImageNet-P videos needs PyAV ({exc}); {INSTALL_HINT}"
        ) from None
    if encode:
        try:
            av.codec.Codec(ENCODING["codec"], "w")
        except Exception as exc:  # av.codec.codec.UnknownCodecError and friends
            raise VideoBackendError(
                f"this PyAV build has no {ENCODING['codec']} encoder ({exc}); install PyAV's "
                f"PyPI wheel, which bundles it: {INSTALL_HINT}"
            ) from None
    return av


def encoder_options(noise: bool, reproducible: bool = True) -> dict[str, str]:
    """The libx264 options of one sequence: preset veryslow, then ``tune=grain`` (noise) or
    ``crf=20`` (others); single-threaded, and without x264's assembly when ``reproducible``."""
    extra = ENCODING["noise_options"] if noise else ENCODING["other_options"]
    options = {**ENCODING["options"], **extra, "threads": "1"}
    if reproducible:
        options["x264-params"] = "asm=0"
    return options


def encoder_settings(noise: bool, reproducible: bool = True) -> dict[str, Any]:
    """Everything that decides the bytes of a file, for manifests."""
    return {
        "container": ENCODING["container"],
        "codec": ENCODING["codec"],
        "pix_fmt": ENCODING["pix_fmt"],
        "fps": ENCODING["fps"],
        "options": encoder_options(noise, reproducible),
    }


def backend_versions() -> dict[str, Any]:
    """PyAV's version and the FFmpeg libraries it bundles (None when PyAV is missing)."""
    try:
        import av
    except ImportError:
        return {"av": None}
    libs = {k: ".".join(map(str, v)) for k, v in getattr(av, "library_versions", {}).items()}
    return {"av": av.__version__, **libs}


def is_noise(name: str) -> bool:
    """Whether ``name`` is encoded as a noise sequence (``-tune grain``)."""
    return name in NOISE


def check_frames(frames: Any) -> np.ndarray:
    """``frames`` as a C-contiguous uint8 ``T x H x W x 3`` array, or a clear error."""
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] != 3 or 0 in arr.shape:
        raise UserInputError(f"expected uint8 frames T x H x W x 3 (0-255, RGB), got dtype "
                             f"{arr.dtype} and shape {arr.shape}")  # fmt: skip
    return np.ascontiguousarray(arr)


def write_sequence_mp4(
    frames: Any, path: str | os.PathLike | BinaryIO, noise: bool, reproducible: bool = True
) -> None:
    """Encode uint8 frames ``T x H x W x 3`` (0-255, RGB) as an H.264 mp4 at ``path`` (a path
    or a writable binary file object), with the script's settings for a noise sequence
    (``noise=True``) or another one. ``reproducible``: same frames, same bytes (x264 without
    its assembly; see the module docstring). Writes in place; the builder adds the atomic
    rename."""
    frames = check_frames(frames)
    av = _av(encode=True)
    time_base = Fraction(1, ENCODING["fps"])
    target = os.fspath(path) if isinstance(path, str | os.PathLike) else path
    with av.open(target, mode="w", format=ENCODING["container"]) as container:
        stream = container.add_stream(ENCODING["codec"], rate=ENCODING["fps"])
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = ENCODING["pix_fmt"]
        stream.options = encoder_options(noise, reproducible)
        for i, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = i
            video_frame.time_base = time_base
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))  # flush the encoder's delayed frames


def read_sequence(path: str | os.PathLike | BinaryIO) -> np.ndarray:
    """Decode an ImageNet-P mp4 (ours or the published ones) to uint8 ``T x H x W x 3``
    (0-255, RGB), frames in presentation order."""
    av = _av()
    source = os.fspath(path) if isinstance(path, str | os.PathLike) else path
    try:
        with av.open(source, mode="r") as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (av.error.FFmpegError, IndexError) as exc:  # IndexError: no video stream
        raise UserInputError(f"cannot decode {path!r} as an ImageNet-P video: {exc}") from exc
    if not frames:
        raise UserInputError(f"{path!r} holds no video frames")
    return np.stack(frames)
