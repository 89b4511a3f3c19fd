"""In-memory corruption: same pixels as the builder's PNG files, DataLoader workers, device batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from reference import photo

from corruptions.base import image_seed
from corruptions.batched import corrupt_batch
from corruptions.builder import build_corrupted_set, output_path, preprocess
from corruptions.inmemory import CorruptedDataset, DeviceCorruptor

NAME = "gaussian_noise"


class FolderReader(torch.utils.data.Dataset):
    """Minimal harness-style reader: items (PIL image, label, index, relpath), sorted paths."""

    def __init__(self, root):
        self.root = root
        self.relpaths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
        self.classes = sorted({r.split("/")[0] for r in self.relpaths})

    def __len__(self):
        return len(self.relpaths)

    def __getitem__(self, i):
        rel = self.relpaths[i]
        with Image.open(self.root / rel) as im:
            image = im.convert("RGB")
        return image, self.classes.index(rel.split("/")[0]), i, rel


@pytest.fixture
def source(tmp_path):
    """Two classes of real photographs at odd sizes (so resize + crop matter)."""
    root = tmp_path / "src"
    for k, (cls, size) in enumerate([("n01440764", 250), ("n01443537", 300)]):
        (root / cls).mkdir(parents=True)
        for j in range(2):
            img = photo(k + j, size)[: size - 30 * j]
            Image.fromarray(img).save(root / cls / f"img_{j}.png")
    return root


def test_items_equal_the_builders_png_files(source, tmp_path):
    build_corrupted_set(source, tmp_path / "out", corruptions=NAME, severities="3", seed=8,
                        format="png", progress=False)  # fmt: skip
    reader = FolderReader(source)
    dataset = CorruptedDataset(reader, NAME, 3, seed=8)
    assert len(dataset) == len(reader) == 4
    for i in range(len(dataset)):
        image, label, index, relpath = dataset[i]
        assert (label, index, relpath) == reader[i][1:]
        assert image.size == (224, 224)
        with Image.open(output_path(tmp_path / "out", relpath, NAME, 3, "png")) as on_disk:
            np.testing.assert_array_equal(np.asarray(image), np.asarray(on_disk))


def test_not_bit_identical_to_the_jpeg_files_but_close(source, tmp_path):
    build_corrupted_set(source, tmp_path / "jpg", corruptions="contrast", severities="2", seed=8,
                        progress=False)  # fmt: skip
    image, _, _, relpath = CorruptedDataset(FolderReader(source), "contrast", 2, seed=8)[0]
    with Image.open(output_path(tmp_path / "jpg", relpath, "contrast", 2, "jpeg")) as on_disk:
        diff = np.abs(np.asarray(image, np.int16) - np.asarray(on_disk, np.int16))
    assert diff.max() > 0  # JPEG quality 85 changes pixels ...
    assert diff.mean() < 3  # ... by a few levels at most on average


def test_dataloader_workers_give_the_same_items(source):
    dataset = CorruptedDataset(FolderReader(source), NAME, 5, seed=1)

    def collect(workers):
        loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=workers,
                                             collate_fn=list)  # fmt: skip
        return {rel: np.asarray(img) for batch in loader for img, _, _, rel in batch}

    serial, parallel = collect(0), collect(2)
    assert serial.keys() == parallel.keys() and len(serial) == 4
    for rel in serial:
        np.testing.assert_array_equal(serial[rel], parallel[rel])


def test_base_items_must_follow_the_reader_contract():
    dataset = CorruptedDataset([(Image.new("RGB", (8, 8)), 0)], NAME, 1)
    with pytest.raises(TypeError, match=r"\(PIL image, label, index, relpath\)"):
        dataset[0]
    with pytest.raises(KeyError, match="unknown corruption"):
        CorruptedDataset([], "blizzard", 1)
    with pytest.raises(ValueError, match="severity"):
        CorruptedDataset([], NAME, 6)


def test_device_corruptor_uses_the_per_image_seeds(source):
    reader = FolderReader(source)
    items = [reader[i] for i in range(len(reader))]
    batch = torch.stack(
        [torch.from_numpy(preprocess(img, "imagenet")).permute(2, 0, 1) for img, *_ in items]
    )
    relpaths = [rel for *_, rel in items]

    corruptor = DeviceCorruptor(NAME, 4, seed=2)
    seeds = [image_seed(2, rel, NAME, 4) for rel in relpaths]
    assert torch.equal(corruptor(batch, relpaths), corrupt_batch(batch, NAME, 4, seeds))

    # With the numpy sampler it reproduces CorruptedDataset within 1 level.
    replay = DeviceCorruptor(NAME, 4, seed=2, sampler="numpy")(batch, relpaths)
    dataset = CorruptedDataset(reader, NAME, 4, seed=2)
    for i in range(len(reader)):
        expected = np.asarray(dataset[i][0], np.int16)
        got = replay[i].permute(1, 2, 0).numpy().astype(np.int16)
        assert np.abs(got - expected).max() <= 1
    with pytest.raises(ValueError, match="relpaths"):
        corruptor(batch, relpaths[:1])
