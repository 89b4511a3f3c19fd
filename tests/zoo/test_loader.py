"""load_model end to end, offline: weights from files and caches, folded normalisation,
provenance, and the errors a researcher meets first."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from timm.data import resolve_data_config
from timm.models import get_pretrained_cfg
from torchvision.models import get_model_weights
from torchvision.transforms import functional as TF

from robustness.zoo import (
    LoadedModel,
    UnknownModelError,
    UnsafeWeightsError,
    UnsupportedLabelSpaceError,
    WeightsMismatchError,
    WeightsNotFoundError,
    load_model,
    resolve_device,
    weight_files,
)
from robustness.zoo.timm_models import timm_label_space_problem

TIMM_CNN = "resnet10t.c3_in1k"


class _AlwaysReachable(dict):
    """Stands in for the connection check's memo: every host answers (downloads are faked)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: object) -> bool:
        return True
TIMM_VIT = "vit_tiny_patch16_224.augreg_in21k_ft_in1k"


def _reference_logits(model: torch.nn.Module, images: torch.Tensor, mean, std) -> torch.Tensor:
    """The in-memory model on manually normalised input."""
    mean_t = torch.tensor(mean).view(1, 3, 1, 1)
    std_t = torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        return model.eval()((images - mean_t) / std_t)


def _logits(loaded: LoadedModel, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return loaded.network(images.to(loaded.device)).cpu()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _images(side: int, n: int = 2) -> torch.Tensor:
    return torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(0))


def test_timm_safetensors_file_matches_in_memory_model(tmp_path: Path) -> None:
    reference = timm.create_model(TIMM_CNN, pretrained=False)
    file = tmp_path / "resnet10t.safetensors"
    save_file(reference.state_dict(), str(file))

    loaded = load_model("resnet10t", weights=file)  # untagged: timm's default tag

    cfg = get_pretrained_cfg(TIMM_CNN)
    images = _images(64)
    expected = _reference_logits(reference, images, cfg.mean, cfg.std)
    assert _logits(loaded, images).shape == (2, 1000)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-5)
    assert not any(m.training for m in loaded.network.modules())

    info = loaded.info
    assert (info.name, info.source, info.architecture) == (TIMM_CNN, "timm", "resnet10t")
    assert info.weights == str(file.resolve())
    assert info.weights_sha256 == _sha256(file)
    assert info.param_count == round(sum(p.numel() for p in reference.parameters()) / 1e6, 2)
    assert (info.num_classes, info.label_space, info.kind) == (1000, "imagenet-1k", "cnn")
    # resnet10t.c3_in1k declares test_input_size 224 and test_crop_pct 0.95 (timm validate.py)
    assert (info.img_size, info.crop_pct, info.interpolation) == (224, 0.95, "bicubic")
    assert (info.mean, info.std) == (tuple(cfg.mean), tuple(cfg.std))


def test_timm_vit_from_wrapped_ddp_torch_file(tmp_path: Path) -> None:
    reference = timm.create_model(TIMM_VIT, pretrained=False)
    file = tmp_path / "vit.pth"
    torch.save({"model": {"module." + k: v for k, v in reference.state_dict().items()}}, file)

    loaded = load_model(TIMM_VIT, weights=str(file))

    cfg = get_pretrained_cfg(TIMM_VIT)
    assert cfg.mean == (0.5, 0.5, 0.5)  # AugReg ViTs normalise with 0.5, not ImageNet stats
    images = _images(224, n=1)
    expected = _reference_logits(reference, images, cfg.mean, cfg.std)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-4)
    assert (loaded.info.kind, loaded.info.family) == ("vit", "vit")


