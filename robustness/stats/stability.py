"""ImageNet-P stability: flip probability, top-5 distance, Zipf distance, mFR and mT5D.

Computed exactly as ``hendrycks/robustness`` ``ImageNet-P/test.py`` does (``flip_prob`` and
``ranking_dist``). Each sequence is a list of frames; what is compared depends on the
perturbation and the difficulty d:

* noise perturbations (the name contains ``"noise"``: gaussian_noise, shot_noise,
  speckle_noise): every frame t = 1..n-1 against the first frame 0 (the frames are not
  temporally related). The step is 1 whatever d is: for d > 1 the reference reads another
  folder (``<name>_<d>``), i.e. other sequences.
* every other perturbation (geometric, blur, weather, digital): frame t against frame t + d,
  for t = 0..n-1-d, i.e. consecutive frames of the d interleaved subsequences that start at
  frames 0..d-1 and advance d frames at a time.

Per sequence the compared pairs are averaged; the result is the mean over sequences (of
per-sequence means, as the reference accumulates ``mean(result_for_vid) / len(videos)``).

For a pair (earlier frame a, later frame b), with sigma_r the rank (1-based) in b of the class
ranked r-th in a:

* flip: top-1 of a != top-1 of b (flip probability FP is a fraction);
* top-5 distance: sum_{r=1..5} |r - min(sigma_r, 6)|, a count in [0, 15]; it only needs each
  frame's 5 best classes (a class outside b's top 5 has sigma >= 6), so the stored top-5
  predictions give it exactly;
* Zipf distance: sum_{r=1..K} |1/r - 1/sigma_r| / r over all K classes; it needs each frame's
  complete ranking (:func:`rankings_from_logits`), which only saved logits give.

Ranks break ties of equal logits by class index, as ``scipy.stats.rankdata(..., "ordinal")``
in the reference does.

mFR and mT5D (the paper, Sec. 4): FR_p = FP_p / FP_p^AlexNet and T5D-rate_p = T5D_p /
T5D_p^AlexNet, each averaged over the 10 perturbations of :data:`IMAGENET_P_PERTURBATIONS`.
Both are fractions (ResNet-50's published mFR 58.0% is 0.580). AlexNet's values ship in
``alexnet_imagenet_p.csv`` (see that file for the source and its state).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

#: the 10 perturbations of mFR and mT5D: the columns of the paper's ImageNet-P results (noise:
#: Gaussian, shot; blur: motion, zoom; weather: snow, brightness; digital: translate, rotate,
#: tilt, scale), also what eminorhan/resnext-wsl ``evaluate_imagenetp.py`` evaluates
IMAGENET_P_PERTURBATIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow",
    "brightness", "translate", "rotate", "tilt", "scale")
#: the held-out (validation) perturbations ``ImageNet-P/test.py`` also accepts
EXTRA_PERTURBATIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "shear")
#: difficulties ``ImageNet-P/test.py`` accepts (``--difficulty``)
DIFFICULTIES = (1, 2, 3)
#: the shipped AlexNet table (in this package)
ALEXNET_TABLE = "alexnet_imagenet_p.csv"
#: largest top-5 distance: a's 5 classes all outside b's top 5 (5 + 4 + 3 + 2 + 1)
MAX_TOP5_DISTANCE = 15


def is_noise(perturbation: str) -> bool:
    """The reference's rule: a perturbation is compared against the first frame when its name
    contains "noise"."""
    return "noise" in perturbation


def comparison_pairs(n_frames: int, perturbation: str, difficulty: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices (earlier, later) of the pairs compared in one sequence (module docstring)."""
    if difficulty < 1 or difficulty != int(difficulty):
        raise ValueError(f"difficulty must be a positive integer (1, 2 or 3 in ImageNet-P), got "
                         f"{difficulty}")
    step = 1 if is_noise(perturbation) else int(difficulty)
    if n_frames <= step:
        raise ValueError(f"{perturbation}: sequences of {n_frames} frames have no pair "
                         f"{step} frame(s) apart")
    later = np.arange(step, n_frames)
    earlier = np.zeros_like(later) if is_noise(perturbation) else later - step
    return earlier, later


