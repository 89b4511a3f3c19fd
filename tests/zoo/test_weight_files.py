"""Reading weight files: formats, wrappers, prefixes, and refusal of pickled objects."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from robustness.datasets.fingerprint import file_sha256
from robustness.zoo.errors import UnsafeWeightsError, WeightsMismatchError
from robustness.zoo.weight_files import (
    expected_sha256_prefix,
    hf_hub_cache_dir,
    is_offline,
    read_state_dict,
    torch_hub_checkpoint_dir,
    verify_hash_in_name,
)


class NotATensor:
    """A class torch.load(weights_only=True) must refuse to unpickle."""

    def __init__(self) -> None:
        self.payload = "would run arbitrary __reduce__ code in a hostile file"


def _tensors() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "conv.weight": torch.randn(4, 3, 3, 3, generator=generator),
        "fc.bias": torch.randn(10, generator=generator),
    }


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_safetensors_round_trip(tmp_path: Path) -> None:
    tensors = _tensors()
    file = tmp_path / "w.safetensors"
    save_file(tensors, str(file))
    _assert_same(read_state_dict(file), tensors)


def test_safetensors_detected_by_content_not_only_extension(tmp_path: Path) -> None:
    tensors = _tensors()
    file = tmp_path / "w.bin"
    save_file(tensors, str(file))
    _assert_same(read_state_dict(file), tensors)


@pytest.mark.parametrize("wrapper", [None, "state_dict", "model"])
@pytest.mark.parametrize("prefix", ["", "module.", "_orig_mod.module."])
def test_torch_file_unwrapped_and_prefixes_stripped(
    tmp_path: Path, wrapper: str | None, prefix: str
) -> None:
    tensors = _tensors()
    content: dict = {prefix + k: v for k, v in tensors.items()}
    if wrapper:
        content = {wrapper: content, "epoch": 3}
    file = tmp_path / "w.pt"
    torch.save(content, file)
    _assert_same(read_state_dict(file), tensors)


def test_pickled_object_refused(tmp_path: Path) -> None:
    file = tmp_path / "evil.pt"
    torch.save({"conv.weight": torch.zeros(1), "extra": NotATensor()}, file)
    with pytest.raises(UnsafeWeightsError) as info:
        read_state_dict(file)
    message = str(info.value)
    assert str(file) in message
    assert "weights_only" in message and "re-save" in message


def test_non_tensor_entries_refused(tmp_path: Path) -> None:
    file = tmp_path / "mixed.pt"
    torch.save({"conv.weight": torch.zeros(1), "note": "hello"}, file)
    with pytest.raises(UnsafeWeightsError, match="non-tensor entries"):
        read_state_dict(file)


def test_garbage_file_gets_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "truncated.pth"
    file.write_bytes(b"this is not a checkpoint")
    with pytest.raises(UnsafeWeightsError, match="not a readable torch or safetensors"):
        read_state_dict(file)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_state_dict(tmp_path / "nope.safetensors")


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    file = tmp_path / "blob"
    data = bytes(range(256)) * 5000  # spans several read chunks
    file.write_bytes(data)
    assert file_sha256(file, chunk_bytes=4096) == hashlib.sha256(data).hexdigest()


def test_cache_dirs_follow_environment_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hf_hub_cache_dir() == tmp_path / "hf_home" / "hub"
    assert torch_hub_checkpoint_dir() == tmp_path / "torch_home" / "hub" / "checkpoints"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hf_hub_cache_dir() == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("robustness", "hf", "expected"),
    [("1", "", True), ("", "true", True), ("0", "0", False), ("", "", False), ("YES", "", True)],
)
def test_offline_switches(
    monkeypatch: pytest.MonkeyPatch, robustness: str, hf: str, expected: bool
) -> None:
    monkeypatch.setenv("ROBUSTNESS_OFFLINE", robustness)
    monkeypatch.setenv("HF_HUB_OFFLINE", hf)
    assert is_offline() is expected


def test_hash_prefix_in_torch_hub_file_names(tmp_path: Path) -> None:
    data = b"pretend checkpoint bytes"
    digest = hashlib.sha256(data).hexdigest()
    good = tmp_path / f"resnet50-{digest[:8]}.pth"
    good.write_bytes(data)
    assert expected_sha256_prefix(good) == digest[:8]
    verify_hash_in_name(good, file_sha256(good))  # no error
    bad = tmp_path / "resnet50-11ad3fa6.pth"
    bad.write_bytes(data)
    with pytest.raises(WeightsMismatchError, match="corrupt"):
        verify_hash_in_name(bad, file_sha256(bad))
    assert expected_sha256_prefix(tmp_path / "model.safetensors") is None
