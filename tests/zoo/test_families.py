"""The curated families must name real, pretrained, ImageNet-1k checkpoints of the installed
timm/torchvision, and kinds must follow the documented rule."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import timm
import torchvision.models
from timm.models import get_pretrained_cfg
from torchvision.models import get_model_weights

from robustness.zoo import FAMILIES, UnknownModelError, family_of, kind_of, list_family
from robustness.zoo.sources import parse_model_name

REQUIRED = {
    "resnet": "cnn", "convnext": "cnn", "efficientnet": "cnn", "regnet": "cnn",
    "mobilenet": "cnn", "densenet": "cnn", "vgg": "cnn",
    "vit": "vit", "deit": "vit", "swin": "vit", "beit": "vit", "eva": "vit",
}  # fmt: skip
CURATED = [name for name, spec in FAMILIES.items() if not spec.union_of]


def test_required_families_and_kinds_present() -> None:
    for name, kind in REQUIRED.items():
        assert FAMILIES[name].kind == kind


def test_families_file_is_plain_json_shipped_with_the_package() -> None:
    text = resources.files("robustness.zoo").joinpath("families.json").read_text()
    raw = json.loads(text)["families"]
    assert set(raw) == set(FAMILIES)


@pytest.mark.parametrize("family", CURATED)
def test_family_members_exist_and_score_imagenet1k(family: str) -> None:
    members = list_family(family)
    assert 5 <= len(members) <= 15
    assert len(set(members)) == len(members)
    pretrained = set(timm.list_models(pretrained=True))
    tv_archs = set(torchvision.models.list_models(module=torchvision.models))
    for name in members:
        parsed = parse_model_name(name)
        assert parsed.tag or parsed.source == "hf", f"{name}: family entries carry an explicit weight tag"
        if parsed.source == "openclip":  # zero-shot: every open_clip tag gets an ImageNet head
            open_clip = pytest.importorskip("open_clip")
            assert (parsed.architecture, parsed.tag) in open_clip.list_pretrained(), name
        elif parsed.source == "hf":  # the hub cannot be asked offline: checked when loaded
            assert parsed.architecture.count("/") == 1 and not parsed.tag, name
        elif parsed.source == "torchvision":
            assert parsed.architecture in tv_archs, name
            weights = get_model_weights(parsed.architecture)[parsed.tag]
            assert len(weights.meta["categories"]) == 1000, name
        else:
            assert name in pretrained, f"{name} is not a pretrained timm {timm.__version__} name"
            cfg = get_pretrained_cfg(name)
            assert cfg.num_classes == 1000 and "in1k" in parsed.tag.split("_"), name


@pytest.mark.parametrize(("aggregate", "kind"), [("all-cnn", "cnn"), ("all-vit", "vit")])
def test_aggregates_are_unions_of_their_kind(aggregate: str, kind: str) -> None:
    expected: list[str] = []
    for name in REQUIRED:
        if REQUIRED[name] == kind:
            expected.extend(list_family(name))
    members = list_family(aggregate)
    assert set(members) >= set(expected)
    assert all(FAMILIES[family_of(m)].kind == kind for m in members)
    assert len(members) == len(set(members))


def test_family_prefix_and_unknown_family() -> None:
    assert list_family("family:deit") == list_family("deit")
    with pytest.raises(UnknownModelError, match="Known families"):
        list_family("alexnets")
    with pytest.raises(UnknownModelError, match="did you mean vit"):
        list_family("vitt")


@pytest.mark.parametrize(
    ("name", "family", "kind"),
    [
        ("resnet50.gluon_in1k", "resnet", "cnn"),  # curated architecture, other weights
        ("tv:vit_b_32.IMAGENET1K_V1", None, "vit"),  # prefix rule, torchvision
        ("tv:maxvit_t.IMAGENET1K_V1", None, "vit"),
        ("tv:swin_s.IMAGENET1K_V1", None, "vit"),
        ("cait_s24_224.fb_dist_in1k", None, "vit"),
        ("xcit_tiny_12_p16_224.fb_in1k", None, "vit"),
        ("resnext50_32x4d.a1h_in1k", None, "cnn"),
        ("mixer_b16_224.goog_in21k_ft_in1k", None, "cnn"),  # no attention: cnn
        ("tv:alexnet.IMAGENET1K_V1", None, "cnn"),
    ],
)
def test_family_and_kind_rule(name: str, family: str | None, kind: str) -> None:
    assert family_of(name) == family
    assert kind_of(name) == kind