def test_timm_checkpoint_filter_converts_original_format(tmp_path: Path) -> None:
    # OpenCLIP stores timm ViT trunks under 'visual.trunk.'; a strict load fails and timm's
    # vision_transformer.checkpoint_filter_fn strips the prefix
    reference = timm.create_model(TIMM_VIT, pretrained=False)
    file = tmp_path / "open_clip_style.safetensors"
    save_file({"visual.trunk." + k: v for k, v in reference.state_dict().items()}, str(file))
    loaded = load_model(TIMM_VIT, weights=file)
    cfg = get_pretrained_cfg(TIMM_VIT)
    images = _images(224, n=1)
    expected = _reference_logits(reference, images, cfg.mean, cfg.std)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-4)
    assert "state_dict" not in loaded.network.model.pretrained_cfg  # no lingering copy


def test_partial_timm_checkpoint_refused_even_where_timm_loads_non_strictly(
    tmp_path: Path,
) -> None:
    # timm builds DLA with pretrained_strict=False: a checkpoint without the classifier would
    # otherwise load "successfully" with a random head
    state = timm.create_model("dla46_c.in1k", pretrained=False).state_dict()
    file = tmp_path / "dla_without_head.safetensors"
    save_file({k: v for k, v in state.items() if not k.startswith("fc.")}, str(file))
    with pytest.raises(WeightsMismatchError, match="fc.weight"):
        load_model("dla46_c.in1k", weights=file)
    complete = tmp_path / "dla.safetensors"
    save_file(state, str(complete))
    assert load_model("dla46_c.in1k", weights=complete).info.weights == str(complete.resolve())


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_torchvision_file_matches_in_memory_model(tmp_path: Path, suffix: str) -> None:
    reference = torchvision.models.resnet18(weights=None)
    file = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        save_file(reference.state_dict(), str(file))
    else:
        torch.save(reference.state_dict(), file)

    loaded = load_model("tv:resnet18", weights=file)

    weights = get_model_weights("resnet18").IMAGENET1K_V1
    preset = weights.transforms()
    images = _images(48)
    expected = _reference_logits(reference, images, preset.mean, preset.std)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-5)
    info = loaded.info
    assert (info.name, info.source, info.family, info.kind) == (
        "tv:resnet18.IMAGENET1K_V1", "torchvision", "resnet", "cnn"
    )  # fmt: skip
    assert info.param_count == round(weights.meta["num_params"] / 1e6, 2) == 11.69
    assert (info.img_size, info.crop_pct, info.interpolation) == (224, 0.875, "bilinear")
    assert info.weights_sha256 == _sha256(file)


