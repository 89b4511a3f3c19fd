"""ImageNet-O (Hendrycks et al. 2021, "Natural adversarial examples"): 2,000 images of classes
*outside* ImageNet-1k, for out-of-distribution detection, and its in-distribution partner.

On disk (the extracted ``imagenet-o.tar``): ``<root>/<wnid>/<image>``, 200 folders named by
ImageNet-1k wnids (:data:`IMAGENET_O_WNIDS`), although the images show classes outside
ImageNet-1k. Following the reference evaluation (``hendrycks/natural-adv-examples`` ``eval_many_models.py``, which reads
the folder with torchvision's ``ImageFolder``):

* an image's label is its folder's position in the sorted 200-wnid list (0..199), not an
  ImageNet-1k index; it is not a ground truth, and accuracy on ImageNet-O means nothing;
* scoring is restricted to the 200 classes (the reference's ``net(x)[:, imagenet_o_mask]``):
  ``Scoring(label_targets=...)`` maps label k to the ImageNet-1k index of the k-th wnid, so
  top-1 and the max-softmax are taken over those 200 classes;
* the in-distribution side of AUROC/AUPR is ImageNet val restricted to the same 200 classes
  (the reference symlinks ``val/<wnid>`` for each ImageNet-O folder): ``imagenet-o-clean``
  here, labelled and scored the same way. ``TestSetSpec.in_distribution`` records the pairing.

The wnid list is the reference's ``imagenet_o_wnids`` (``eval_many_models.py``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .base import Scoring, TestSetInfo
from .classes import wnid_to_index
from .folders import scan_class_folders
from .imagenet import VAL_DIRS, VAL_LAYOUT, VAL_OPTIONS, open_imagenet_val
from .spec import TestSetSpec
from .testset import TestSet

IMAGENET_O_WNIDS: tuple[str, ...] = (
    "n01443537", "n01704323", "n01770081", "n01784675", "n01819313", "n01820546", "n01910747",
    "n01917289", "n01968897", "n02074367", "n02317335", "n02319095", "n02395406", "n02454379",
    "n02606052", "n02655020", "n02666196", "n02672831", "n02730930", "n02777292", "n02783161",
    "n02786058", "n02787622", "n02791270", "n02808304", "n02817516", "n02841315", "n02865351",
    "n02877765", "n02892767", "n02906734", "n02910353", "n02916936", "n02948072", "n02965783",
    "n03000134", "n03000684", "n03017168", "n03026506", "n03032252", "n03075370", "n03109150",
    "n03126707", "n03134739", "n03160309", "n03196217", "n03207743", "n03218198", "n03223299",
    "n03240683", "n03271574", "n03291819", "n03297495", "n03314780", "n03325584", "n03344393",
    "n03347037", "n03372029", "n03376595", "n03388043", "n03388183", "n03400231", "n03445777",
    "n03457902", "n03467068", "n03482405", "n03483316", "n03494278", "n03530642", "n03544143",
    "n03584829", "n03590841", "n03598930", "n03602883", "n03649909", "n03661043", "n03666591",
    "n03676483", "n03692522", "n03706229", "n03717622", "n03720891", "n03721384", "n03724870",
    "n03729826", "n03733131", "n03733281", "n03742115", "n03786901", "n03788365", "n03794056",
    "n03804744", "n03814639", "n03814906", "n03825788", "n03840681", "n03843555", "n03854065",
    "n03857828", "n03868863", "n03874293", "n03884397", "n03891251", "n03908714", "n03920288",
    "n03929660", "n03930313", "n03937543", "n03942813", "n03944341", "n03961711", "n03970156",
    "n03982430", "n03991062", "n03995372", "n03998194", "n04005630", "n04023962", "n04033901",
    "n04040759", "n04067472", "n04074963", "n04116512", "n04118776", "n04125021", "n04127249",
    "n04131690", "n04141975", "n04153751", "n04154565", "n04201297", "n04204347", "n04209133",
    "n04209239", "n04228054", "n04235860", "n04243546", "n04252077", "n04254120", "n04258138",
    "n04265275", "n04270147", "n04275548", "n04330267", "n04332243", "n04336792", "n04347754",
    "n04371430", "n04371774", "n04372370", "n04376876", "n04409515", "n04417672", "n04418357",
    "n04423845", "n04429376", "n04435653", "n04442312", "n04482393", "n04501370", "n04507155",
    "n04525305", "n04542943", "n04554684", "n04557648", "n04562935", "n04579432", "n04591157",
    "n04597913", "n04599235", "n06785654", "n06874185", "n07615774", "n07693725", "n07695742",
    "n07697537", "n07711569", "n07714990", "n07715103", "n07716358", "n07717410", "n07718472",
    "n07720875", "n07742313", "n07745940", "n07747607", "n07749582", "n07753275", "n07753592",
    "n07754684", "n07768694", "n07836838", "n07871810", "n07873807", "n07880968", "n09229709",
    "n09472597", "n12144580", "n12267677", "n13052670",
)
"""The 200 ImageNet-1k wnids of ImageNet-O's folders, sorted; label k is wnid k."""

