"""What every test-set reader returns, and how its predictions are scored.

Conventions
-----------
* A reader is a map-style dataset (``len`` and indexing, what ``torch.utils.data.DataLoader``
  takes) whose item is
  ``(image, label, index, relpath)``: a PIL RGB image, an integer label in the
  set's *own* label space (see :class:`Scoring`), the sample's position in the
  reader's stable order, and the file path relative to the set's root (POSIX
  separators).
* Order is stable: files are sorted by relative path, so ``index`` identifies
  the same image on every machine.
* Logits are always 1000-way ImageNet-1k logits, in the standard class order
  (sorted WordNet IDs, ``n01440764`` = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corruptions.errors import UserInputError, failure_reason

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Scoring:
    """How a test set turns 1000-way logits into correct/incorrect.

    ``class_subset``: ImageNet-1k indices the set covers (ImageNet-R/-A: 200).
        When given, labels are ImageNet-1k indices and the *restricted* score
        takes the arg-max over these classes only (timm and imagenet-testbed
        convention); the unrestricted 1000-way score is kept as well.
    ``label_targets``: for sets whose labels are not ImageNet classes
        (ObjectNet): ``label_targets[label]`` is the tuple of ImageNet-1k
        indices that count as a correct prediction for that label.
        Predictions are restricted to the union of all targets unless
        ``restrict_predictions`` is False (ImageNet-ReaL: labels index a table
        of per-image label sets and predictions stay 1000-way).
    Both ``None``: plain 1000-way scoring, labels are ImageNet-1k indices.
    ``merge_targets`` (with ``label_targets``): top-k is taken over the *labels*, each
        scored by the largest logit among its target classes, so the 5 guesses of top-5
        are 5 different labels (ObjectNet: 113 merged classes, imagenet-testbed's
        ``accuracy_topk_subselected_and_collapsed``). False: top-k over the ImageNet-1k
        classes the predictions are restricted to (125 for ObjectNet), where several
        guesses may fall in one label. Top-1 is the same either way.
    """

    class_subset: tuple[int, ...] | None = None
    label_targets: tuple[tuple[int, ...], ...] | None = None
    name: str = "imagenet-1k"
    restrict_predictions: bool = True
    merge_targets: bool = False

    def allowed_classes(self) -> np.ndarray | None:
        """ImageNet-1k indices predictions are restricted to, or None for all 1000."""
        if not self.restrict_predictions:
            return None
        if self.label_targets is not None:
            return np.array(sorted({c for t in self.label_targets for c in t}), dtype=np.int64)
        if self.class_subset is not None:
            return np.array(sorted(self.class_subset), dtype=np.int64)
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class_subset": list(self.class_subset) if self.class_subset is not None else None,
            "label_targets": [list(t) for t in self.label_targets]
            if self.label_targets is not None
            else None,
            "restrict_predictions": self.restrict_predictions,
            # only when set, so the unit keys of every other set stay as they were
            **({"merge_targets": True} if self.merge_targets else {}),
        }


@dataclass
class ScoredBatch:
    """Per-image scores of one batch. ``top5`` holds ImageNet-1k indices (N, 5).

    ``prob5`` (N, 5) and ``p_true`` (N,) are softmax probabilities (fractions) over the classes
    the set scores (``Scoring.allowed_classes()``; all 1000 for plain sets): the probability of
    each of the ``top5`` classes (``prob5[:, 0]`` is the max-softmax confidence), and the total
    probability of the classes that count as correct for the image's label (its class; ReaL's
    label set; ObjectNet's targets)."""

    top5: np.ndarray
    correct1: np.ndarray
    correct5: np.ndarray
    top5_all: np.ndarray
    correct1_all: np.ndarray
    correct5_all: np.ndarray
    prob5: np.ndarray | None = None
    p_true: np.ndarray | None = None


def _hits(top: np.ndarray, labels: np.ndarray, scoring: Scoring) -> np.ndarray:
    """(N, k) bool: whether each of the k predictions is correct for its label."""
    if scoring.label_targets is None:
        return top == labels[:, None]
    out = np.zeros(top.shape, dtype=bool)
    for i, lab in enumerate(labels):
        out[i] = np.isin(top[i], scoring.label_targets[int(lab)])
    return out


def _merged_top(logits: np.ndarray, targets: tuple[tuple[int, ...], ...], k: int) -> np.ndarray:
    """(N, k) ImageNet-1k indices: for each of the k best labels (a label scores the largest
    logit among its targets), the target class that carries that score."""
    per_label = np.full((logits.shape[0], len(targets)), -np.inf)
    best_class = np.zeros((logits.shape[0], len(targets)), dtype=np.int64)
    for j, classes in enumerate(targets):
        group = logits[:, list(classes)]
        pick = group.argmax(axis=1)
        per_label[:, j] = group[np.arange(len(group)), pick]
        best_class[:, j] = np.asarray(classes)[pick]
    kk = min(k, len(targets))
    order = np.argsort(-per_label, axis=1, kind="stable")[:, :kk]
    return np.take_along_axis(best_class, order, axis=1)


