"""ImageNet-P files: the mp4 encoding (PyAV), the on-disk builder, the in-memory dataset, CLI.

The encoder's settings are checked in the file itself: libx264 writes its options as an
SEI text into the stream ("crf=20.0", "subme=10", ...), and the container says codec,
pixel format, profile and frame rate. The round trip compares decoded frames with the
encoded ones: same count, order and size, and the small loss CRF 20 (or 23 with
``tune=grain``) leaves on smooth content. The builder's files are compared with
:func:`perturbation_sequence` of the same per-image seed, and the in-memory dataset with
``encode=True`` with the builder's decoded files, pixel for pixel. The builder and dataset
tests use a 72 px resize and 64 px crop (their behaviour does not depend on size); the
round trip of a real sequence runs at 224.
"""

from __future__ import annotations

import json
import sys
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from corruptions import image_rng
from corruptions.builder import BuildConfigError, SourceImageError
from corruptions.cli import main as corruptions_main
from corruptions.errors import UserInputError
from corruptions.imagenet_p import (
    PerturbedSequenceDataset,
    VideoBackendError,
    build_imagenet_p,
    output_path,
    perturbation_sequence,
    read_sequence,
    write_sequence_mp4,
)
from corruptions.imagenet_p.builder import load_source

av = pytest.importorskip("av", reason="PyAV (the imagenet-p extra) is not installed")


