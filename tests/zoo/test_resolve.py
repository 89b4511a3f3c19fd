"""resolve_model_names: families, wildcards, default tags, order and de-duplication."""

from __future__ import annotations

import fnmatch

import pytest
import timm
from timm.models import get_pretrained_cfg
from torchvision.models import get_model_weights

from robustness.zoo import (
    UnknownModelError,
    UnsupportedLabelSpaceError,
    list_family,
    resolve_model_names,
)


def test_plain_names_get_their_default_weight_tag() -> None:
    resolved = resolve_model_names(["resnet50", "tv:resnet50", "deit_small_patch16_224.fb_in1k"])
    assert resolved == [
        f"resnet50.{get_pretrained_cfg('resnet50').tag}",
        f"tv:resnet50.{get_model_weights('resnet50').DEFAULT.name}",
        "deit_small_patch16_224.fb_in1k",
    ]
    assert resolved[:2] == ["resnet50.a1_in1k", "tv:resnet50.IMAGENET1K_V2"]


def test_families_expand_in_both_spellings() -> None:
    assert resolve_model_names("family:beit") == list_family("beit")
    assert resolve_model_names(["vgg"]) == list_family("vgg")


def test_timm_wildcard_matches_timm_listing_restricted_to_in1k() -> None:
    resolved = resolve_model_names("resnet50.*")
    listed = timm.list_models("resnet50.*", pretrained=True)
    in1k = [n for n in listed if get_pretrained_cfg(n).num_classes == 1000]
    assert "resnet50.a1_in1k" in resolved and "resnet50.tv_in1k" in resolved
    assert resolved == [n for n in in1k if n in resolved]  # timm's order kept
    assert set(listed) - set(resolved) == {
        n for n in listed if get_pretrained_cfg(n).num_classes != 1000
    }


def test_vit_wildcard_leaves_out_non_in1k_checkpoints() -> None:
    resolved = resolve_model_names("vit_tiny_*")
    assert "vit_tiny_patch16_224.augreg_in21k_ft_in1k" in resolved
    assert "vit_tiny_patch16_224.augreg_in21k" not in resolved
    assert all(fnmatch.fnmatchcase(n, "vit_tiny_*") for n in resolved)


def test_torchvision_wildcard() -> None:
    resolved = resolve_model_names("tv:resnet50.*")
    members = [m for m in get_model_weights("resnet50").__members__ if m != "DEFAULT"]
    assert resolved == [f"tv:resnet50.{m}" for m in members]


def test_order_kept_and_duplicates_dropped() -> None:
    resolved = resolve_model_names("vit, resnet50.a1_in1k, resnet50, family:vit, resnet50.a1*")
    vit = list_family("vit")
    assert resolved[: len(vit)] == vit
    assert resolved[len(vit)] == "resnet50.a1_in1k"
    assert resolved[len(vit) + 1 :] == ["resnet50.a1h_in1k"]
    assert len(resolved) == len(set(resolved))


@pytest.mark.parametrize("bad", ["no_such_net_*", "family:alexnets", "resnet5O", "hf-hub:x/y"])
def test_unknown_selections_raise(bad: str) -> None:
    with pytest.raises(UnknownModelError):
        resolve_model_names([bad])


def test_explicit_non_in1k_checkpoint_refused_at_selection_time() -> None:
    with pytest.raises(UnsupportedLabelSpaceError, match="21843 outputs"):
        resolve_model_names(["resnet50", "vit_tiny_patch16_224.augreg_in21k"])
