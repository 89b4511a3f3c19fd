"""The ImageNet-P stability table: flip probability, top-5 and Zipf distances, mFR and mT5D.

:func:`stability_table` reads every unit of a model on a member of the ImageNet-P set groups
(``imagenet-p.<perturbation>.<difficulty>``, ``imagenet-p-inmemory...``, see
:mod:`robustness.datasets.imagenet_p`): its stored top-5 predictions per frame
(``Unit.column("top5")``), grouped into sequences by the frames' relative paths
(``<video>#<frame>`` in the unit's image list), and computes the metrics of
``hendrycks/robustness`` ``ImageNet-P/test.py`` with :mod:`robustness.stats.stability`:

* noise perturbations (gaussian, shot, speckle): every frame against frame 0 of its sequence;
  difficulty d is the set's own (its videos live in ``<name>_<d>``);
* every other perturbation: frame t against frame t + d. Its videos exist at difficulty 1
  only; ``test.py --difficulty d`` reads those videos with a stride of d, and so does this
  table: its rows at difficulty 2 and 3 come from the difficulty-1 unit, and are written
  when the model has a unit of the same group at that difficulty (a noise set), so that the
  difficulty's mFR can be complete.

A sequence with a frame skipped as unreadable (``--skip-bad-images``: an undecodable video
skips all its frames) is left out, with a note. Flip probability and top-5 distance are exact
from the stored top-5 predictions; the Zipf distance needs every class's rank, which only a
unit's saved logits (``--save-logits``) give: they are stored as float16, so classes whose
logits round to the same value are ranked by class index (the reference ranks float32
logits), a close but not bit-identical ranking.

Columns (:data:`STABILITY_COLUMNS`), one row per model, group, perturbation and difficulty:

* ``model``, ``group`` (``imagenet-p`` or ``imagenet-p-inmemory``), ``test_set`` (the unit
  read: for a geometric perturbation at difficulty 2 or 3, the difficulty-1 set),
  ``perturbation``, ``difficulty`` (1-3);
* ``n_sequences``: sequences averaged over (count);
* ``flip_probability``: FP, percent of the compared frame pairs whose top-1 class differs,
  averaged per sequence then over sequences (the reference's mean of per-video means);
* ``top5_distance``: mean top-5 distance T5D, a count in [0, 15] (not percent);
* ``zipf_distance``: mean Zipf distance (dimensionless, >= 0); empty for units without saved
  logits;
* ``fr``: flip rate, percent: 100 * FP / FP of the baseline (AlexNet; same perturbation and
  difficulty);
* ``t5d_rate``: percent: 100 * T5D / T5D of the baseline;
* ``mfr``, ``mt5d``: percent, the means of ``fr`` and ``t5d_rate`` over the 10 test
  perturbations (``stats.stability.IMAGENET_P_PERTURBATIONS``) of the model, group and
  difficulty, repeated on each of those rows (ResNet-50's published mFR is 58.0%); empty
  unless all 10 are there;
* ``normalised_by``: where the baseline's values come from: ``AlexNet (published)`` (the
  shipped ``robustness/stats/alexnet_imagenet_p.csv``), ``reference table`` (a table passed
  in, ``--stability-reference``), or ``<model> (this store)``: a model of the store evaluated on
  the same group's sets (``--stability-baseline-model``; the paper's AlexNet values were made
  the same way, torchvision's AlexNet through ``test.py`` on the published videos). Empty
  when the row has no rates.

``fr``, ``t5d_rate``, ``mfr`` and ``mt5d`` need the baseline's values; the shipped AlexNet file
has none so far (see the file), so without ``--stability-reference`` or
``--stability-baseline-model`` they are empty and a note says so. :func:`plot_flip_rates`
draws the flip probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..datasets.catalogue import parse_set_name
from ..datasets.imagenet_p import FRAME_SEPARATOR, STABILITY_GROUPS, perturbation_sort_key
from ..errors import UserInputError
from ..stats.stability import (
    ALEXNET_TABLE,
    DIFFICULTIES,
    EXTRA_PERTURBATIONS,
    IMAGENET_P_PERTURBATIONS,
    alexnet_stability,
    flip_probability,
    is_noise,
    rankings_from_logits,
    summarize_stability,
    top5_distance,
    zipf_distance,
)
from ..store import Store, Unit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STABILITY_COLUMNS = ["model", "group", "test_set", "perturbation", "difficulty", "n_sequences",
                     "flip_probability", "top5_distance", "zipf_distance", "fr", "t5d_rate", "mfr",
                     "mt5d", "normalised_by"]
#: sequences whose logits are ranked at once for the Zipf distance (memory: about
#: 64 x 31 x 1000 x 8 bytes per array)
ZIPF_CHUNK = 64

AlexNetTable = Mapping[int, Mapping[str, tuple[float, float]]]
"""difficulty -> perturbation -> (flip probability as a fraction, top-5 distance)."""
#: ``normalised_by`` of the shipped AlexNet table and of a table passed in
PUBLISHED_ALEXNET = "AlexNet (published)"
REFERENCE_TABLE = "reference table"


def frame_sequences(relpaths: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of every sequence of an image list of frames (``<video>#<frame>``, in
    the reader's sequence-major order); ValueError for paths that are not frames, frames of a
    sequence that are not contiguous, or frame indices that are not 0, 1, ... in order."""
    paths = pd.Series(np.asarray(relpaths, dtype=object), dtype=object)
    if paths.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    parts = paths.str.rpartition(FRAME_SEPARATOR)
    bad = (parts[1] != FRAME_SEPARATOR) | (parts[0] == "") | ~parts[2].str.isdigit()
    if bad.any():
        raise ValueError(f"{paths[bad].iloc[0]!r} is not an ImageNet-P frame path "
                         f"(<video>{FRAME_SEPARATOR}<frame index>)")
    sequence = parts[0].to_numpy(dtype=object)
    frame = parts[2].astype(np.int64).to_numpy()
    starts = np.flatnonzero(np.r_[True, sequence[1:] != sequence[:-1]])
    lengths = np.diff(np.r_[starts, len(sequence)])
    if len(set(sequence[starts])) != len(starts):
        raise ValueError("the frames of a sequence are not contiguous in the image list")
    if not np.array_equal(frame, np.arange(len(frame)) - np.repeat(starts, lengths)):
        raise ValueError("the frames of a sequence are not numbered 0, 1, ... in order")
    return starts, lengths