def _fake_hf_cache(hub: Path, repo: str, filename: str, payload: dict) -> Path:
    """The huggingface_hub cache layout: refs/main -> snapshots/<commit>/<file>."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = hub / ("models--" + repo.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    save_file(payload, str(snapshot / filename))
    return snapshot / filename


def test_timm_weights_found_in_hugging_face_cache_offline(
    offline_empty_caches: dict[str, Path],
) -> None:
    reference = timm.create_model(TIMM_CNN, pretrained=False)
    file = _fake_hf_cache(
        offline_empty_caches["hf_hub"], "timm/resnet10t.c3_in1k", "model.safetensors",
        reference.state_dict(),
    )  # fmt: skip

    loaded = load_model(TIMM_CNN)

    assert loaded.info.weights == "hf-cache:timm/resnet10t.c3_in1k"
    assert loaded.info.weights_sha256 == _sha256(file)
    cfg = get_pretrained_cfg(TIMM_CNN)
    images = _images(32)
    expected = _reference_logits(reference, images, cfg.mean, cfg.std)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-5)


def test_pickled_objects_in_hugging_face_cache_refused(
    offline_empty_caches: dict[str, Path],
) -> None:
    repo_file = _fake_hf_cache(
        offline_empty_caches["hf_hub"], "timm/resnet10t.c3_in1k", "unused.safetensors", {}
    )
    bad = repo_file.parent / "pytorch_model.bin"
    torch.save({"conv1.weight": torch.zeros(1), "args": Path("/etc")}, bad)
    with pytest.raises(UnsafeWeightsError) as info:
        load_model(TIMM_CNN)
    assert str(bad) in str(info.value)


def test_torchvision_cache_file_is_found_and_checked_against_its_name(
    offline_empty_caches: dict[str, Path],
) -> None:
    # torchvision file names embed a SHA-256 prefix; random weights cannot match it
    checkpoints = offline_empty_caches["torch_checkpoints"]
    checkpoints.mkdir(parents=True)
    cached = checkpoints / "resnet18-f37072fd.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), cached)
    with pytest.raises(WeightsMismatchError, match="corrupt") as info:
        load_model("tv:resnet18.IMAGENET1K_V1")
    assert str(cached) in str(info.value)


def test_timm_legacy_torch_hub_cache_is_searched_and_hash_checked(
    offline_empty_caches: dict[str, Path],
) -> None:
    # before the HF hub, timm downloaded pretrained_cfg.url into the torch hub cache
    checkpoints = offline_empty_caches["torch_checkpoints"]
    checkpoints.mkdir(parents=True)
    cached = checkpoints / Path(get_pretrained_cfg(TIMM_CNN).url).name
    save_file(timm.create_model(TIMM_CNN, pretrained=False).state_dict(), str(cached))
    with pytest.raises(WeightsMismatchError, match="corrupt") as info:
        load_model(TIMM_CNN)
    assert str(cached) in str(info.value)


def test_missing_timm_weights_offline_names_model_and_cache_paths(
    offline_empty_caches: dict[str, Path],
) -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        load_model(TIMM_CNN)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert TIMM_CNN in message
    assert str(offline_empty_caches["hf_hub"] / "models--timm--resnet10t.c3_in1k") in message
    assert str(offline_empty_caches["torch_checkpoints"]) in message  # timm's legacy url cache
    assert "weights=" in message and "--weights" in message and "offline" in message


def test_missing_torchvision_weights_offline_names_model_and_cache_path(
    offline_empty_caches: dict[str, Path],
) -> None:
    with pytest.raises(WeightsNotFoundError) as info:
        load_model("tv:resnet50.IMAGENET1K_V2")
    message = str(info.value)
    assert "tv:resnet50.IMAGENET1K_V2" in message
    url_name = Path(get_model_weights("resnet50").IMAGENET1K_V2.url).name
    assert str(offline_empty_caches["torch_checkpoints"] / url_name) in message
    assert "weights=" in message


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("vit_tiny_patch16_224.augreg_in21k", "21843 outputs"),
        ("beitv2_base_patch16_224.in1k_ft_in22k", "21841 outputs"),
        ("vit_base_patch16_clip_224.laion2b", "outputs"),
    ],
)
def test_non_imagenet1k_checkpoints_refused(name: str, reason: str) -> None:
    with pytest.raises(UnsupportedLabelSpaceError) as info:
        load_model(name, pretrained=False)
    message = str(info.value)
    assert name in message and reason in message and "ImageNet-1k" in message


def test_refusal_suggests_in1k_tags_of_same_architecture() -> None:
    with pytest.raises(UnsupportedLabelSpaceError, match="augreg_in21k_ft_in1k"):
        load_model("vit_tiny_patch16_224.augreg_in21k")


@pytest.mark.parametrize(
    ("tag", "num_classes", "ok"),
    [
        ("a1_in1k", 1000, True),
        ("fb_in22k_ft_in1k_384", 1000, True),
        ("mim_in22k_ft_in22k_in1k", 1000, True),
        ("fb_dino", 1000, True),  # no dataset named: the 1000-way head decides
        ("in1k_ft_in22k", 1000, False),  # last dataset named is in22k
        ("in22k", 21841, False),
        ("laion2b", 0, False),
    ],
)
def test_label_space_rule(tag: str, num_classes: int, ok: bool) -> None:
    assert (timm_label_space_problem(tag, num_classes) is None) is ok


def test_unsafe_weight_file_refused_through_load_model(tmp_path: Path) -> None:
    file = tmp_path / "checkpoint.pt"
    state = torchvision.models.resnet18(weights=None).state_dict()
    torch.save({"state_dict": state, "args": Path("/etc")}, file)  # a pickled non-tensor
    with pytest.raises(UnsafeWeightsError, match="unsupported global"):
        load_model("tv:resnet18", weights=file)


def test_weights_for_another_architecture_refused(tmp_path: Path) -> None:
    file = tmp_path / "resnet18.safetensors"
    save_file(torchvision.models.resnet18(weights=None).state_dict(), str(file))
    with pytest.raises(WeightsMismatchError) as info:
        load_model("tv:resnet34", weights=file)
    assert str(file.resolve()) in str(info.value) and "tv:resnet34" in str(info.value)


def test_random_init_uses_timms_own_data_config() -> None:
    loaded = load_model(TIMM_CNN, pretrained=False)
    assert (loaded.info.weights, loaded.info.weights_sha256) == ("random-init", None)
    config = resolve_data_config({}, model=loaded.network.model, use_test_size=True)
    spec = loaded.transform_spec()
    assert spec["crop_size"] == config["input_size"][1]
    assert spec["interpolation"] == config["interpolation"]
    assert spec["mean"] == list(config["mean"]) and spec["std"] == list(config["std"])
    train = load_model(TIMM_CNN, pretrained=False, use_test_size=False)
    assert train.info.img_size == get_pretrained_cfg(TIMM_CNN).input_size[1] == 176


def test_weights_with_pretrained_false_is_contradictory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pretrained=False"):
        load_model(TIMM_CNN, weights=tmp_path / "x.safetensors", pretrained=False)


def test_preprocess_is_to_tensor_of_transform() -> None:
    loaded = load_model("tv:resnet18", pretrained=False)
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 120, 3), np.uint8))
    tensor = loaded.preprocess(rgb)
    assert tensor.dtype == torch.float32 and tensor.shape == (3, 224, 224)
    assert 0.0 <= tensor.min() and tensor.max() <= 1.0
    assert torch.equal(tensor, TF.to_tensor(loaded.transform(rgb)))
    assert loaded.preprocess(rgb.convert("L")).shape == (3, 224, 224)


def test_device_auto_and_placement() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    loaded = load_model("tv:resnet18", pretrained=False, device="auto")
    assert loaded.device.type == expected
    assert all(p.device.type == expected for p in loaded.network.parameters())
    assert loaded.network.mean.device.type == expected


def test_unknown_names_get_suggestions() -> None:
    with pytest.raises(UnknownModelError, match="resnet50"):
        load_model("resnet5O")
    with pytest.raises(UnknownModelError, match="IMAGENET1K_V2"):
        load_model("tv:resnet50.IMAGENET1K_V9")
    with pytest.raises(UnknownModelError, match="a1_in1k"):
        load_model("resnet50.no_such_tag")


def test_failed_timm_download_becomes_weights_not_found(
    monkeypatch: pytest.MonkeyPatch, offline_empty_caches: dict[str, Path]
) -> None:
    import huggingface_hub

    monkeypatch.setenv("ROBUSTNESS_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(weight_files, "_REACHABLE", _AlwaysReachable())  # the download itself is faked
    attempts: list[tuple[str, str]] = []

    def unreachable(repo_id: str, filename: str, **kwargs: object) -> str:
        attempts.append((repo_id, filename))
        raise ConnectionError("network unreachable")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    with pytest.raises(WeightsNotFoundError) as info:
        load_model(TIMM_CNN)
    assert attempts == [("timm/resnet10t.c3_in1k", "model.safetensors")]
    message = str(info.value)
    assert "download failed: ConnectionError" in message and TIMM_CNN in message
    assert str(offline_empty_caches["hf_hub"]) in message


def test_timm_download_when_online_lands_in_the_cache_and_loads(
    monkeypatch: pytest.MonkeyPatch, offline_empty_caches: dict[str, Path]
) -> None:
    import huggingface_hub

    monkeypatch.setenv("ROBUSTNESS_OFFLINE", "")
    monkeypatch.setenv("HF_HUB_OFFLINE", "")
    monkeypatch.setattr(weight_files, "_REACHABLE", _AlwaysReachable())  # the download itself is faked
    reference = timm.create_model(TIMM_CNN, pretrained=False)

    def fake_download(repo_id: str, filename: str, revision=None, cache_dir=None) -> str:
        assert Path(cache_dir) == offline_empty_caches["hf_hub"]  # the resolved cache is used
        return str(_fake_hf_cache(Path(cache_dir), repo_id, filename, reference.state_dict()))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    loaded = load_model(TIMM_CNN)
    assert loaded.info.weights == "hf-cache:timm/resnet10t.c3_in1k"
    cfg = get_pretrained_cfg(TIMM_CNN)
    images = _images(32)
    expected = _reference_logits(reference, images, cfg.mean, cfg.std)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-5)


def test_failed_torchvision_download_becomes_weights_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROBUSTNESS_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(weight_files, "_REACHABLE", _AlwaysReachable())  # the download itself is faked

    def unreachable(url: str, dst: str, **kwargs: object) -> None:
        raise TimeoutError(f"timed out fetching {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", unreachable)
    with pytest.raises(WeightsNotFoundError, match="download failed: TimeoutError"):
        load_model("tv:resnet18.IMAGENET1K_V1")


def test_torchvision_builder_specifics_still_apply(tmp_path: Path) -> None:
    # Inception-v3 with weights: torchvision's builder sets transform_input=True (re-normalising
    # inside the model) and expects the auxiliary head in the checkpoint.
    reference = torchvision.models.inception_v3(
        weights=None, aux_logits=True, transform_input=True, init_weights=False
    )
    file = tmp_path / "inception.safetensors"
    save_file(reference.state_dict(), str(file))
    loaded = load_model("tv:inception_v3.IMAGENET1K_V1", weights=file)
    assert loaded.network.model.transform_input is True
    assert loaded.info.img_size == 299 and loaded.info.interpolation == "bilinear"
    preset = get_model_weights("inception_v3").IMAGENET1K_V1.transforms()
    images = _images(80, n=1)
    expected = _reference_logits(reference, images, preset.mean, preset.std)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-4)


def test_torchvision_densenet_legacy_key_names(tmp_path: Path) -> None:
    # torchvision's densenet loader renames 'denselayerN.norm.1.weight' -> '...norm1.weight'
    reference = torchvision.models.densenet121(weights=None)
    legacy = {}  # as saved by old PyTorch: no BatchNorm num_batches_tracked either
    for key, value in reference.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        for part in ("norm", "relu", "conv"):
            for index in ("1", "2"):
                key = key.replace(f".{part}{index}.", f".{part}.{index}.")
        legacy[key] = value
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    file = tmp_path / "densenet121_legacy.pth"
    torch.save(legacy, file)
    loaded = load_model("tv:densenet121", weights=file)
    preset = get_model_weights("densenet121").DEFAULT.transforms()
    images = _images(32, n=1)
    expected = _reference_logits(reference, images, preset.mean, preset.std)
    assert torch.allclose(_logits(loaded, images), expected, atol=1e-5)
    assert loaded.info.family == "densenet"


def test_without_network_and_without_the_offline_variable_no_download_is_attempted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub client would retry for minutes; a 3-second connection check answers first."""
    import huggingface_hub

    for var in ("ROBUSTNESS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # loopback discard port: refused at once
    monkeypatch.setattr(weight_files, "_REACHABLE", {})

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    with pytest.raises(WeightsNotFoundError, match="127.0.0.1 cannot be reached"):
        load_model(TIMM_CNN)