def _by_length(sequences, min_width: int, name: str) -> list[np.ndarray]:
    """Sequences as integer arrays (n_seq, n_frames, width), one array per sequence length.

    ``sequences``: an array (n_seq, n_frames[, width]) or a list of per-sequence arrays
    (n_frames[, width]) of possibly different lengths.
    """
    if isinstance(sequences, np.ndarray):
        items = list(sequences)
    else:
        items = [np.asarray(s) for s in sequences]
    if not items:
        raise ValueError(f"{name}: no sequences")
    groups: dict[int, list[np.ndarray]] = {}
    for seq in items:
        seq = np.asarray(seq)
        if seq.ndim == 1:
            seq = seq[:, None]
        if seq.ndim != 2 or seq.shape[1] < min_width:
            raise ValueError(f"{name}: expected per-frame predictions of shape (n_frames, k) with "
                             f"k >= {min_width} (column 0 the top-1 class), got {seq.shape}")
        if not np.issubdtype(seq.dtype, np.integer):
            raise ValueError(f"{name}: expected integer class indices, got dtype {seq.dtype}")
        groups.setdefault(seq.shape[0], []).append(seq)
    widths = {s.shape[1] for group in groups.values() for s in group}
    if len(widths) != 1:
        raise ValueError(f"{name}: every frame needs the same number of classes, got {sorted(widths)}")
    return [np.stack(group).astype(np.int64) for group in groups.values()]


def _mean_of_sequences(groups: list[np.ndarray], perturbation: str, difficulty: int,
                       per_pair) -> float:
    """Mean over sequences of the per-sequence mean of ``per_pair(earlier, later)`` values."""
    means = []
    for frames in groups:
        earlier, later = comparison_pairs(frames.shape[1], perturbation, difficulty)
        values = per_pair(frames[:, earlier], frames[:, later])  # (n_seq, n_pairs)
        means.append(values.mean(axis=1))
    return float(np.mean(np.concatenate(means)))


def flip_probability(predictions, perturbation: str, difficulty: int = 1) -> float:
    """Flip probability FP (fraction): the share of compared pairs whose top-1 differs.

    ``predictions``: (n_sequences, n_frames) top-1 classes or (n_sequences, n_frames, k)
    top-k classes (column 0 used), or a list of such per-sequence arrays.
    """
    groups = _by_length(predictions, 1, "predictions")
    return _mean_of_sequences(groups, perturbation, difficulty,
                              lambda a, b: (a[..., 0] != b[..., 0]).astype(np.float64))


def _check_distinct(groups: list[np.ndarray], k: int, name: str) -> None:
    for frames in groups:
        top = np.sort(frames[..., :k], axis=-1)
        if np.any(top[..., 1:] == top[..., :-1]):
            raise ValueError(f"{name}: a frame lists a class twice among its {k} best; expected "
                             "k distinct classes per frame, best first")


