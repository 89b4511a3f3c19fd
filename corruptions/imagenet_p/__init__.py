"""ImageNet-P (Hendrycks & Dietterich 2019): perturbation sequences, faithful to the original.

One obvious call::

    from corruptions.imagenet_p import perturbation_sequence
    frames = perturbation_sequence(val_image, "rotate")  # uint8 31 x 224 x 224 x 3

* :func:`perturbation_sequence` -- the frames of one image (:mod:`.frames`);
* :data:`PERTURBATIONS`, :data:`HELD_OUT`, :data:`ALL`, :data:`NOISE`, :data:`FRAMES`,
  :data:`DIFFICULTIES` -- the types and their frame counts (:mod:`corruptions.params.imagenet_p`);
* :func:`write_sequence_mp4`, :func:`read_sequence` -- the mp4 files (:mod:`.video`, PyAV);
* :func:`build_imagenet_p` -- the on-disk set, ``OUT/<perturbation>[_<d>]/<wnid>/<stem>.mp4``;
* :class:`PerturbedSequenceDataset` -- the frames of a val item in memory, no video files.
"""

from __future__ import annotations

from ..params.imagenet_p import ALL, DIFFICULTIES, FRAMES, HELD_OUT, NOISE, PERTURBATIONS
from .builder import build_imagenet_p, output_path
from .frames import (
    UnknownPerturbationError,
    difficulties_of,
    perturbation_sequence,
    sequence_dirname,
)
from .inmemory import PerturbedSequenceDataset
from .video import VideoBackendError, read_sequence, write_sequence_mp4

IMAGENET_P_FRAMES = FRAMES  # the name `corruptions` re-exports it under

__all__ = [
    "ALL",
    "DIFFICULTIES",
    "FRAMES",
    "HELD_OUT",
    "IMAGENET_P_FRAMES",
    "NOISE",
    "PERTURBATIONS",
    "PerturbedSequenceDataset",
    "UnknownPerturbationError",
    "VideoBackendError",
    "build_imagenet_p",
    "difficulties_of",
    "output_path",
    "perturbation_sequence",
    "read_sequence",
    "sequence_dirname",
    "write_sequence_mp4",
]
