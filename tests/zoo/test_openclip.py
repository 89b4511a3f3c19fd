"""``openclip:`` / ``openclip-local:``: zero-shot CLIP classifiers from open_clip, offline.

A tiny open_clip model (ViT width 32, one layer, 32 px; a one-layer text tower) is built from
its config with random weights and saved the way open_clip's caches hold it: the Hugging Face
hub cache layout for a registered (architecture, tag), and open_clip's own folder layout for
``openclip-local:``. Expectations are computed by hand from the model's towers.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

open_clip = pytest.importorskip("open_clip")

from robustness.cli import main  # noqa: E402
from robustness.datasets.classes import imagenet_wnids  # noqa: E402
from robustness.report.tables import models_table, units_frame  # noqa: E402
from robustness.store import Store  # noqa: E402
from robustness.zoo import load_model, resolve_model_names  # noqa: E402
from robustness.zoo.errors import UnknownModelError, WeightsNotFoundError  # noqa: E402

ARCH, TAG, REPO = "tiny-clip-test", "toy_s1k", "test-org/tiny-clip"
NAME = f"openclip:{ARCH}.{TAG}"
MODEL_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
MEAN, STD = (0.4, 0.45, 0.5), (0.25, 0.2, 0.3)
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def tiny(tmp_path, monkeypatch, offline_empty_caches):
    """Register the tiny architecture and tag with open_clip; save random weights into the hub cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, ARCH, MODEL_CFG)
    tag_cfg = {"hf_hub": f"{REPO}/", "url": "", "mean": MEAN, "std": STD,
               "interpolation": "bicubic", "resize_mode": "shortest"}
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, ARCH, {TAG: tag_cfg})
    torch.manual_seed(0)
    model = open_clip.create_model(ARCH, pretrained=None).eval()
    snapshot = offline_empty_caches["hf_hub"] / f"models--{REPO.replace('/', '--')}"
    (snapshot / "refs").mkdir(parents=True)
    (snapshot / "refs" / "main").write_text(COMMIT)
    folder = snapshot / "snapshots" / COMMIT
    folder.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    return model


def hand_head(model, classes: list[int], templates) -> torch.Tensor:
    """Per class: each prompt's text embedding normalised, averaged, normalised again."""
    tokenizer = open_clip.get_tokenizer(ARCH)
    names = open_clip.IMAGENET_CLASSNAMES
    rows = []
    with torch.no_grad():
        for c in classes:
            embeddings = [F.normalize(model.encode_text(tokenizer([t(names[c])]))[0], dim=-1)
                          for t in templates]
            rows.append(F.normalize(torch.stack(embeddings).mean(0), dim=-1))
    return torch.stack(rows)