NUM_IMAGENET_O_IMAGES = 2_000

IMAGENET_O_LAYOUT = """\
  <root>/n01443537/<any name>.jpg|.jpeg|.png   (one folder per wnid: 200 folders, listed in
  <root>/n01704323/...                          robustness.datasets.imagenet_o.IMAGENET_O_WNIDS)
  <root>/README.txt                             (loose files are ignored)
"""


def imagenet_o_scoring() -> Scoring:
    """Label k counts as correct for the k-th wnid's ImageNet-1k class; predictions are
    restricted to the 200 classes."""
    index = wnid_to_index()
    return Scoring(label_targets=tuple((index[w],) for w in IMAGENET_O_WNIDS), name="imagenet-o-200")


def open_imagenet_o(root: Path, *, allow_partial: bool = False) -> TestSet:
    """ImageNet-O under ``root``: labels are folder positions in :data:`IMAGENET_O_WNIDS`."""
    label_of = {w: k for k, w in enumerate(IMAGENET_O_WNIDS)}
    scanned = scan_class_folders(
        Path(root), label_of.get, set_name="imagenet-o", expected=IMAGENET_O_LAYOUT,
        required_folders=IMAGENET_O_WNIDS, allow_partial=allow_partial)
    info = TestSetInfo(name="imagenet-o", root=Path(root), scoring=imagenet_o_scoring())
    return TestSet(info, scanned.relpaths, scanned.labels)


def open_imagenet_o_clean(root: Path, *, allow_partial: bool = False, **val_options) -> TestSet:
    """ImageNet val under ``root`` restricted to ImageNet-O's 200 classes, labelled and scored
    like ``imagenet-o`` (label k: the k-th wnid)."""
    val = open_imagenet_val(root, name="imagenet-o-clean", allow_partial=allow_partial, **val_options)
    index = wnid_to_index()
    label_of_class = np.full(len(index), -1, dtype=np.int64)
    for k, w in enumerate(IMAGENET_O_WNIDS):
        label_of_class[index[w]] = k
    labels = label_of_class[val.labels]
    info = replace(val.info, scoring=imagenet_o_scoring(), variant={"classes": "imagenet-o"})
    return val.subset(labels >= 0, info, labels=labels)


IMAGENET_O = TestSetSpec(
    name="imagenet-o", opener=open_imagenet_o, layout=IMAGENET_O_LAYOUT, default_dir="imagenet-o",
    num_classes=200, num_images=NUM_IMAGENET_O_IMAGES, in_distribution="imagenet-o-clean",
    description="ImageNet-O (2,000 images of classes outside ImageNet-1k, 200 folders): an "
    "out-of-distribution detection set, scored by AUROC/AUPR against imagenet-o-clean with "
    "the softmax over its 200 classes; labels are folder positions, not ground truth.")
IMAGENET_O_CLEAN = TestSetSpec(
    name="imagenet-o-clean", opener=open_imagenet_o_clean, layout=VAL_LAYOUT, options=VAL_OPTIONS,
    num_classes=200, num_images=10_000,
    description="ImageNet val restricted to ImageNet-O's 200 classes, labelled and scored like "
    "imagenet-o: the in-distribution side of ImageNet-O's detection scores.", **VAL_DIRS)

SPECS = (IMAGENET_O, IMAGENET_O_CLEAN)
