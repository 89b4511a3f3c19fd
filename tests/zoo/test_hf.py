"""``hf:`` models: transformers image classifiers from the Hugging Face cache or a folder, offline.

Tiny ViT / ConvNeXt classifiers are built from their configs with random weights and saved with
``save_pretrained`` into the hub cache layout (``models--org--name/snapshots/<commit>``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

transformers = pytest.importorskip("transformers")

from robustness.cli import main  # noqa: E402
from robustness.datasets.classes import imagenet_names, imagenet_wnids  # noqa: E402
from robustness.store import Store  # noqa: E402
from robustness.zoo import load_model, resolve_model_names  # noqa: E402
from robustness.zoo.errors import (  # noqa: E402
    UnknownModelError,
    UnsupportedLabelSpaceError,
    WeightsNotFoundError,
)
from robustness.zoo.hf_models import imagenet_label_order  # noqa: E402

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


def save_to_cache(hub, repo, model, processor):
    root = hub / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(COMMIT)
    folder = root / "snapshots" / COMMIT
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    return folder


def tiny_vit(labels: list[str], seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.ViTConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        image_size=32, patch_size=8, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    return transformers.ViTForImageClassification(config).eval()


def vit_processor():
    return transformers.ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=MEAN,
                                          image_std=STD, resample=3)


def raw_logits(model, x):
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        return model(pixel_values=(x - mean) / std).logits


def test_imagenet_order_loads_by_name_with_the_processors_preprocessing(offline_empty_caches) -> None:
    model = tiny_vit(list(imagenet_names()))
    save_to_cache(offline_empty_caches["hf_hub"], "test-org/tiny-vit", model, vit_processor())
    (name,) = resolve_model_names(["hf:test-org/tiny-vit"])
    loaded = load_model(name)
    info = loaded.info
    assert (info.name, info.source, info.training, info.kind) == ("hf:test-org/tiny-vit", "hf", "imagenet-trained", "vit")
    assert info.head["label_order"] == "imagenet-1k" and info.head["label_map"] is None
    assert info.weights == "hf-cache:test-org/tiny-vit" and len(info.weights_sha256) == 64
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.network(x), raw_logits(model, x))
    # our transform + the folded normalisation give the processor's pixel values
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (45, 60, 3), dtype=np.uint8))
    ours = loaded.network.mean.new_tensor(np.asarray(loaded.transform(image), dtype=np.float32) / 255)
    ours = (ours.permute(2, 0, 1)[None] - loaded.network.mean) / loaded.network.std
    theirs = vit_processor()(images=image, return_tensors="pt")["pixel_values"]
    assert ours.shape == theirs.shape == (1, 3, 32, 32)
    assert (ours - theirs).abs().max() < 0.05  # PIL vs tensor resize: one grey level of rounding


def test_permuted_id2label_is_mapped_back_and_recorded(offline_empty_caches, tmp_path) -> None:
    names = list(imagenet_names())
    perm = np.random.default_rng(1).permutation(1000)  # output j scores our class perm[j]
    model = tiny_vit([names[c] for c in perm])
    save_to_cache(offline_empty_caches["hf_hub"], "test-org/shuffled", model, vit_processor())
    loaded = load_model("hf:test-org/shuffled")
    x = torch.rand(2, 3, 32, 32)
    raw = raw_logits(model, x)
    with torch.no_grad():
        ours = loaded.network(x)
    for j in (0, 7, 500, 999):
        torch.testing.assert_close(ours[:, perm[j]], raw[:, j])
    head = loaded.info.head
    assert head["label_order"] == "mapped-by-name" and [head["label_map"][perm[j]] for j in range(3)] == [0, 1, 2]
    # through `robustness eval` by name: the mapping is in the unit's metadata
    folder = tmp_path / "data" / "imagenet" / "val" / imagenet_wnids()[3]
    folder.mkdir(parents=True)
    Image.new("RGB", (40, 40), (10, 200, 30)).save(folder / "a.png")
    assert main(["eval", "--models", "hf:test-org/shuffled", "--test-sets", "imagenet", "--data-root",
                 str(tmp_path / "data"), "--allow-partial", "--out", str(tmp_path / "out"), "--device",
                 "cpu", "--workers", "0", "--no-progress"]) == 0
    (unit,) = Store(tmp_path / "out").iter_units()
    meta = unit.read_meta()["model"]
    assert meta["head"]["label_map"] == head["label_map"] and meta["training"] == "imagenet-trained"


def test_label_rule_accepts_wnids_first_lemmas_and_the_two_cranes() -> None:
    names, wnids = list(imagenet_names()), list(imagenet_wnids())
    assert imagenet_label_order(dict(enumerate(names))) == list(range(1000))
    assert imagenet_label_order({str(i): w for i, w in enumerate(wnids)}) == list(range(1000))
    short = list(names)
    short[0], short[1], short[2] = "TENCH", " goldfish ", "Great  White Shark"
    assert imagenet_label_order(dict(enumerate(short))) == list(range(1000))
    swapped = dict(enumerate(names))
    swapped[0], swapped[1] = names[1], names[0]
    order = imagenet_label_order(swapped)
    assert order[:2] == [1, 0] and order[2:] == list(range(2, 1000))


def test_non_imagenet_heads_are_refused(offline_empty_caches) -> None:
    save_to_cache(offline_empty_caches["hf_hub"], "test-org/ten", tiny_vit([f"c{i}" for i in range(10)]),
                  vit_processor())
    with pytest.raises(UnsupportedLabelSpaceError, match="declares 10 labels"):
        load_model("hf:test-org/ten")
    generic = tiny_vit([f"LABEL_{i}" for i in range(1000)])
    save_to_cache(offline_empty_caches["hf_hub"], "test-org/generic", generic, vit_processor())
    with pytest.raises(UnsupportedLabelSpaceError, match="1000 of 1000 labels"):
        load_model("hf:test-org/generic")
    with pytest.raises(UnknownModelError, match="matches no"):  # wildcards skip them
        resolve_model_names(["hf:test-org/*"])


def test_convnext_processor_crop_pct_and_folder_names(tmp_path) -> None:
    torch.manual_seed(0)
    config = transformers.ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2,
                                         num_labels=1000, id2label=dict(enumerate(imagenet_names())))
    model = transformers.ConvNextForImageClassification(config).eval()
    processor = transformers.ConvNextImageProcessor(size={"shortest_edge": 56}, crop_pct=0.875,
                                                    image_mean=MEAN, image_std=STD, resample=2)
    folder = tmp_path / "my convnext"
    model.save_pretrained(str(folder))
    processor.save_pretrained(str(folder))
    loaded = load_model(f"hf:{folder}")
    assert loaded.info.name == f"hf:{folder.resolve()}" and loaded.info.kind == "cnn"
    spec = loaded.transform_spec()
    assert (spec["resize_size"], spec["crop_size"], spec["interpolation"]) == (64, 56, "bilinear")
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 80, 3), dtype=np.uint8))
    ours = torch.from_numpy(np.asarray(loaded.transform(image), dtype=np.float32) / 255).permute(2, 0, 1)[None]
    ours = (ours - loaded.network.mean) / loaded.network.std
    theirs = processor(images=image, return_tensors="pt")["pixel_values"]
    assert ours.shape == theirs.shape and (ours - theirs).abs().max() < 0.05
    with pytest.raises(ValueError, match="weights="):
        load_model(f"hf:{folder}", weights=tmp_path / "w.safetensors")


def test_missing_checkpoint_names_the_cache_folder(offline_empty_caches) -> None:
    with pytest.raises(WeightsNotFoundError) as err:
        load_model("hf:google/vit-base-patch16-224")
    assert str(offline_empty_caches["hf_hub"] / "models--google--vit-base-patch16-224") in str(err.value)
