"""The simulated collection process behind the demo's test sets.

Two candidate pools are "gathered" from the world: pool A at the time of the
original benchmark (nuisance shift 0) and pool B a little later (a small,
known shift toward harder images). Every candidate is shown to simulated
annotators (:func:`robustness.demo.world.annotate`).

* The **original test set** is drawn from pool A the way ImageNet accepted
  images: a candidate enters when a majority of a first annotation round
  selects it; its selection frequency is then re-measured by a fresh round
  (as ImageNetV2 re-measured ImageNet val), and that is what the pool file
  records.
* The **re-collected sets** come from pool B through the project's own
  samplers (MatchedFrequency, Threshold0.7, TopImages), matching the
  original set's *measured* frequencies, so the gap mixes the distribution
  shift with the selection bias of matching on noisy frequencies.

Because everything is simulated, each distribution's true properties are
known: :mod:`robustness.demo.truth` uses large fresh samples of the same
processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .world import Nuisances, annotate, render, sample_nuisances, visibility

# The world's ten classes sit at these ImageNet-1k indices (arbitrary, spread out).
CLASS_INDICES = tuple(7 + 100 * i for i in range(10))


def class_wnids(n_classes: int = 10) -> list[str]:
    from robustness.datasets.classes import imagenet_wnids

    wnids = imagenet_wnids()
    return [wnids[i] for i in CLASS_INDICES[:n_classes]]


@dataclass
class Images:
    """Rendered images with everything known about them."""

    nuisances: Nuisances
    pixels: np.ndarray  # (n, 64, 64, 3) uint8
    votes: np.ndarray  # (n, annotators) bool: the recorded annotation round
    ids: list[str]  # file stems, unique within the world

    @property
    def labels(self) -> np.ndarray:
        """ImageNet-1k indices."""
        return np.asarray(CLASS_INDICES)[self.nuisances.label]

    @property
    def visibility(self) -> np.ndarray:
        return visibility(self.nuisances)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx) -> Images:
        idx = np.asarray(idx)
        return Images(self.nuisances.take(idx), self.pixels[idx], self.votes[idx],
                      [self.ids[i] for i in idx])


Renderer = Callable[..., np.ndarray]
"""``(nuisances, shapes=SHAPES) -> pixels``: :func:`robustness.demo.world.render`, or the same
work split over processes (:class:`robustness.demo.run.ParallelRenderer`)."""


def candidates(rng: np.random.Generator, n: int, shift: float, prefix: str, annotators: int,
               n_classes: int, render_fn: Renderer = render) -> Images:
    """Render ``n`` candidates of a pool and annotate them once."""
    nz = sample_nuisances(rng, n, shift=shift, n_classes=n_classes)
    votes = annotate(rng, visibility(nz), annotators)
    return Images(nz, render_fn(nz), votes, [f"{prefix}{i:06d}" for i in range(n)])


def original_set(rng: np.random.Generator, per_class: int, annotators: int, n_classes: int,
                 prefix: str = "val_", oversample: float = 2.5, render_fn: Renderer = render) -> Images:
    """ImageNet-style acceptance from pool A, then a fresh annotation round.

    A candidate is accepted when more than half of a first round of
    annotators select it; the first ``per_class`` accepted per class form the
    set. The recorded votes are a second, independent round.
    """
    n = int(per_class * n_classes * oversample)
    while True:
        nz = sample_nuisances(rng, n, shift=0.0, n_classes=n_classes)
        first = annotate(rng, visibility(nz), annotators)
        accepted = first.mean(axis=1) > 0.5
        picks = [np.flatnonzero(accepted & (nz.label == c))[:per_class] for c in range(n_classes)]
        if all(len(p) == per_class for p in picks):
            break
        n = int(n * 1.5)
    idx = np.sort(np.concatenate(picks))
    nz = nz.take(idx)
    second = annotate(rng, visibility(nz), annotators)
    return Images(nz, render_fn(nz), second, [f"{prefix}{i:06d}" for i in range(len(idx))])


def pool_table(images: Images, folder: str, wnids: list[str]) -> pd.DataFrame:
    """The candidate-pool CSV rows (format: ``robustness.recollect.pool``) for ``images``.

    ``folder`` is where the images lie relative to the pool file, one subfolder per wnid.
    """
    wn = np.asarray(wnids)[images.nuisances.label]
    return pd.DataFrame(
        {
            "path": [f"{folder}/{w}/{i}.png" for w, i in zip(wn, images.ids)],
            "wnid": wn,
            "shown": images.votes.shape[1],
            "selected": images.votes.sum(axis=1).astype(int),
        }
    )