def _sequence_arrays(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Per-sequence slices of ``values`` (rows = frames)."""
    return [values[s:s + n] for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)]


def _zipf_means(logits: np.ndarray, starts: np.ndarray, lengths: np.ndarray, perturbation: str,
                difficulties: Sequence[int]) -> dict[int, float]:
    """Mean Zipf distance per difficulty over the sequences (start, length), ranking
    :data:`ZIPF_CHUNK` sequences of ``logits`` (rows = frames, possibly memory-mapped) at once."""
    totals = dict.fromkeys(difficulties, 0.0)
    for lo in range(0, len(starts), ZIPF_CHUNK):
        chunk = [rankings_from_logits(np.asarray(logits[s:s + n]))
                 for s, n in zip(starts[lo:lo + ZIPF_CHUNK].tolist(),
                                 lengths[lo:lo + ZIPF_CHUNK].tolist(), strict=True)]
        for d in difficulties:
            totals[d] += zipf_distance(chunk, perturbation, d) * len(chunk)
    return {d: total / len(starts) for d, total in totals.items()}


def _unit_logits(unit: Unit) -> np.ndarray | None:
    """The unit's saved logits (positions x classes, memory-mapped), or None."""
    if unit.format < 2 or not unit.dir.logits.is_file():
        return None
    return np.load(unit.dir.logits, mmap_mode="r", allow_pickle=False)


def _alexnet_table(alexnet: AlexNetTable | None) -> dict[int, dict[str, tuple[float, float]]]:
    if alexnet is not None:
        return {int(d): dict(rows) for d, rows in alexnet.items()}
    out: dict[int, dict[str, tuple[float, float]]] = {}
    for d in DIFFICULTIES:
        flips, top5s = alexnet_stability(d)
        out[d] = {p: (flips[p], top5s[p]) for p in flips if p in top5s}
    return out


def _unit_rows(unit: Unit, model: str, group: str, test_set: str, perturbation: str,
               difficulties: Sequence[int], notes: list[str]) -> list[dict]:
    """The rows of one unit (one per difficulty it is read at)."""
    top5, evaluated = unit.column("top5")
    starts, lengths = frame_sequences(unit.image_list().relpaths)
    complete = np.array([evaluated[s:s + n].all() for s, n in zip(starts, lengths, strict=True)],
                        dtype=bool)
    if not complete.all():
        notes.append(f"stability {model} {test_set}: {int((~complete).sum())} of {len(starts)} "
                     "sequence(s) with frames skipped as unreadable left out")
    starts, lengths = starts[complete], lengths[complete]
    rows = [{"model": model, "group": group, "test_set": test_set, "perturbation": perturbation,
             "difficulty": int(d), "n_sequences": len(starts)} for d in difficulties]
    if len(starts) == 0:
        notes.append(f"stability {model} {test_set}: no complete sequence, metrics left empty")
        return rows
    sequences = _sequence_arrays(np.asarray(top5), starts, lengths)
    logits = _unit_logits(unit)
    zipf = (_zipf_means(logits, starts, lengths, perturbation, difficulties)
            if logits is not None else {})
    for row in rows:
        d = row["difficulty"]
        row["flip_probability"] = 100.0 * flip_probability(sequences, perturbation, d)
        row["top5_distance"] = top5_distance(sequences, perturbation, d)
        row["zipf_distance"] = zipf.get(d, np.nan)
    return rows


def _with_rates(table: pd.DataFrame, baseline: dict[int, dict[str, tuple[float, float]]],
                label: str, notes: list[str]) -> pd.DataFrame:
    """``fr`` and ``t5d_rate`` per row, ``mfr`` and ``mt5d`` per model, group and difficulty,
    dividing by ``baseline`` (difficulty -> perturbation -> (FP as a fraction, T5D)), whose
    source ``label`` goes in ``normalised_by`` (see the module docstring)."""
    table = table.copy()
    for column in ("fr", "t5d_rate", "mfr", "mt5d"):
        table[column] = np.nan
    table["normalised_by"] = ""
    zero = sorted((d, p) for d, values in baseline.items() for p, (fp, t5d) in values.items()
                  if not (fp > 0 and t5d > 0))
    if zero:  # nothing to divide by (a baseline that never flipped on a short set)
        notes.append(f"stability: {label} has a flip probability or top-5 distance of 0 on "
                     f"{', '.join(f'{p} (difficulty {d})' for d, p in zero)}: no rates there")
        baseline = {d: {p: v for p, v in values.items() if (d, p) not in zero}
                    for d, values in baseline.items()}
    for d in sorted(table["difficulty"].unique()):
        if baseline.get(int(d)):
            continue
        if label == PUBLISHED_ALEXNET:
            notes.append(f"stability: no AlexNet ImageNet-P values at difficulty {d} in "
                         f"robustness/stats/{ALEXNET_TABLE} (see that file): fr, t5d_rate, mfr "
                         "and mt5d left empty (--stability-baseline-model normalises by a model "
                         "of the store instead)")
        else:
            groups = ", ".join(sorted(set(table["group"])))
            notes.append(f"stability: no values of {label} at difficulty {d} ({groups}): fr, "
                         "t5d_rate, mfr and mt5d left empty")
    for i, row in table.iterrows():
        base = baseline.get(int(row["difficulty"]), {}).get(row["perturbation"])
        if base is None:
            continue
        fp_base, t5d_base = base
        table.at[i, "fr"] = 100.0 * (row["flip_probability"] / 100.0) / fp_base
        table.at[i, "t5d_rate"] = 100.0 * row["top5_distance"] / t5d_base
        table.at[i, "normalised_by"] = label
    for (model, group, d), rows in table.groupby(["model", "group", "difficulty"], sort=True):
        values = baseline.get(int(d), {})
        if not values:
            continue
        present = rows.set_index("perturbation")
        missing = [p for p in IMAGENET_P_PERTURBATIONS
                   if p not in present.index or not math.isfinite(present.at[p, "flip_probability"])]
        if missing:
            notes.append(f"stability {model} {group} difficulty {d}: mFR and mT5D left empty, "
                         f"{len(missing)} of the 10 perturbations missing ({', '.join(missing[:4])}"
                         f"{' ...' if len(missing) > 4 else ''})")
            continue
        lacking = [p for p in IMAGENET_P_PERTURBATIONS if p not in values]
        if lacking:
            notes.append(f"stability {model} {group} difficulty {d}: mFR and mT5D left empty, no "
                         f"values of {label} for {', '.join(lacking)}")
            continue
        summary = summarize_stability(
            {p: present.at[p, "flip_probability"] / 100.0 for p in IMAGENET_P_PERTURBATIONS},
            {p: present.at[p, "top5_distance"] for p in IMAGENET_P_PERTURBATIONS},
            difficulty=int(d), baseline_flip={p: v[0] for p, v in values.items()},
            baseline_top5={p: v[1] for p, v in values.items()})
        table.loc[rows.index, "mfr"] = 100.0 * summary.mfr
        table.loc[rows.index, "mt5d"] = 100.0 * summary.mt5d
    return table


def model_baseline(table: pd.DataFrame, model: str) -> dict[int, dict[str, tuple[float, float]]]:
    """``model``'s own values in rows of :func:`stability_table` (one group): difficulty ->
    perturbation -> (flip probability as a fraction, top-5 distance); rows without a flip
    probability (no complete sequence) are left out."""
    mine = table[(table["model"] == model) & table["flip_probability"].notna()]
    out: dict[int, dict[str, tuple[float, float]]] = {}
    for r in mine.itertuples(index=False):
        out.setdefault(int(r.difficulty), {})[str(r.perturbation)] = (
            float(r.flip_probability) / 100.0, float(r.top5_distance))
    return out


def _normalised(table: pd.DataFrame, alexnet: AlexNetTable | None, baseline_model: str | None,
                notes: list[str]) -> pd.DataFrame:
    """:func:`_with_rates` per group, dividing by ``baseline_model``'s rows of the same group
    when given, else by ``alexnet`` (default: the shipped table)."""
    if baseline_model is None:
        label = PUBLISHED_ALEXNET if alexnet is None else REFERENCE_TABLE
        return _with_rates(table, _alexnet_table(alexnet), label, notes)
    parts = []
    for _, rows in table.groupby("group", sort=True):
        parts.append(_with_rates(rows, model_baseline(rows, baseline_model),
                                 f"{baseline_model} (this store)", notes))
    return pd.concat(parts)


def _store_model_name(name: str, models: set[str]) -> str:
    """``name`` as the store spells it: itself, or the one model named ``name.<member>`` (a
    torchvision name without its weights member: ``tv:alexnet`` for ``tv:alexnet.IMAGENET1K_V1``)."""
    if name in models:
        return name
    longer = [m for m in models if m.startswith(name + ".")]
    return longer[0] if len(longer) == 1 else name


def stability_table(store: Store, units: pd.DataFrame, alexnet: AlexNetTable | None = None,
                    baseline_model: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The stability table of every model on the ImageNet-P groups' sets in ``units``
    (``robustness.report.tables.units_frame(store)``; its ``path`` column locates each unit),
    and notes on what was left out or empty. Columns and units: the module docstring.

    ``alexnet``: difficulty -> perturbation -> (flip probability as a fraction, top-5
    distance) to normalise by; default: the shipped ``alexnet_imagenet_p.csv``.
    ``baseline_model``: normalise by this model's own rows of the same group instead (a
    ``UserInputError`` when it has no ImageNet-P unit in ``units``).
    ``store`` is the store ``units`` were read from (each unit is opened by its ``path``)."""
    notes: list[str] = []
    rows: list[dict] = []
    if units is None or units.empty:
        return pd.DataFrame(columns=STABILITY_COLUMNS), notes
    chosen = []
    for r in units.itertuples(index=False):
        name = parse_set_name(str(r.test_set))
        if name.group not in STABILITY_GROUPS or not name.is_member:
            continue
        if name.corruption not in IMAGENET_P_PERTURBATIONS + EXTRA_PERTURBATIONS:
            notes.append(f"stability {r.model} {r.test_set}: {name.corruption} is not an "
                         "ImageNet-P perturbation, left out")
            continue
        chosen.append((str(r.model), name.group, str(r.test_set), name.corruption,
                       int(name.severity), str(r.path)))
    levels = {(m, g): {c[4] for c in chosen if (c[0], c[1]) == (m, g)} for m, g, *_ in chosen}
    no_logits = 0
    for model, group, test_set, perturbation, difficulty, path in sorted(chosen):
        if is_noise(perturbation) or difficulty != 1:
            read_at = [difficulty]
        else:  # the difficulty-1 videos read at every stride this model's group has
            read_at = sorted({1} | {d for d in levels[(model, group)] if d in DIFFICULTIES})
        unit = Unit(path)
        try:
            unit_rows = _unit_rows(unit, model, group, test_set, perturbation, read_at, notes)
        except ValueError as exc:
            notes.append(f"stability {model} {test_set}: left out, {exc}")
            continue
        no_logits += _unit_logits(unit) is None
        rows += unit_rows
    if no_logits:
        notes.append(f"stability: zipf_distance left empty for {no_logits} unit(s) without saved "
                     "logits (evaluate with --save-logits)")
    table = pd.DataFrame(rows, columns=STABILITY_COLUMNS[:9])
    if table.empty:
        return pd.DataFrame(columns=STABILITY_COLUMNS), notes
    if baseline_model is not None:
        baseline_model = _store_model_name(baseline_model, set(table["model"]))
    if baseline_model is not None and baseline_model not in set(table["model"]):
        raise UserInputError(
            f"--stability-baseline-model {baseline_model}: no finished ImageNet-P unit of that "
            f"model in {store.out} (models with some: {', '.join(sorted(set(table['model'])))}); "
            f"evaluate it on the same sets (robustness eval --models {baseline_model} "
            "--test-sets imagenet-p ...) or name one of those")
    table = _normalised(table, alexnet, baseline_model, notes)
    order = table["perturbation"].map(perturbation_sort_key)
    table = (table.assign(_order=order)
             .sort_values(["model", "group", "difficulty", "_order"], kind="stable")
             .drop(columns="_order").reset_index(drop=True))
    return table[STABILITY_COLUMNS], notes


def _file_part(name: str) -> str:
    return "".join(c if c.isalnum() or c in "+-" else "_" for c in name).strip("_")


def flip_rate_figure(rows: pd.DataFrame) -> Figure:
    """Flip probability (percent) per perturbation (x, test perturbations in paper order, then
    held-out ones), one series of markers per model (its ``Line2D`` labelled with the model's
    name, offset a little sideways so that equal values stay visible), for the rows of one
    group and difficulty of :func:`stability_table`. A ``Figure`` on its own Agg canvas."""
    from .plots import new_figure

    rows = rows.dropna(subset=["flip_probability"])
    perturbations = sorted(set(rows["perturbation"]), key=perturbation_sort_key)
    x = np.arange(len(perturbations))
    models = sorted(set(rows["model"]))
    fig = new_figure((max(6.0, 0.7 * len(perturbations) + 2.5), 4.2))
    ax = fig.add_subplot()
    step = min(0.6 / max(len(models), 1), 0.12)  # models side by side within a perturbation
    for k, model in enumerate(models):
        values = rows[rows["model"] == model].set_index("perturbation")["flip_probability"]
        y = [float(values.get(p, np.nan)) for p in perturbations]
        ax.plot(x + (k - (len(models) - 1) / 2) * step, y, marker="o", markersize=4,
                linestyle="none", label=model)
    ax.set_xticks(x, perturbations, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("flip probability (%)")
    ax.set_ylim(bottom=0)
    groups, levels = sorted(set(rows["group"])), sorted(set(rows["difficulty"]))
    ax.set_title(f"{', '.join(groups)}: flip probability, difficulty "
                 f"{', '.join(map(str, levels))}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=max(1, math.ceil(len(models) / 12)), loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_flip_rates(table: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """:func:`flip_rate_figure` of every group and difficulty of ``table``
    (:func:`stability_table`), written as ``out_dir/flip_probability_<group>_d<difficulty>``
    ``.png`` and ``.svg``; returns the paths written (none for an empty table)."""
    from .plots import save_figure

    written: list[Path] = []
    if table is None or table.empty:
        return written
    data = table.dropna(subset=["flip_probability"])
    for (group, difficulty), rows in data.groupby(["group", "difficulty"], sort=True):
        stem = Path(out_dir) / f"flip_probability_{_file_part(str(group))}_d{int(difficulty)}"
        written += save_figure(flip_rate_figure(rows), stem)
    return written
