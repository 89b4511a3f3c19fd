"""``local-dir:`` models: timm's hub export folder (config.json + model.safetensors)."""

from __future__ import annotations

import json

import pytest
import timm
import torch
from safetensors.torch import save_file

from robustness.zoo import load_model, resolve_model_names
from robustness.zoo.errors import UnsupportedLabelSpaceError, WeightsNotFoundError

ARGS = {"channels": [8, 16, 32, 64], "stem_width": 8}
CFG = {"input_size": [3, 48, 48], "crop_pct": 0.75, "interpolation": "bicubic",
       "mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3], "num_classes": 1000}


def export(folder, num_classes=1000, harness=None):
    torch.manual_seed(0)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=num_classes, **ARGS).eval()
    folder.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    config = {"architecture": "resnet10t", "num_classes": num_classes, "model_args": ARGS,
              "pretrained_cfg": {**CFG, "num_classes": num_classes}}
    if harness:
        config["harness"] = harness
    (folder / "config.json").write_text(json.dumps(config))
    return model


def test_folder_loads_with_its_own_config_and_same_outputs(tmp_path):
    ref = export(tmp_path / "tiny-resnet", harness={"family": "resnet", "kind": "cnn"})
    loaded = load_model(f"local-dir:{tmp_path / 'tiny-resnet'}")
    assert loaded.info.name == "tiny-resnet" and loaded.info.source == "local-dir"
    assert (loaded.info.img_size, loaded.info.crop_pct, loaded.info.interpolation) == (48, 0.75, "bicubic")
    assert loaded.info.family == "resnet" and loaded.info.kind == "cnn"
    assert len(loaded.info.weights_sha256) == 64
    x = torch.rand(2, 3, 48, 48)
    mean = torch.tensor(CFG["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(CFG["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.network(x), ref((x - mean) / std))
    # resize the shorter side to 48 / 0.75 = 64, then crop 48
    assert loaded.transform_spec()["resize_size"] in (64, [64], (64,))


def test_resolve_keeps_the_folder_and_errors_name_it(tmp_path):
    export(tmp_path / "m")
    (name,) = resolve_model_names([f"local-dir:{tmp_path / 'm'}"])
    assert name == f"local-dir:{(tmp_path / 'm').resolve()}"
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsNotFoundError, match="config.json"):
        load_model(f"local-dir:{tmp_path / 'empty'}")


def test_non_imagenet_head_is_refused(tmp_path):
    export(tmp_path / "ten", num_classes=10)
    with pytest.raises(UnsupportedLabelSpaceError, match="10 classes"):
        load_model(f"local-dir:{tmp_path / 'ten'}")


def test_wildcard_expands_to_imagenet_folders_and_explicit_ten_class_folder_is_refused(tmp_path):
    for name in ("b", "a"):
        export(tmp_path / "zoo" / name)
    export(tmp_path / "zoo" / "ten", num_classes=10)
    (tmp_path / "zoo" / "no-weights").mkdir()
    (tmp_path / "zoo" / "no-weights" / "config.json").write_text("{}")
    zoo_dir = (tmp_path / "zoo").resolve()
    assert resolve_model_names([f"local-dir:{tmp_path / 'zoo'}/*"]) == [
        f"local-dir:{zoo_dir / 'a'}", f"local-dir:{zoo_dir / 'b'}"]
    with pytest.raises(UnsupportedLabelSpaceError, match="10 classes"):
        resolve_model_names([f"local-dir:{tmp_path / 'zoo' / 'ten'}"])
    # a folder whose own name looks like a pattern is that folder, not a pattern
    export(tmp_path / "run[1]")
    assert resolve_model_names([f"local-dir:{tmp_path / 'run[1]'}"]) == [
        f"local-dir:{(tmp_path / 'run[1]').resolve()}"]
    assert load_model(f"local-dir:{tmp_path / 'zoo' / 'a'}").info.source == "local-dir"
