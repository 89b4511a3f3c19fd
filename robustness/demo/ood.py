"""The demo's out-of-distribution set: shapes of classes no demo model was trained on.

ImageNet-O's question in the simulated world: does a model's confidence tell images of its own
classes from images of classes it never saw? ``novel-shapes`` holds
:data:`robustness.demo.world.NOVEL_SHAPES` (heart, arrow, L, hourglass, T) drawn under the
original test set's nuisances (same sizes, backgrounds, clutter, occluders), each in a hue drawn
uniformly from the colour wheel, so the colour cue the models learned says nothing. By default
40 images per shape: 200 against the demo's 1,000 val images, ImageNet-O's ratio (2,000 against
10,000).

The set is added the way a user adds one (README, "Extending"): a reader and a
:class:`~robustness.TestSetSpec` registered with :func:`robustness.register_test_set`, whose
``in_distribution`` names the demo's val (``imagenet``). The standard report then writes its
``ood.csv`` rows: AUPR and AUROC of the negative max-softmax, the novel shapes as positives.
The built-in ``imagenet-o``/``imagenet-o-clean`` pair does not fit the demo: it scores over
ImageNet-O's 200 classes, none of which is a world class, so every demo model's softmax over
them would be noise. Here both sides are scored like the demo's val (1000-way, the world's
classes at :data:`robustness.demo.collect.CLASS_INDICES`).

Each novel shape is filed under its own ImageNet-1k class (:data:`NOVEL_CLASS_INDICES`, none of
them a world class), in val's folder layout. The label is a name, not a target: no demo model
can predict these classes, so top-1 on ``novel-shapes`` is 0 by construction and means nothing.
The registration lives in the process that runs the demo: a later ``robustness report`` in
another process reads the units but, without it, writes no ``ood.csv`` row for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robustness.datasets import TestSetInfo
from robustness.datasets.catalogue import TEST_SETS, register_test_set
from robustness.datasets.spec import TestSetSpec
from robustness.datasets.testset import TestSet

from .collect import Renderer
from .world import NOVEL_SHAPES, render, sample_nuisances

NAME = "novel-shapes"
IN_DISTRIBUTION = "imagenet"
NOVEL_CLASS_INDICES = tuple(57 + 100 * i for i in range(len(NOVEL_SHAPES)))
"""ImageNet-1k indices the novel shapes are filed under (the world's are 7, 107, ...)."""

LAYOUT = "  <root>/<wnid>/<image>.png   (one folder per novel shape, named by its class's wnid)\n"


def novel_wnids() -> list[str]:
    from robustness.datasets.classes import imagenet_wnids

    wnids = imagenet_wnids()
    return [wnids[i] for i in NOVEL_CLASS_INDICES]


def novel_images(rng: np.random.Generator, per_class: int,
                 render_fn: Renderer = render) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` images of every novel shape: (uint8 pixels (n, 64, 64, 3), shape index)."""
    k = len(NOVEL_SHAPES)
    nz = sample_nuisances(rng, per_class * k, shift=0.0, n_classes=k)
    nz.label = np.repeat(np.arange(k), per_class)
    nz.hue = rng.random(len(nz))  # any hue: colour says nothing about the class
    return render_fn(nz, NOVEL_SHAPES), nz.label


def write_novel_shapes(folder: Path, pixels: np.ndarray, shape_index: np.ndarray) -> None:
    """``folder/<wnid>/novel_<i>.png`` for every image (val's layout)."""
    from PIL import Image

    wnids = novel_wnids()
    for i, (px, k) in enumerate(zip(pixels, shape_index)):
        d = folder / wnids[int(k)]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(px).save(d / f"novel_{i:06d}.png", optimize=False, compress_level=1)


def open_novel_shapes(root: Path, *, allow_partial: bool = False) -> TestSet:
    """``<root>/<wnid>/<image>.png``: the label is the folder's ImageNet-1k index."""
    from robustness.datasets.classes import wnid_to_index

    root = Path(root)
    index = wnid_to_index()
    relpaths = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.png"))
    labels = [index[p.split("/")[0]] for p in relpaths]
    return TestSet(TestSetInfo(name=NAME, root=root), relpaths, labels)


SPEC = TestSetSpec(
    name=NAME, opener=open_novel_shapes, default_dir=NAME, layout=LAYOUT,
    num_classes=len(NOVEL_SHAPES), in_distribution=IN_DISTRIBUTION,
    description="The demo world's out-of-distribution set: shapes of classes no demo model was "
    "trained on, scored by AUROC/AUPR against the demo's val (imagenet); top-1 means nothing.")


def register() -> TestSetSpec:
    """Add :data:`SPEC` to the catalogue (once per process; a different set of the same name
    is an error)."""
    if TEST_SETS.get(NAME) is not SPEC:
        register_test_set(SPEC)
    return SPEC