def score_logits(logits: torch.Tensor, labels: torch.Tensor | np.ndarray, scoring: Scoring) -> ScoredBatch:
    """Score (N, 1000) logits under ``scoring``.

    Restricted scores (``correct1``/``correct5``/``top5``) take the arg-max over
    ``scoring.allowed_classes()``; the ``*_all`` scores are the plain 1000-way
    ones. For plain sets both are the same.
    """
    import torch  # the readers and their specs import this module without torch

    logits = logits.detach().float().cpu()
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels, dtype=np.int64)
    k = min(5, logits.shape[1])
    top5_all = logits.topk(k, dim=1).indices.numpy()
    allowed = scoring.allowed_classes()
    if allowed is None:
        top5 = top5_all
    elif scoring.merge_targets and scoring.label_targets is not None:
        top5 = _merged_top(logits.numpy(), scoring.label_targets, k)
    else:
        sub = logits[:, torch.from_numpy(allowed)]
        ks = min(5, sub.shape[1])
        top5 = allowed[sub.topk(ks, dim=1).indices.numpy()]
    hits = _hits(top5, labels, scoring)
    hits_all = _hits(top5_all, labels, scoring)
    prob5, p_true = _probabilities(logits, top5, labels, scoring, allowed)
    return ScoredBatch(
        top5=top5,
        correct1=hits[:, 0],
        correct5=hits.any(axis=1),
        top5_all=top5_all,
        correct1_all=hits_all[:, 0],
        correct5_all=hits_all.any(axis=1),
        prob5=prob5,
        p_true=p_true,
    )


def _probabilities(logits: torch.Tensor, top5: np.ndarray, labels: np.ndarray, scoring: Scoring,
                   allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(prob5, p_true) of :class:`ScoredBatch`: softmax over the scored classes (float32)."""
    probs = logits.softmax(dim=1).numpy()
    if allowed is not None:
        probs_scored = np.zeros_like(probs)
        probs_scored[:, allowed] = logits[:, allowed.tolist()].softmax(dim=1).numpy()
        probs = probs_scored
    prob5 = np.take_along_axis(probs, top5, axis=1)
    if scoring.label_targets is None:
        p_true = probs[np.arange(len(labels)), labels]
    else:
        p_true = np.array([probs[i, list(scoring.label_targets[int(lab)])].sum()
                           for i, lab in enumerate(labels)], dtype=np.float32)
    return prob5.astype(np.float32), p_true.astype(np.float32)


@dataclass
class TestSetInfo:
    """Identity of one test set variant: everything that changes its images or labels."""

    __test__ = False  # not a pytest test class

    name: str
    root: Path
    variant: dict[str, Any] = field(default_factory=dict)
    scoring: Scoring = field(default_factory=Scoring)
    baseline: str | None = None
    """Name of the set the gap is measured against (class-matched val for subset sets)."""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "root": str(Path(self.root).resolve()),
            "variant": dict(self.variant),
            "scoring": self.scoring.describe(),
            "baseline": self.baseline,
        }


GEOMETRIES = ("model", "center-crop")
"""How the images of a pre-cropped set (ImageNet-C, -C-bar, the shift ladders, ImageNet-P:
224 x 224 crops of val) reach a model, the reader option ``geometry``:

* ``model`` (default): the model's own resize and center crop, as for val (each 224 px image
  is resized to e.g. 256 and cropped back to 224), as google-research/augmix ``imagenet.py``
  evaluates ImageNet-C;
* ``center-crop``: only a center crop to the model's input side, no resize, as
  hendrycks/robustness ``ImageNet-C/test.py`` (``CenterCrop(224)``) and ``ImageNet-P/test.py``
  (the frames as they are) do, the code behind AlexNet's published errors. Meant for models
  with a 224 px input: a smaller input cuts the image, a larger one is refused (the engine
  would have to zero-pad it).
"""
DEFAULT_GEOMETRY = "model"


def geometry_variant(set_name: str, geometry: str) -> dict[str, str]:
    """The ``variant`` entry of the ``geometry`` option: none for the default (so the unit
    keys of every run without the option stay as they were); a UserInputError naming the
    values for anything else."""
    if geometry not in GEOMETRIES:
        raise UserInputError(f"{set_name}: geometry={geometry!r} is not one of "
                             f"{', '.join(GEOMETRIES)} (--dataset-option NAME:geometry=center-crop)")
    return {} if geometry == DEFAULT_GEOMETRY else {"geometry": geometry}


def input_geometry(info: Any) -> str:
    """The geometry a test set's images get (``TestSetInfo.variant``'s, else the default)."""
    return dict(getattr(info, "variant", {}) or {}).get("geometry", DEFAULT_GEOMETRY)


class LayoutError(UserInputError):
    """A test-set folder does not have the expected layout."""


BAD_IMAGE_HINT = (
    "Replace or delete the file, or rerun with --skip-bad-images to skip it (skipped files are "
    "counted in the unit's metadata)."
)


class BadImageError(RuntimeError, UserInputError):
    """An image file is truncated, unreadable, or holds pixels that cannot be read as RGB.

    ``cause`` is the exception (or its message) that stopped decoding. The message
    names the file once: a cause that is itself a ``BadImageError`` for the same file,
    or the text of one (as the engine passes it back from its DataLoader workers),
    is not wrapped a second time.
    """

    def __init__(self, path: Path, cause: BaseException | str):
        self.path = Path(path)
        self.reason = _bad_image_reason(self.path, cause)
        super().__init__(f"cannot read image {self.path}: {self.reason}. {BAD_IMAGE_HINT}")

    def __reduce__(self):  # picklable across worker processes (args hold only the message)
        return (type(self), (self.path, self.reason))


def _bad_image_reason(path: Path, cause: BaseException | str) -> str:
    """The part of ``cause``'s message that says what is wrong, without repeating ``path``."""
    if isinstance(cause, BadImageError):
        return cause.reason
    return failure_reason(cause, f"cannot read image {path}: ", BAD_IMAGE_HINT)
