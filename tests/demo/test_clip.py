"""The demo's tiny CLIP: captions, the contrastive loss, and its folder read by ``openclip-local:``.

Fast checks; the trained model's place in the demo's tables is checked on the reduced demo
(tests/demo/test_demo_run.py).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace

import pytest
import torch

pytest.importorskip("open_clip")

from robustness.demo.clip import (  # noqa: E402
    TEMPLATES,
    TinyClipSpec,
    caption_ids,
    clip_loss,
    create,
    model_reference,
    prompts,
    save_open_clip_folder,
    world_class_names,
)
from robustness.demo.collect import CLASS_INDICES  # noqa: E402
from robustness.demo.world import SHAPES  # noqa: E402


def test_each_image_gets_a_caption_naming_its_class() -> None:
    names = ["circle", "star", "ring"]
    texts = prompts(names, TEMPLATES)
    assert len(texts) == 3 * len(TEMPLATES) and texts[0] == "a photo of a circle."
    classes = torch.tensor([0, 1, 2, 2, 1, 0] * 20)
    ids = caption_ids(classes, len(TEMPLATES), torch.Generator().manual_seed(0))
    for c, i in zip(classes.tolist(), ids.tolist()):
        words = set(re.findall(r"[a-z]+", texts[i]))
        assert words & set(names) == {names[c]}
    assert len(set(ids.tolist())) > 3  # templates vary


def test_clip_loss_is_symmetric_infonce() -> None:
    g = torch.Generator().manual_seed(1)
    image = torch.nn.functional.normalize(torch.randn(5, 4, generator=g), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(5, 4, generator=g), dim=-1)
    scale = math.log(7.0)
    s = 7.0 * (image @ text.T)  # (5, 5) scaled cosine similarities
    i2t = -sum(s[i, i] - torch.logsumexp(s[i, :], 0) for i in range(5)) / 5
    t2i = -sum(s[i, i] - torch.logsumexp(s[:, i], 0) for i in range(5)) / 5
    got = clip_loss(image, text, torch.tensor(scale))
    torch.testing.assert_close(got, (i2t + t2i) / 2)
    # perfectly matched pairs far apart from the rest: the loss goes to zero
    eye = torch.eye(5)
    assert float(clip_loss(eye, eye, torch.tensor(math.log(100.0)))) < 1e-6


def test_saved_folder_loads_as_a_zero_shot_model_over_the_world_classes(tmp_path) -> None:
    from robustness.zoo import load_model

    spec = replace(TinyClipSpec(), vision_layers=1, epochs=1)
    torch.manual_seed(0)
    model = create(spec).eval()
    folder = tmp_path / "demo-clip"
    save_open_clip_folder(model, spec, folder, world_class_names(10), {"training": {}})
    config = json.loads((folder / "open_clip_config.json").read_text())
    assert config["zero_shot"]["class_names"] == {str(CLASS_INDICES[k]): SHAPES[k] for k in range(10)}
    assert model_reference(folder) == f"openclip-local:{folder}"
    assert model_reference(tmp_path / "some-timm-folder") == f"local-dir:{tmp_path / 'some-timm-folder'}"
    loaded = load_model(model_reference(folder))
    assert (loaded.info.name, loaded.info.family, loaded.info.training) == ("demo-clip", "clip", "zero-shot")
    assert (loaded.info.img_size, loaded.info.mean) == (64, (0.5, 0.5, 0.5))
    with torch.no_grad():
        logits = loaded.network(torch.rand(6, 3, 64, 64))
    assert logits.shape == (6, 1000)
    assert set(logits.argmax(1).tolist()) <= set(CLASS_INDICES)


def test_the_demo_goes_on_without_the_clip_when_open_clip_is_missing(tmp_path, monkeypatch) -> None:
    import importlib.util

    from robustness.demo.run import reduced_config, train_zero_shot

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "open_clip" else real(name, *a))
    said: list[str] = []
    assert train_zero_shot(reduced_config(), tmp_path, tmp_path, progress=False, echo=said.append) == []
    assert len(said) == 1 and "open_clip is not installed" in said[0]
    off = replace(reduced_config(), zero_shot=False)
    assert train_zero_shot(off, tmp_path, tmp_path, progress=False, echo=said.append) == [] and len(said) == 1