def count_text_calls(monkeypatch) -> list[int]:
    calls = [0]
    original = open_clip.CLIP.encode_text

    def counting(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(open_clip.CLIP, "encode_text", counting)
    return calls


def test_metadata_is_importable_offline() -> None:
    from open_clip.zero_shot_metadata import (
        IMAGENET_CLASSNAMES,
        OPENAI_IMAGENET_TEMPLATES,
        SIMPLE_IMAGENET_TEMPLATES,
    )

    assert len(IMAGENET_CLASSNAMES) == 1000 and IMAGENET_CLASSNAMES[0] == "tench"
    assert (len(OPENAI_IMAGENET_TEMPLATES), len(SIMPLE_IMAGENET_TEMPLATES)) == (80, 7)


@pytest.mark.parametrize("templates", ["openai", "simple"])
def test_zero_shot_head_equals_hand_computation(tiny, templates) -> None:
    suffix = "" if templates == "openai" else "@simple"
    loaded = load_model(NAME + suffix)
    info = loaded.info
    assert (info.name, info.source, info.training, info.kind) == (NAME + suffix, "openclip", "zero-shot", "vit")
    assert info.head["templates"] == templates and info.head["n_templates"] == (80 if templates == "openai" else 7)
    assert info.weights == f"hf-cache:{REPO}" and len(info.weights_sha256) == 64
    # the tag's preprocessing: shorter side to 32, crop 32, its mean/std
    assert (info.img_size, info.crop_pct, info.interpolation, info.mean, info.std) == (32, 1.0, "bicubic", MEAN, STD)
    classes = [0, 1, 134, 517, 999]  # 134 and 517 are both 'crane' in WordNet; open_clip tells them apart
    attr = "OPENAI_IMAGENET_TEMPLATES" if templates == "openai" else "SIMPLE_IMAGENET_TEMPLATES"
    expected = hand_head(tiny, classes, getattr(open_clip, attr))
    torch.testing.assert_close(loaded.network.model.head[classes], expected, atol=1e-5, rtol=1e-4)
    x = torch.rand(3, 3, 32, 32)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        image = F.normalize(tiny.encode_image((x - mean) / std), dim=-1)
        logits = loaded.network(x)
    assert logits.shape == (3, 1000)
    torch.testing.assert_close(logits[:, classes], tiny.logit_scale.exp() * image @ expected.T,
                               atol=1e-4, rtol=1e-4)


def test_text_head_is_cached_across_units(tiny, tmp_path, monkeypatch) -> None:
    calls = count_text_calls(monkeypatch)
    data = tmp_path / "data"
    for c in (0, 1):
        folder = data / "imagenet" / "val" / imagenet_wnids()[c]
        folder.mkdir(parents=True)
        Image.new("RGB", (40, 36), (60 * c, 90, 30)).save(folder / "a.png")
    out = tmp_path / "out"

    def run(test_set: str) -> int:
        return main(["eval", "--models", NAME, "--test-sets", test_set, "--data-root", str(data),
                     "--allow-partial", "--no-baselines", "--out", str(out), "--device", "cpu",
                     "--workers", "0", "--batch-size", "2", "--no-progress"])

    assert run("imagenet") == 0
    first = calls[0]
    assert first == 100  # 1000 classes, 10 per text-tower call
    assert run("imagenet-c-inmemory.fog.1") == 0  # a second unit in a new process-like run
    assert calls[0] == first, "the second unit recomputed the text head"
    metas = [u.read_meta() for u in Store(out).iter_units()]
    assert len(metas) == 2 and {m["model"]["name"] for m in metas} == {NAME}
    heads = [m["model"]["head"] for m in metas]
    assert heads[0]["head_sha256"] == heads[1]["head_sha256"] and len(heads[0]["head_sha256"]) == 64
    assert sorted(h["computed"] for h in heads) == [False, True]
    assert all(m["model"]["training"] == "zero-shot" for m in metas)
    assert list(models_table(units_frame(Store(out)))["training"]) == ["zero-shot"]  # models.csv
    # another template set is another head (and another name)
    assert load_model(NAME + "@simple").info.head["head_sha256"] != heads[0]["head_sha256"]
    assert calls[0] > first


def test_local_folder_in_open_clip_layout(tiny, tmp_path) -> None:
    folder = tmp_path / "my-clip"
    folder.mkdir()
    config = {"model_cfg": MODEL_CFG, "preprocess_cfg": {"mean": MEAN, "std": STD, "resize_mode": "squash"},
              "harness": {"family": "clip-zeroshot"}}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    save_file({k: v.contiguous() for k, v in tiny.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    (name,) = resolve_model_names([f"openclip-local:{folder}"])
    assert name == f"openclip-local:{folder.resolve()}"
    loaded = load_model(name)
    assert (loaded.info.name, loaded.info.source, loaded.info.family) == ("my-clip", "openclip-local", "clip-zeroshot")
    assert loaded.transform_spec()["resize_mode"] == "squash"
    named = load_model(NAME)  # same weights, same templates: the same head
    torch.testing.assert_close(loaded.network.model.head, named.network.model.head)
    assert loaded.info.weights_sha256 == named.info.weights_sha256


def test_missing_weights_name_the_paths_searched(tiny, offline_empty_caches) -> None:
    import shutil

    shutil.rmtree(offline_empty_caches["hf_hub"])
    with pytest.raises(WeightsNotFoundError) as err:
        load_model(NAME)
    assert "models--test-org--tiny-clip" in str(err.value) and "offline" in str(err.value)


def test_unknown_names_and_template_sets(tiny) -> None:
    with pytest.raises(UnknownModelError, match="Tags for it: toy_s1k"):
        load_model(f"openclip:{ARCH}.nope")
    with pytest.raises(UnknownModelError, match="unknown template set"):
        load_model(NAME + "@fancy")
    assert resolve_model_names([f"openclip:{ARCH}.*"]) == [NAME]
    assert resolve_model_names([f"openclip:{ARCH}.*@simple"]) == [NAME + "@simple"]


def custom_head(model, names: list[str], templates: list[str]) -> torch.Tensor:
    """Per name: each template's text embedding normalised, averaged, normalised again."""
    tokenizer = open_clip.get_tokenizer(ARCH)
    with torch.no_grad():
        rows = [F.normalize(torch.stack([F.normalize(model.encode_text(tokenizer([t.format(n)]))[0], dim=-1)
                                         for t in templates]).mean(0), dim=-1) for n in names]
    return torch.stack(rows)


def clip_folder(tmp_path, model, zero_shot: dict) -> str:
    folder = tmp_path / "world-clip"
    folder.mkdir(parents=True, exist_ok=True)
    config = {"model_cfg": MODEL_CFG, "preprocess_cfg": {"mean": MEAN, "std": STD}, "zero_shot": zero_shot}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return f"openclip-local:{folder}"


def test_local_folder_with_its_own_class_names_and_templates(tiny, tmp_path) -> None:
    """A folder's zero_shot entry: rows for its named classes at their ImageNet indices, every
    other class a constant logit below all of them."""
    names = {107: "triangle", 7: "circle", 907: "crescent"}
    templates = ["a photo of a {}.", "a {} shape."]
    name = clip_folder(tmp_path, tiny, {"class_names": {str(k): v for k, v in names.items()},
                                        "templates": templates})
    loaded = load_model(name)
    info = loaded.info
    assert (info.name, info.training, info.num_classes) == ("world-clip", "zero-shot", 1000)
    assert info.head["templates"] == "checkpoint" and info.head["n_templates"] == 2
    assert "3 of 1000" in info.head["class_names"]
    order = sorted(names)  # rows in index order: 7, 107, 907
    expected = custom_head(tiny, [names[i] for i in order], templates)
    torch.testing.assert_close(loaded.network.model.head, expected, atol=1e-5, rtol=1e-4)
    x = torch.rand(4, 3, 32, 32)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        image = F.normalize(tiny.encode_image((x - mean) / std), dim=-1)
        logits = loaded.network(x)
    scale = float(tiny.logit_scale.detach().exp())
    assert logits.shape == (4, 1000)
    torch.testing.assert_close(logits[:, order], scale * image @ expected.T, atol=1e-4, rtol=1e-4)
    others = torch.ones(1000, dtype=torch.bool)
    others[order] = False
    assert torch.all(logits[:, others] == -scale - 1.0)  # below scale * cos for any cos >= -1
    assert set(logits.argmax(1).tolist()) <= set(order)
    # another placement of the same names is another head identity (and so another unit key)
    moved = clip_folder(tmp_path / "b", tiny, {"class_names": {"8": "circle", "107": "triangle",
                                                               "907": "crescent"}, "templates": templates})
    assert load_model(moved).info.head["head_sha256"] != info.head["head_sha256"]


def test_local_folder_class_names_with_a_named_template_set(tiny, tmp_path) -> None:
    name = clip_folder(tmp_path, tiny, {"class_names": {"5": "circle", "6": "square"}})
    loaded = load_model(name + "@simple")
    assert loaded.info.name == "world-clip@simple" and loaded.info.head["n_templates"] == 7
    expected = custom_head(tiny, ["circle", "square"], [t("{}") for t in open_clip.SIMPLE_IMAGENET_TEMPLATES])
    torch.testing.assert_close(loaded.network.model.head, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("zero_shot, message", [
    ({"class_names": {"1000": "circle"}}, "out of 0..999"),
    ({"class_names": {"x": "circle"}}, "ImageNet-1k indices"),
    ({"class_names": {"3": "circle"}, "templates": ["no placeholder"]}, "strings with"),
    ({"templates": ["a {}"]}, "needs 'class_names'"),
])
def test_malformed_zero_shot_entries_are_refused(tiny, tmp_path, zero_shot, message) -> None:
    with pytest.raises(ValueError, match=message):
        load_model(clip_folder(tmp_path, tiny, zero_shot))


def test_own_templates_refuse_a_template_suffix(tiny, tmp_path) -> None:
    name = clip_folder(tmp_path, tiny, {"class_names": {"3": "circle"}, "templates": ["a {}."]})
    with pytest.raises(ValueError, match="drop the @simple suffix"):
        load_model(name + "@simple")