def moving_gradient(t: int = 31, h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth colour gradient that drifts one pixel per frame: every frame differs."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for i in range(t):
        r = 128 + 100 * np.sin((xx + i) / 10.0)
        g = 128 + 90 * np.cos((yy + 0.5 * i) / 8.0)
        b = 40 + 2.5 * xx + 0.5 * i
        frames.append(np.stack([r, g, b], -1))
    return np.clip(np.stack(frames), 0, 255).round().astype(np.uint8)


def x264_settings(data: bytes) -> str:
    start = data.index(b"x264 - core")
    return data[start : data.index(b"\x00", start)].decode("ascii", "replace")


@pytest.mark.parametrize("noise", [False, True])
def test_mp4_round_trip(tmp_path, noise):
    frames = moving_gradient()
    path = tmp_path / "seq.mp4"
    write_sequence_mp4(frames, path, noise=noise)
    decoded = read_sequence(path)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    diff = np.abs(decoded.astype(int) - frames)
    assert diff.mean() < (2.5 if noise else 1.5), diff.mean()
    # order: every decoded frame is closest to its own source frame
    distances = np.abs(decoded[:, None].astype(int) - frames[None]).mean(axis=(2, 3, 4))
    np.testing.assert_array_equal(distances.argmin(axis=1), np.arange(len(frames)))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv444p"
        assert stream.codec_context.profile == "High 4:4:4 Predictive"
        assert stream.average_rate == 1
        assert container.format.name.startswith("mov,mp4")
    settings = x264_settings(path.read_bytes())
    # preset veryslow, single-threaded; the script's -crf 20, or -tune grain at x264's CRF 23
    for option in ("subme=10", "ref=16", "bframes=8", "me=umh", "trellis=2", "threads=1"):
        assert option in settings, option
    if noise:
        assert "crf=23.0" in settings and "deadzone=6,6" in settings  # tune grain's dead zones
    else:
        assert "crf=20.0" in settings and "deadzone=21,11" in settings  # x264's defaults


def test_a_real_sequence_at_224_round_trips(tmp_path):
    frames = perturbation_sequence(skdata.coffee(), "motion_blur", 1)
    write_sequence_mp4(frames, tmp_path / "m.mp4", noise=False)
    decoded = read_sequence(tmp_path / "m.mp4")
    assert decoded.shape == frames.shape == (31, 224, 224, 3)
    diff = np.abs(decoded.astype(int) - frames)
    assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 6, (diff.mean(), np.percentile(diff, 99))


def test_encoding_is_reproducible_and_works_in_memory(tmp_path):
    """Default: x264 without its assembly, single-threaded: same frames, same bytes (also for
    grainy noise content, where x264's 4:4:4 assembly reads uninitialised memory)."""
    frames = moving_gradient(t=5, h=33, w=35)  # odd sizes: fine in 4:4:4
    noisy = np.random.RandomState(0).randint(0, 256, (6, 40, 40, 3)).astype(np.uint8)
    for seq, noise in ((frames, False), (noisy, True)):
        write_sequence_mp4(seq, tmp_path / "a.mp4", noise=noise)
        buffer = BytesIO()
        write_sequence_mp4(seq, buffer, noise=noise)
        assert buffer.getvalue() == (tmp_path / "a.mp4").read_bytes()
        buffer.seek(0)
        np.testing.assert_array_equal(read_sequence(buffer), read_sequence(tmp_path / "a.mp4"))
    fast = BytesIO()
    write_sequence_mp4(frames, fast, noise=False, reproducible=False)
    fast.seek(0)
    assert np.abs(read_sequence(fast).astype(int) - frames).mean() < 1.5


def test_video_errors(tmp_path, monkeypatch):
    with pytest.raises(UserInputError, match="T x H x W x 3"):
        write_sequence_mp4(np.zeros((4, 8, 8), np.uint8), tmp_path / "x.mp4", noise=False)
    with pytest.raises(UserInputError, match="T x H x W x 3"):
        write_sequence_mp4(np.zeros((4, 8, 8, 3), np.float32), tmp_path / "x.mp4", noise=False)
    (tmp_path / "bad.mp4").write_bytes(b"not a video at all")
    with pytest.raises(UserInputError, match="cannot decode"):
        read_sequence(tmp_path / "bad.mp4")
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    with pytest.raises(VideoBackendError, match=r"robustness-harness\[imagenet-p\]"):
        read_sequence(tmp_path / "bad.mp4")


# --------------------------------------------------------------------------- builder


def make_source(root: Path) -> Path:
    """SRC/<wnid>/<file>: real photographs at odd sizes (so resize and crop matter)."""
    src = root / "src"
    photos = [skdata.chelsea(), skdata.coffee(), skdata.astronaut()]
    for c, wnid in enumerate(("n01440764", "n01443537")):
        (src / wnid).mkdir(parents=True)
        for j in range(2 - c):  # 2 + 1 images
            image = photos[c + j][: 260 + 20 * j, : 300 + 10 * c]
            Image.fromarray(image).save(src / wnid / f"ILSVRC2012_val_{c}{j:07d}.JPEG", quality=95)
        (src / wnid / "notes.txt").write_text("not an image")
    return src


SMALL = {"resize": 72, "crop": 64}  # the builder's behaviour does not depend on the size


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet_p")
    src = make_source(root)
    out = root / "out"
    report = build_imagenet_p(src, out, perturbations="translate,shot_noise", difficulties="1,3",
                              seed=4, progress=False, **SMALL)  # fmt: skip
    return src, out, report


def test_layout_manifest_and_contents(built):
    src, out, report = built
    relpaths = ["n01440764/ILSVRC2012_val_00000000.JPEG", "n01440764/ILSVRC2012_val_00000001.JPEG",
                "n01443537/ILSVRC2012_val_10000000.JPEG"]  # fmt: skip
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4"))
    expected = sorted(f"{d}/{r.split('/')[0]}/{Path(r).stem}.mp4" for d in ("translate", "shot_noise",
                      "shot_noise_3") for r in relpaths)  # fmt: skip
    assert files == expected
    assert report.n_images == 3 and report.n_written == 9 and report.n_existing == 0
    assert report.counts == {"translate": {"1": 3}, "shot_noise": {"1": 3, "3": 3}}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["benchmark"] == "imagenet-p" and manifest["settings"]["seed"] == 4
    assert manifest["encoding"]["other"]["options"]["crf"] == "20"
    assert manifest["encoding"]["noise"]["options"]["tune"] == "grain"
    assert manifest["parameters"]["FRAMES"]["translate"] == 41
    assert manifest["versions"]["av"] == av.__version__
    assert manifest["settings"]["reproducible"] is True
    assert manifest["encoding"]["other"]["options"]["x264-params"] == "asm=0"
    assert not (out / "manifest.inprogress.json").exists()
    # contents: the frames of the same per-image seed, through the codec
    for name, d in (("translate", 1), ("shot_noise", 3)):
        rel = relpaths[1]
        decoded = read_sequence(output_path(out, rel, name, d))
        with Image.open(src / rel) as im:
            frames = perturbation_sequence(im, name, d, image_rng(4, rel, name, d), **SMALL)
        assert decoded.shape == frames.shape == ((41 if name == "translate" else 31), 64, 64, 3)
        assert np.abs(decoded.astype(int) - frames).mean() < (6 if d == 3 else 2)


def test_resume_skips_existing_and_refuses_another_seed(built, tmp_path):
    src, out, _ = built
    victim = output_path(out, "n01443537/ILSVRC2012_val_10000000.JPEG", "shot_noise", 3)
    kept = output_path(out, "n01440764/ILSVRC2012_val_00000000.JPEG", "translate", 1)
    kept_bytes, kept_mtime = kept.read_bytes(), kept.stat().st_mtime_ns
    victim_bytes = victim.read_bytes()
    victim.unlink()
    stale = victim.with_name(victim.name + ".part-999")
    stale.write_bytes(b"half a video")
    report = build_imagenet_p(src, out, perturbations="translate,shot_noise", difficulties="1,3",
                              seed=4, progress=False, **SMALL)  # fmt: skip
    assert (report.n_written, report.n_existing) == (1, 8)
    assert victim.read_bytes() == victim_bytes  # deterministic: the same bytes again
    assert kept.read_bytes() == kept_bytes and kept.stat().st_mtime_ns == kept_mtime
    assert not stale.exists()
    with pytest.raises(BuildConfigError, match="seed: 4 on disk vs 5 now"):
        build_imagenet_p(src, out, perturbations="translate", seed=5, progress=False, **SMALL)
    with pytest.raises(BuildConfigError, match="crop: 64 on disk vs 224 now"):
        build_imagenet_p(src, out, perturbations="translate", seed=4, progress=False)


def test_files_do_not_depend_on_the_worker_count(built, tmp_path):
    src, out, _ = built
    report = build_imagenet_p(src, tmp_path / "two", perturbations="translate,shot_noise",
                              difficulties="1,3", seed=4, workers=2, progress=False, **SMALL)  # fmt: skip
    assert report.n_written == 9
    for path in sorted(out.rglob("*.mp4")):
        assert (tmp_path / "two" / path.relative_to(out)).read_bytes() == path.read_bytes(), path


def test_builder_refuses_bad_input(tmp_path):
    src = tmp_path / "src" / "n00000001"
    src.mkdir(parents=True)
    (src / "broken.JPEG").write_bytes(b"no image")
    with pytest.raises(SourceImageError, match="broken.JPEG"):
        build_imagenet_p(tmp_path / "src", tmp_path / "out", perturbations="translate",
                         progress=False, **SMALL)  # fmt: skip
    report = build_imagenet_p(tmp_path / "src", tmp_path / "out2", perturbations="translate",
                              skip_bad_images=True, progress=False, **SMALL)  # fmt: skip
    assert report.n_written == 0 and report.bad_files[0]["file"] == "n00000001/broken.JPEG"
    with pytest.raises(BuildConfigError, match="unknown ImageNet-P perturbation"):
        build_imagenet_p(tmp_path / "src", tmp_path / "out3", perturbations="fog", progress=False)
    with pytest.raises(BuildConfigError, match="difficulties"):
        build_imagenet_p(tmp_path / "src", tmp_path / "out3", difficulties="1-4", progress=False)


# --------------------------------------------------------------------------- in memory


class FolderReader:
    """Harness-style reader: items (PIL RGB image, label, index, relpath), sorted paths."""

    def __init__(self, root: Path):
        self.root = root
        self.relpaths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.JPEG"))

    def __len__(self):
        return len(self.relpaths)

    def __getitem__(self, i):
        rel = self.relpaths[i]
        with Image.open(self.root / rel) as im:
            image = im.convert("RGB")
        return image, rel.split("/")[0], i, rel


def test_in_memory_frames_equal_the_builders(built):
    src, out, _ = built
    reader = FolderReader(src)
    plain = PerturbedSequenceDataset(reader, "shot_noise", 3, seed=4, **SMALL)
    encoded = PerturbedSequenceDataset(reader, "shot_noise", 3, seed=4, encode=True, **SMALL)
    assert len(plain) == len(reader) == 3
    frames, label, index, rel = plain[2]
    assert (label, index, rel) == reader[2][1:]
    with Image.open(src / rel) as im:
        expected = perturbation_sequence(im, "shot_noise", 3, image_rng(4, rel, "shot_noise", 3),
                                         **SMALL)  # fmt: skip
    np.testing.assert_array_equal(frames, expected)
    from_file = read_sequence(output_path(out, rel, "shot_noise", 3))
    np.testing.assert_array_equal(encoded[2][0], from_file)
    scaled = PerturbedSequenceDataset(reader, "translate", transform=lambda f: f.mean(axis=(1, 2, 3)))
    assert scaled[0][0].shape == (41,)  # default geometry: 256 / 224
    with pytest.raises(UserInputError, match="frame stride"):
        PerturbedSequenceDataset(reader, "translate", 3)


def test_load_source_resizes_before_converting(tmp_path):
    """As the script: ``Resize(256)`` on the opened file (its own mode), then ``convert('RGB')``."""
    grey = (np.arange(300 * 420) % 251).reshape(300, 420).astype(np.uint8)
    Image.fromarray(grey, mode="L").save(tmp_path / "g.png")
    loaded = load_source(tmp_path / "g.png")
    assert loaded.mode == "RGB" and loaded.size == (358, 256)  # int(256 * 420 / 300)
    expected = Image.fromarray(grey, mode="L").resize((358, 256), Image.BILINEAR).convert("RGB")
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(expected))


def test_cli_subcommand(built, tmp_path, capsys):
    src, _, _ = built
    out = tmp_path / "cli"
    code = corruptions_main(["imagenet-p", str(src), str(out), "--perturbations", "translate",
                             "--classes", "n01443537", "--seed", "4", "--no-progress",
                             "--fast-encode"])  # fmt: skip
    assert code == 0
    assert "1 images: 1 videos written" in capsys.readouterr().out
    video = out / "translate" / "n01443537" / "ILSVRC2012_val_10000000.mp4"
    assert read_sequence(video).shape == (41, 224, 224, 3)
    assert json.loads((out / "manifest.json").read_text())["settings"]["reproducible"] is False
    assert corruptions_main(["imagenet-p", str(src), str(out), "--perturbations", "nope"]) == 2
    assert "unknown ImageNet-P perturbation" in capsys.readouterr().err