def _top5_pair_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum_r |r - min(sigma_r, 6)| for arrays (..., >= 5) of classes, best first."""
    match = a[..., :5, None] == b[..., None, :5]  # (..., 5 of a, 5 of b)
    rank_in_b = np.where(match.any(axis=-1), match.argmax(axis=-1) + 1, 6)
    return np.abs(np.arange(1, 6) - rank_in_b).sum(axis=-1).astype(np.float64)


def top5_distance(top5, perturbation: str, difficulty: int = 1) -> float:
    """Mean top-5 distance T5D (a count in [0, 15]) from per-frame top-5 classes, best first:
    (n_sequences, n_frames, 5) or a list of (n_frames, 5) arrays."""
    groups = _by_length(top5, 5, "top5")
    _check_distinct(groups, 5, "top5")
    return _mean_of_sequences(groups, perturbation, difficulty, _top5_pair_distance)


def rankings_from_logits(logits) -> np.ndarray:
    """Classes of each frame in decreasing logit order, ties by class index (the reference's
    ``rankdata(-logits, method="ordinal")`` order): ``argsort`` of -logits on the last axis."""
    z = np.asarray(logits, dtype=np.float64)
    return np.argsort(-z, axis=-1, kind="stable")


def _zipf_pair_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n_classes = a.shape[-1]
    rank_of = np.empty_like(b)
    np.put_along_axis(rank_of, b, np.arange(1, n_classes + 1), axis=-1)  # rank in b of each class
    sigma = np.take_along_axis(rank_of, a, axis=-1)
    r = np.arange(1, n_classes + 1)
    return np.sum(np.abs(1.0 / r - 1.0 / sigma) / r, axis=-1)


def zipf_distance(rankings, perturbation: str, difficulty: int = 1) -> float:
    """Mean Zipf distance from complete per-frame rankings (every class, best first):
    (n_sequences, n_frames, n_classes), e.g. :func:`rankings_from_logits` of saved logits."""
    groups = _by_length(rankings, 2, "rankings")
    n_classes = groups[0].shape[-1]
    for frames in groups:
        if np.any(np.sort(frames, axis=-1) != np.arange(n_classes)):
            raise ValueError(f"rankings: each frame must rank every one of its {n_classes} classes "
                             "exactly once (the Zipf distance needs complete rankings, which the "
                             "stored top-5 predictions are not)")
    return _mean_of_sequences(groups, perturbation, difficulty, _zipf_pair_distance)


# ---------------------------------------------------------------- mFR and mT5D


def read_stability_table(text: str) -> dict[int, dict[str, tuple[float, float]]]:
    """Parse an AlexNet table (``alexnet_imagenet_p.csv`` format; ``#`` lines are comments):
    difficulty -> perturbation -> (flip probability, top-5 distance)."""
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    expected = {"perturbation", "difficulty", "flip_probability", "top5_distance"}
    if rows.fieldnames is None or set(rows.fieldnames) != expected:
        raise ValueError(f"AlexNet ImageNet-P table: expected columns {sorted(expected)}, got "
                         f"{rows.fieldnames}")
    table: dict[int, dict[str, tuple[float, float]]] = {}
    for row in rows:
        name = row["perturbation"]
        if name not in IMAGENET_P_PERTURBATIONS + EXTRA_PERTURBATIONS:
            raise ValueError(f"AlexNet ImageNet-P table: unknown perturbation {name!r}")
        fp, t5d = float(row["flip_probability"]), float(row["top5_distance"])
        if not (0 <= fp <= 1 and 0 <= t5d <= MAX_TOP5_DISTANCE):
            raise ValueError(f"AlexNet ImageNet-P table, {name}: flip probability must be a "
                             f"fraction and T5D in [0, {MAX_TOP5_DISTANCE}], got {fp}, {t5d}")
        table.setdefault(int(row["difficulty"]), {})[name] = (fp, t5d)
    return table


@cache
def _alexnet_table() -> dict[int, dict[str, tuple[float, float]]]:
    return read_stability_table(resources.files("robustness.stats").joinpath(ALEXNET_TABLE).read_text())


def alexnet_stability(difficulty: int = 1) -> tuple[dict[str, float], dict[str, float]]:
    """AlexNet's flip probabilities and top-5 distances at ``difficulty``, from the shipped
    table (empty until its values are entered, see ``alexnet_imagenet_p.csv``)."""
    rows = _alexnet_table().get(difficulty, {})
    return {p: v[0] for p, v in rows.items()}, {p: v[1] for p, v in rows.items()}


@dataclass(frozen=True)
class StabilitySummary:
    """Per-perturbation values and their AlexNet-normalised means (fractions)."""

    perturbations: tuple[str, ...]
    flip_probability: dict[str, float]
    flip_rate: dict[str, float]
    """FR_p = FP_p / FP_p^AlexNet."""
    mfr: float
    top5_distance: dict[str, float] | None = None
    top5_rate: dict[str, float] | None = None
    """T5D_p / T5D_p^AlexNet."""
    mt5d: float | None = None


def _normalise(values: Mapping[str, float], baseline: Mapping[str, float],
               perturbations: Sequence[str], what: str, difficulty: int) -> dict[str, float]:
    out = {}
    for p in perturbations:
        if p not in values:
            raise KeyError(f"no {what} for perturbation {p!r}; expected one for each of "
                           f"{list(perturbations)}")
        if p not in baseline:
            raise KeyError(f"no AlexNet {what} for {p!r} at difficulty {difficulty}: "
                           f"robustness/stats/{ALEXNET_TABLE} lacks it (see that file for the "
                           "source); pass the baseline explicitly")
        out[p] = float(values[p]) / float(baseline[p])
    return out


def summarize_stability(
    flip_probabilities: Mapping[str, float],
    top5_distances: Mapping[str, float] | None = None,
    perturbations: Sequence[str] = IMAGENET_P_PERTURBATIONS,
    *,
    difficulty: int = 1,
    baseline_flip: Mapping[str, float] | None = None,
    baseline_top5: Mapping[str, float] | None = None,
) -> StabilitySummary:
    """FR per perturbation and mFR (and T5D rates and mT5D when ``top5_distances`` is given),
    normalised by AlexNet's values at ``difficulty`` (the shipped table unless the baselines
    are given). Raises KeyError naming a perturbation without a value or a baseline."""
    names = tuple(perturbations)
    table_flip, table_top5 = alexnet_stability(difficulty)
    flip_base = table_flip if baseline_flip is None else baseline_flip
    flip_rate = _normalise(flip_probabilities, flip_base, names, "flip probability", difficulty)
    top5_rate = mt5d = None
    if top5_distances is not None:
        top5_base = table_top5 if baseline_top5 is None else baseline_top5
        top5_rate = _normalise(top5_distances, top5_base, names, "top-5 distance", difficulty)
        mt5d = float(np.mean([top5_rate[p] for p in names]))
    return StabilitySummary(
        perturbations=names,
        flip_probability={p: float(flip_probabilities[p]) for p in names},
        flip_rate=flip_rate,
        mfr=float(np.mean([flip_rate[p] for p in names])),
        top5_distance=None if top5_distances is None else {p: float(top5_distances[p]) for p in names},
        top5_rate=top5_rate,
        mt5d=mt5d)
