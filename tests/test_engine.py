"""The evaluation engine on stand-ins with hand-computed answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import GrayModel, GraySet

from robustness.datasets.base import Scoring
from robustness.engine import EvalConfig, evaluate_unit, run_evaluation
from robustness.errors import UserInputError
from robustness.store import Store, Unit

CFG = EvalConfig(batch_size=4, workers=0, device="cpu", progress=False, checkpoint_every=4)


def gray_set(n=10, name="imagenet", wrong=(1, 5), **kw):
    levels = [10 + 3 * i for i in range(n)]
    labels = [lv if i not in wrong else lv + 1 for i, lv in enumerate(levels)]
    return GraySet(name, levels, labels, **kw)


def test_unit_records_match_hand_computed_predictions(tmp_path):
    ds = gray_set()
    res = evaluate_unit(GrayModel(), ds, Store(tmp_path), CFG)
    assert res.status == "done" and res.n == 10
    assert res.top1 == pytest.approx(80.0)
    unit = Store(tmp_path).unit("gray.a", "imagenet", res.key)
    rec = Unit(unit.root).records().to_arrays()
    assert list(rec["index"]) == list(range(10))
    assert list(rec["top5"][:, 0]) == ds.levels
    # the second guess is a neighbouring gray level (|class - level| = 1), so top-5 catches off-by-one labels
    assert rec["correct1"].tolist() == [i not in (1, 5) for i in range(10)]
    assert rec["correct5"].all()
    meta = unit.read_meta()
    assert meta["n"] == 10 and meta["top1"] == pytest.approx(80.0)
    assert "torch" in meta["versions"]


def test_finished_unit_is_not_recomputed(tmp_path):
    store = Store(tmp_path)
    first = evaluate_unit(GrayModel(), gray_set(), store, CFG)
    again = evaluate_unit(GrayModel(), gray_set(delay=10.0), store, CFG)  # would take 100 s if recomputed
    assert again.status == "cached" and again.key == first.key


def test_subset_scoring_restricts_predictions(tmp_path):
    # classes 40..49 only; image gray level 30 is predicted 1000-way as class 30,
    # restricted to the subset as class 40 (the closest allowed class).
    subset = tuple(range(40, 50))
    ds = GraySet("imagenet-r", [30, 45, 48], [40, 45, 47], scoring=Scoring(class_subset=subset, name="r"),
                 baseline="imagenet-r-clean")
    res = evaluate_unit(GrayModel(), ds, Store(tmp_path), CFG)
    rec = Unit(Store(tmp_path).unit("gray.a", "imagenet-r", res.key).root).records().to_arrays()
    assert rec["correct1"].tolist() == [True, True, False]
    assert rec["correct1_all"].tolist() == [False, True, False]
    assert rec["top5"][0].tolist()[0] == 40


def test_bad_image_fails_the_unit_with_its_path_and_others_continue(tmp_path):
    sets = {"imagenet": gray_set(bad={3}, root="/data/val"), "imagenetv2-matched-frequency": gray_set(
        name="imagenetv2-matched-frequency")}
    summary = run_evaluation(["gray.a"], list(sets), tmp_path, config=CFG,
                             load_model=lambda name, weights, device: GrayModel(name),
                             open_test_set=lambda name, root_dir, root=None: sets[name])
    assert not summary.ok
    (failed,) = summary.failed
    assert failed.test_set == "imagenet"
    assert "/data/val/c0019/img00003.png" in failed.error
    assert "--skip-bad-images" in failed.error
    assert [r.status for r in summary.results] == ["failed", "done"]
    errors = list(Store(tmp_path).iter_errors())
    assert len(errors) == 1 and "img00003" in errors[0][1]["error"]


def test_skip_bad_images_counts_them_in_metadata(tmp_path):
    cfg = EvalConfig(**{**CFG.__dict__, "skip_bad_images": True})
    res = evaluate_unit(GrayModel(), gray_set(bad={3, 7}), Store(tmp_path), cfg)
    assert res.n == 8
    meta = Store(tmp_path).unit("gray.a", "imagenet", res.key).read_meta()
    assert [s["relpath"] for s in meta["skipped_images"]] == ["c0019/img00003.png", "c0031/img00007.png"]
    # 8 evaluated; wrong labels at 1 and 5 -> 6 of 8 correct
    assert meta["top1"] == pytest.approx(75.0)


RUNNER = """
import sys
sys.path.insert(0, {tests!r})
from fakes import GrayModel, GraySet
from robustness.engine import EvalConfig, evaluate_unit
from robustness.store import Store
levels = [(7 * i) % 250 for i in range(40)]
labels = [lv if i % 3 else lv + 2 for i, lv in enumerate(levels)]
ds = GraySet("imagenet", levels, labels, delay={delay})
cfg = EvalConfig(batch_size=4, workers=0, device="cpu", progress=False, checkpoint_every=8)
evaluate_unit(GrayModel(), ds, Store({out!r}), cfg)
"""


def _runner(out: Path, delay: float) -> list[str]:
    code = RUNNER.format(tests=str(Path(__file__).parent), out=str(out), delay=delay)
    return [sys.executable, "-c", code]


def test_resume_after_sigkill_gives_identical_records(tmp_path):
    ref_out, killed_out = tmp_path / "ref", tmp_path / "killed"
    subprocess.run(_runner(ref_out, 0.0), check=True)
    proc = subprocess.Popen(_runner(killed_out, 0.05))
    deadline = time.time() + 120
    parts = []
    while time.time() < deadline and proc.poll() is None:
        parts = list(killed_out.glob("units/*/*/*/parts/part-*.npz"))
        if len(parts) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not list(killed_out.glob("units/*/*/*/meta.json")), "killed mid-unit: nothing finished yet"
    subprocess.run(_runner(killed_out, 0.0), check=True)
    (ref_unit,) = Store(ref_out).iter_units()
    (res_unit,) = Store(killed_out).iter_units()
    assert res_unit.read_meta()["resumed_from"] >= 8
    a, b = Unit(ref_unit.root).records().to_arrays(), Unit(res_unit.root).records().to_arrays()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert ref_unit.root.name == res_unit.root.name  # same key
    assert not (res_unit.root / "parts").exists()


def test_unit_key_changes_with_precision_and_scoring(tmp_path):
    store = Store(tmp_path)
    a = evaluate_unit(GrayModel(), gray_set(), store, CFG)
    b = evaluate_unit(GrayModel(), gray_set(), store, EvalConfig(**{**CFG.__dict__, "precision": "bf16"}))
    c = evaluate_unit(GrayModel(), gray_set(scoring=Scoring(class_subset=tuple(range(100)), name="s")),
                      store, CFG)
    assert len({a.key, b.key, c.key}) == 3
    spec = json.loads((store.unit("gray.a", "imagenet", a.key).root / "spec.json").read_text())
    assert spec["precision"] == "fp32"


def _framed_c_tree(root: Path, level: int) -> Path:
    """``root/imagenet-c/fog/1/<wnid of class level>/a.png``: a 224 px black image whose
    center 8 x 8 pixels have gray ``level``."""
    from PIL import Image

    from robustness.datasets.classes import imagenet_wnids

    pixels = np.zeros((224, 224, 3), dtype=np.uint8)
    pixels[108:116, 108:116] = level
    folder = root / "imagenet-c" / "fog" / "1" / imagenet_wnids()[level]
    folder.mkdir(parents=True)
    Image.fromarray(pixels).save(folder / "a.png")
    return root


def test_center_crop_geometry_feeds_the_center_of_a_precropped_image(tmp_path):
    """geometry=center-crop (ImageNet-C test.py's CenterCrop, no resize): GrayModel's 8 px
    input is the 8 x 8 center (gray 200: class 200, correct); the default resizes the whole
    224 px image to 8 px (mean about 0.26: class 0, wrong). The option is a new unit."""
    from robustness.datasets.registry import open_test_set

    data = _framed_c_tree(tmp_path / "data", 200)
    store = Store(tmp_path / "out")
    default = open_test_set("imagenet-c.fog.1", data, allow_partial=True)
    cropped = open_test_set("imagenet-c.fog.1", data, allow_partial=True, geometry="center-crop")
    assert "geometry" not in default.info.variant  # unit keys without the option are unchanged
    first = evaluate_unit(GrayModel(), default, store, CFG)
    second = evaluate_unit(GrayModel(), cropped, store, CFG)
    assert (first.top1, second.top1) == (0.0, 100.0)
    assert first.key != second.key and second.status == "done"
    recs = {r.key: Unit(r.path).records().to_arrays()["top5"][0, 0] for r in (first, second)}
    assert recs == {first.key: 0, second.key: 200}
    meta = Unit(second.path).meta
    assert meta["transform"]["geometry"] == "center-crop" and "geometry" not in Unit(first.path).meta["transform"]
    with pytest.raises(UserInputError, match="geometry='crop'.*model, center-crop"):
        open_test_set("imagenet-c.fog.1", data, allow_partial=True, geometry="crop")


def test_center_crop_geometry_refuses_to_zero_pad_for_a_larger_model_input(tmp_path):
    """A 300 px model on 224 px images under geometry=center-crop would see a zero-padded
    frame: a user error saying why and what to do, and no unit is stored."""
    from dataclasses import replace

    from robustness.datasets.registry import open_test_set

    data = _framed_c_tree(tmp_path / "data", 200)
    model = GrayModel()
    model.info = replace(model.info, img_size=300)
    cropped = open_test_set("imagenet-c.fog.1", data, allow_partial=True, geometry="center-crop")
    store = Store(tmp_path / "out")
    with pytest.raises(UserInputError, match="224 x 224 px image is smaller than the model's "
                                             "300 px input.*default geometry"):
        evaluate_unit(model, cropped, store, CFG)
    assert not list(store.finished_units())
