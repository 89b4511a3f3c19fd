"""Model sources as registrations: a toy source added through the public API alone works in
``load_model``, ``resolve_model_names``, ``--weights`` matching and the engine; the registry
refuses duplicate prefixes; the built-in sources keep their names and ``ModelInfo.source``.

The toy source (prefix ``toy:``) builds ``GrayNet``-like classifiers: an image of gray level v
is predicted as class v + offset, so the accuracy on a gray ImageNet-val tree is known.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
import torch
from fakes import gray_val_tree
from safetensors.torch import load_file, save_file

import robustness.zoo as zoo
from robustness.engine import EvalConfig, run_evaluation
from robustness.zoo import (
    SOURCES,
    EvalTransform,
    ModelName,
    ModelSource,
    UnknownModelError,
    UnsupportedLabelSpaceError,
    load_model,
    parse_model_name,
    register_source,
    resolve_model_names,
    source_for,
    unregister_source,
)
from robustness.zoo.resolve import match_weights

# toy catalogue: architecture -> (number of classes, prediction offset)
CATALOGUE = {"x": (1000, 0), "y": (1000, 3), "ten": (10, 0)}
TAG = "v1"


class ShiftNet(torch.nn.Module):
    """Logits peak at class round(255 * mean pixel) + offset (inputs in [0, 1])."""

    def __init__(self, num_classes: int, offset: int) -> None:
        super().__init__()
        self.offset = torch.nn.Parameter(torch.tensor(float(offset)), requires_grad=False)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = torch.round(x.mean(dim=(1, 2, 3)) * 255.0) + self.offset
        classes = torch.arange(self.num_classes, dtype=x.dtype, device=x.device)
        return -(classes[None, :] - level[:, None]).abs()


class ToySource:
    """``toy:ARCH[.v1]``: what a user writes in one file to add a model source."""

    prefix = "toy:"
    name = "toy"

    def owns(self, name: str) -> bool:
        return name.strip().startswith(self.prefix)

    def parse(self, name: str) -> ModelName:
        arch, _, tag = name.strip().removeprefix(self.prefix).partition(".")
        return ModelName(self.name, arch, tag, self.prefix)

    def canonical(self, name: str, check_label_space: bool = False) -> str:
        parsed = self.parse(name)
        if parsed.architecture not in CATALOGUE or parsed.tag not in ("", TAG):
            raise UnknownModelError(f"{name!r}: no such toy model")
        if check_label_space and CATALOGUE[parsed.architecture][0] != 1000:
            raise UnsupportedLabelSpaceError(f"{name}: a {CATALOGUE[parsed.architecture][0]}-way toy")
        return f"{self.prefix}{parsed.architecture}.{TAG}"

    def expand(self, pattern: str) -> list[str]:
        names = [f"{self.prefix}{arch}.{TAG}" for arch, (n, _) in CATALOGUE.items() if n == 1000]
        return [n for n in names if fnmatch.fnmatchcase(n, pattern)]

    def load(self, name, weights, pretrained, use_test_size):
        canonical = self.canonical(name)
        num_classes, offset = CATALOGUE[self.parse(name).architecture]
        sha256 = None
        if weights is not None:
            offset = int(load_file(str(weights))["head.bias"][0])
            sha256 = "0" * 64
        transform = EvalTransform(resize_size=8, crop_size=8, interpolation="bilinear",
                                  mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
        fields = {"name": canonical, "num_classes": num_classes,
                  "weights": str(weights) if weights else "toy-init", "weights_sha256": sha256,
                  "kind": "vit"}
        return ShiftNet(num_classes, offset), transform, fields


@pytest.fixture
def toy():
    source = register_source(ToySource())
    try:
        yield source
    finally:
        unregister_source("toy:")


def test_toy_source_loads_by_name(toy) -> None:
    assert isinstance(toy, ModelSource) and SOURCES["toy:"] is toy and source_for("toy:x") is toy
    loaded = load_model("toy:x")
    info = loaded.info
    assert (info.name, info.source, info.architecture) == ("toy:x.v1", "toy", "x")
    assert (info.family, info.kind, info.weights, info.weights_sha256) == (None, "vit", "toy-init", None)
    assert (info.img_size, info.crop_pct, info.num_classes) == (8, 1.0, 1000)
    gray = torch.full((2, 3, 8, 8), 40 / 255.0)
    with torch.no_grad():
        assert loaded.network(gray).argmax(1).tolist() == [40, 40]
        assert load_model("toy:y.v1").network(gray).argmax(1).tolist() == [43, 43]


def test_toy_source_in_selections_and_weights(toy, tmp_path: Path) -> None:
    assert resolve_model_names(["toy:*"]) == ["toy:x.v1", "toy:y.v1"]  # the 10-way one left out
    assert resolve_model_names("toy:y, resnet50, toy:y.v1") == ["toy:y.v1", "resnet50.a1_in1k"]
    assert zoo.canonical_model_name("toy:x") == "toy:x.v1"
    assert parse_model_name("toy:x.v1") == ModelName("toy", "x", "v1", "toy:")
    with pytest.raises(UnsupportedLabelSpaceError, match="10-way"):
        resolve_model_names(["toy:ten"])
    with pytest.raises(UnknownModelError, match="toy:nope"):
        resolve_model_names(["toy:nope*"])
    with pytest.raises(UnsupportedLabelSpaceError, match="10 classes"):
        load_model("toy:ten")  # the loader's own guard, whatever the source's canonical() says
    # --weights NAME=FILE: the short name reaches the run's canonical one, through the source
    file = tmp_path / "w.safetensors"
    save_file({"head.bias": torch.full((1000,), 5.0)}, str(file))
    assert match_weights({"toy:x": str(file)}, ["toy:x.v1"]) == {"toy:x.v1": str(file.resolve())}
    with torch.no_grad():
        logits = load_model("toy:x", weights=file).network(torch.full((1, 3, 8, 8), 40 / 255.0))
    assert logits.argmax(1).tolist() == [45]


def test_toy_source_through_the_engine(toy, tmp_path: Path) -> None:
    root = gray_val_tree(tmp_path / "data", range(30, 34), per_class=2)
    config = EvalConfig(batch_size=4, workers=0, device="cpu", precision="fp32", progress=False)
    summary = run_evaluation(["toy:x", "toy:y"], ["imagenet"], tmp_path / "out", data_root=root,
                             config=config, dataset_options={"imagenet": {"allow_partial": True}})
    assert summary.ok, (summary.model_errors, [r.error for r in summary.failed])
    by_model = {r.model: r for r in summary.results}
    assert set(by_model) == {"toy:x.v1", "toy:y.v1"}
    assert [by_model[m].status for m in ("toy:x.v1", "toy:y.v1")] == ["done", "done"]
    assert (by_model["toy:x.v1"].n, by_model["toy:x.v1"].top1) == (8, 100.0)
    assert by_model["toy:y.v1"].top1 == 0.0  # predicts level + 3
    meta = json.loads((Path(by_model["toy:x.v1"].path) / "meta.json").read_text())
    assert meta["model"]["name"] == "toy:x.v1" and meta["model"]["source"] == "toy"
    assert meta["top1"] == 100.0


def test_duplicate_and_malformed_prefixes_raise(toy) -> None:
    class Other(ToySource):
        name = "other"

    with pytest.raises(ValueError, match="already taken by model source 'toy'"):
        register_source(Other())
    for prefix, message in [("tv:", "'torchvision'"), ("local-dir:", "'local-dir'"),
                            ("timm:", "'timm'"), ("hf-hub:", "'timm'"),
                            ("family:", "reserved"), ("", "ending in ':'"), ("toy", "ending in ':'")]:
        source = Other()
        source.prefix = prefix
        with pytest.raises(ValueError, match=message):
            register_source(source)
    assert SOURCES["toy:"] is toy and set(SOURCES) == {"", "tv:", "local-dir:", "openclip:",
                                               "openclip-local:", "hf:", "toy:"}
    with pytest.raises(TypeError, match="load"):
        register_source(type("NoLoad", (), {"prefix": "noload:", "name": "n", "owns": None,
                                            "parse": None, "canonical": None, "expand": None})())
    with pytest.raises(TypeError):
        SOURCES["other:"] = Other()  # read-only view: only register_source adds
    with pytest.raises(ValueError, match="built-in"):
        unregister_source("tv:")


def test_unregistered_prefix_is_unknown_and_lists_the_known_ones() -> None:
    assert "toy:" not in SOURCES  # the fixture cleaned up
    with pytest.raises(UnknownModelError, match=r"'toy:'.*tv:, local-dir:.*register_source"):
        load_model("toy:x")
    with pytest.raises(UnknownModelError, match="'toy:'"):
        resolve_model_names(["toy:*"])
    assert match_weights({}, ["toy:x"]) == {}  # a user loader's own name is matched as written


@pytest.mark.parametrize(
    ("name", "source", "parsed"),
    [
        ("resnet50.a1_in1k", "timm", ModelName("timm", "resnet50", "a1_in1k")),
        ("timm:resnet50", "timm", ModelName("timm", "resnet50")),
        ("tv:resnet50.IMAGENET1K_V2", "torchvision", ModelName("torchvision", "resnet50", "IMAGENET1K_V2", "tv:")),
        ("local-dir:/m/a.b", "local-dir", ModelName("local-dir", "/m/a.b", "", "local-dir:")),
        ("openclip:ViT-B-32.openai", "openclip", ModelName("openclip", "ViT-B-32", "openai", "openclip:")),
        ("openclip:ViT-B-32.openai@simple", "openclip",
         ModelName("openclip", "ViT-B-32", "openai@simple", "openclip:")),
        ("openclip-local:/m/c@simple", "openclip-local",
         ModelName("openclip-local", "/m/c@simple", "", "openclip-local:")),
        ("hf:google/vit-base-patch16-224", "hf", ModelName("hf", "google/vit-base-patch16-224", "", "hf:")),
    ],
)
def test_builtin_sources_parse_and_spell_names_back(name: str, source: str, parsed: ModelName) -> None:
    assert source_for(name).name == source
    assert parse_model_name(name) == parsed
    assert str(parsed) == name.removeprefix("timm:")
