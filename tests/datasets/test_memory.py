"""ImageNet-C rendered in memory (robustness/datasets/memory.py) against the builder's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dataset_trees import GOLDFISH, TENCH, val_name
from fakes import GrayModel
from PIL import Image

from robustness.datasets import expand_dataset_names, open_test_set
from robustness.engine import EvalConfig, run_evaluation
from robustness.store import Store, Unit

CFG = EvalConfig(batch_size=3, workers=2, device="cpu", progress=False, checkpoint_every=3)


def textured_val(data_root: Path) -> Path:
    """imagenet/val with 3 + 3 photographs-like images (gradients and noise, 40 x 52)."""
    rng = np.random.RandomState(0)
    val = data_root / "imagenet" / "val"
    for k, wnid in enumerate((TENCH, GOLDFISH)):
        (val / wnid).mkdir(parents=True)
        for i in range(3):
            ramp = np.linspace(0, 255, 52)[None, :, None] * np.ones((40, 1, 3))
            image = np.clip(ramp * (0.3 + 0.2 * i) + rng.randint(0, 60, (40, 52, 3)) + 40 * k, 0, 255)
            Image.fromarray(image.astype(np.uint8)).save(val / wnid / val_name(10 * k + i, "png"))
    return val


def test_pixels_equal_the_builders_png_files(tmp_path):
    from corruptions.builder import build_corrupted_set

    val = textured_val(tmp_path)
    build_corrupted_set(val, tmp_path / "built", corruptions="glass_blur", severities="2",
                        seed=5, format="png", progress=False)  # fmt: skip
    rendered = open_test_set("imagenet-c-inmemory.glass_blur.2", tmp_path, seed=5, allow_partial=True)
    assert len(rendered) == 6 and rendered.info.baseline == "imagenet"
    for i in range(len(rendered)):
        image, label, index, relpath = rendered[i]
        on_disk = np.asarray(Image.open(tmp_path / "built" / "glass_blur" / "2" / relpath))
        np.testing.assert_array_equal(np.asarray(image), on_disk)
        assert image.size == (224, 224) and index == i
    other_seed = open_test_set("imagenet-c-inmemory.glass_blur.2", tmp_path, seed=6, allow_partial=True)
    assert not np.array_equal(np.asarray(other_seed[0][0]), np.asarray(rendered[0][0]))


def test_engine_evaluates_it_like_the_files_and_keys_the_seed(tmp_path):
    """Same pixels -> the same per-image predictions as the PNG files read from disk, through
    the engine with DataLoader workers; another seed is another unit."""
    from corruptions.builder import build_corrupted_set

    textured_val(tmp_path)
    build_corrupted_set(tmp_path / "imagenet" / "val", tmp_path / "imagenet-c", corruptions="gaussian_noise",
                        severities="4", seed=5, format="png", progress=False)  # fmt: skip
    load = lambda name, weights, device: GrayModel(name)  # noqa: E731
    options = {"imagenet-c-inmemory": {"seed": 5}, "imagenet-c": {}}
    summary = run_evaluation(["gray.a"], ["imagenet-c-inmemory.gaussian_noise.4", "imagenet-c.gaussian_noise.4"],
                             tmp_path / "out", data_root=tmp_path, config=CFG, load_model=load,
                             dataset_options={k: {**v, "allow_partial": True} for k, v in options.items()})  # fmt: skip
    assert summary.ok, summary.failed
    store = Store(tmp_path / "out")
    by_set = {r.test_set: Unit(store.unit("gray.a", r.test_set, r.key).root).records().to_arrays() for r in summary.results}
    memory, files = by_set["imagenet-c-inmemory.gaussian_noise.4"], by_set["imagenet-c.gaussian_noise.4"]
    assert list(memory["relpath"]) == list(files["relpath"])
    np.testing.assert_array_equal(memory["top5"], files["top5"])
    np.testing.assert_array_equal(memory["correct1"], files["correct1"])

    again = run_evaluation(["gray.a"], ["imagenet-c-inmemory.gaussian_noise.4"], tmp_path / "out",
                           data_root=tmp_path, config=CFG, load_model=load,
                           dataset_options={"imagenet-c-inmemory": {"seed": 6, "allow_partial": True}})  # fmt: skip
    assert again.results[0].status == "done"  # not the cached seed-5 unit
    assert again.results[0].key != summary.results[0].key

    # geometry=center-crop (ImageNet-C test.py's crop, no resize), for the files and the
    # in-memory set alike: equal to each other, new units, recorded in meta.json
    options = {"imagenet-c-inmemory": {"seed": 5}, "imagenet-c": {}}
    cropped = run_evaluation(["gray.a"], ["imagenet-c-inmemory.gaussian_noise.4", "imagenet-c.gaussian_noise.4"],
                             tmp_path / "out", data_root=tmp_path, config=CFG, load_model=load,
                             dataset_options={k: {**v, "allow_partial": True, "geometry": "center-crop"}
                                              for k, v in options.items()})  # fmt: skip
    assert cropped.ok and all(r.status == "done" for r in cropped.results)
    units = {r.test_set: Unit(store.unit("gray.a", r.test_set, r.key).root) for r in cropped.results}
    memory, files = (units[n].records().to_arrays() for n in ("imagenet-c-inmemory.gaussian_noise.4",
                                                             "imagenet-c.gaussian_noise.4"))
    np.testing.assert_array_equal(memory["top5"], files["top5"])
    assert all(u.meta["transform"]["geometry"] == "center-crop" for u in units.values())
    assert not np.array_equal(files["top5"], by_set["imagenet-c.gaussian_noise.4"]["top5"])


def test_names_expansion_and_errors(tmp_path):
    names = expand_dataset_names(["imagenet-c-inmemory"], None)
    assert len(names) == 95 and names[0] == "imagenet-c-inmemory.gaussian_noise.1"
    assert names[-1] == "imagenet-c-inmemory.saturate.5"
    assert expand_dataset_names(["imagenet-c-inmemory.fog"], None)[2] == "imagenet-c-inmemory.fog.3"
    textured_val(tmp_path)
    with pytest.raises(ValueError, match="not one of the generator's ImageNet-C corruptions"):
        open_test_set("imagenet-c-inmemory.sparkles.1", tmp_path, allow_partial=True)
    with pytest.raises(ValueError, match="unknown option"):
        open_test_set("imagenet-c-inmemory.fog.1", tmp_path, allow_partial=True, colour="red")
