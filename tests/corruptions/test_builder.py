"""The on-disk builder: layout, encoding, determinism, sharding, resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from corruptions import image_rng, registry
from corruptions.builder import (
    BuildConfigError,
    SourceImageError,
    build_corrupted_set,
    output_path,
    parse_corruptions,
    parse_severities,
    parse_shard,
    preprocess,
)

REPO = Path(__file__).resolve().parents[2]
# Cheap corruptions that draw random numbers (so the seed matters), most preferred first.
CHEAP_RANDOM = ("gaussian_noise", "shot_noise", "speckle_noise", "impulse_noise")
CHEAP_ANY = CHEAP_RANDOM + ("contrast", "brightness", "saturate", "jpeg_compression", "pixelate")


def cheap_corruptions(k: int = 2) -> tuple[str, ...]:
    """Up to ``k`` cheap registered corruptions, the first one random."""
    table = registry()
    random_ones = [n for n in CHEAP_RANDOM if n in table]
    assert random_ones, f"the builder tests need one of {CHEAP_RANDOM} registered; have {sorted(table)}"
    rest = [n for n in CHEAP_ANY if n in table and n != random_ones[0]]
    return tuple([random_ones[0]] + rest[: k - 1])


def make_source(root: Path, n_classes: int = 2, per_class: int = 3, seed: int = 0) -> Path:
    """SRC/<wnid>/<file>: small photographs-like gradients with noise, mixed sizes and formats."""
    rng = np.random.default_rng(seed)
    src = root / "src"
    for c in range(n_classes):
        folder = src / f"n0{c + 1:07d}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            h, w = (40 + 7 * i, 53) if i % 2 else (50, 37 + 5 * i)
            yy, xx = np.mgrid[0:h, 0:w]
            base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], -1)
            img = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
            name = f"ILSVRC2012_val_{c * 100 + i:08d}.JPEG"
            Image.fromarray(img).save(folder / name, format="JPEG", quality=95)
        (folder / "notes.txt").write_text("not an image")
    return src


def files_under(out: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every image file written (manifests excluded)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith("manifest") and ".part-" not in p.name
    }


def expected_array(src: Path, relpath: str, name: str, severity: int, seed: int) -> np.ndarray:
    """Independent recomputation of one output: preprocess, then the numpy corruption."""
    with Image.open(src / relpath) as im:
        image = preprocess(im, "imagenet")
    return registry()[name](image, severity, rng=image_rng(seed, relpath, name, severity))


# ------------------------------------------------------------------ geometry


@pytest.mark.parametrize("size", [(500, 375), (375, 500), (257, 1000), (301, 299), (224, 224)])
def test_preprocess_matches_torchvision_resize_centercrop(size):
    """Same pixels as torchvision's Resize(256) + CenterCrop(224) on a PIL image."""
    from torchvision import transforms

    rng = np.random.default_rng(1)
    pil = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    expected = np.asarray(transforms.CenterCrop(224)(transforms.Resize(256)(pil)))
    got = preprocess(pil, "imagenet")
    assert got.shape == (224, 224, 3) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def test_small_presets_keep_the_image_size():
    img = Image.fromarray(np.full((64, 64, 3), 7, np.uint8))
    assert preprocess(img, "tiny-imagenet").shape == (64, 64, 3)
    assert preprocess(img.resize((32, 32)), "cifar").shape == (32, 32, 3)


# ------------------------------------------------------------------ argument parsing


def test_parse_arguments():
    assert parse_severities("1-5") == (1, 2, 3, 4, 5)
    assert parse_severities("3,1,3") == (1, 3)
    assert parse_severities("2-3,5") == (2, 3, 5)
    with pytest.raises(BuildConfigError, match="severity"):
        parse_severities("0-2")
    with pytest.raises(BuildConfigError, match="1-5"):
        parse_severities("one")
    assert parse_shard("1/4") == (1, 4)
    with pytest.raises(BuildConfigError, match="0 <= i < n"):
        parse_shard("4/4")
    with pytest.raises(BuildConfigError, match="unknown or unavailable"):
        parse_corruptions("gaussian_noise,not_a_corruption")
    name = cheap_corruptions(1)[0]
    assert parse_corruptions(name) == (name,)
    cbar = parse_corruptions("c-bar")
    assert len(cbar) == 10 and "sparkles" in cbar and "gaussian_noise" not in cbar
    assert set(parse_corruptions("shifts")) == {"rain", "sun_flare", "shadow", "iso_noise",
                                                 "color_shift", "downscale"}  # fmt: skip
    assert len(parse_corruptions("all")) == 19


# ------------------------------------------------------------------ layout and encoding


def test_a_shifts_build_records_the_real_ladders_in_its_manifest(tmp_path):
    from corruptions.params.shifts import LADDERS

    src = make_source(tmp_path, n_classes=1, per_class=1)
    build_corrupted_set(src, tmp_path / "out", corruptions="shifts", severities="2",
                        preset="cifar", progress=False)  # fmt: skip
    tables = json.loads((tmp_path / "out" / "manifest.json").read_text())["parameters"]
    assert sorted(tables) == sorted(LADDERS)
    for name, ladder in LADDERS.items():
        assert tables[name] == json.loads(json.dumps(ladder)), name  # tuples -> lists
    assert tables["rain"]["transform"] == "RandomRain" and len(tables["rain"]["severities"]) == 5


@pytest.mark.parametrize("preset", ["imagenet", "tiny-imagenet", "cifar"])
def test_every_corruption_that_runs_at_a_preset_has_its_table(preset):
    from corruptions.builder import parameter_tables
    from corruptions.params import noise, weather

    image = np.zeros((32, 32, 3), np.uint8)
    for name, c in sorted(registry().items()):
        try:
            c(image, 1, rng=np.random.RandomState(0), preset=preset)
        except KeyError:  # C-bar has ImageNet levels only: no table, and no corruption either
            with pytest.raises(KeyError, match=f"no '{preset}' parameters for corruption '{name}'"):
                parameter_tables([name], preset)
            continue
        table = parameter_tables([name], preset)[name]
        assert table, name
    assert parameter_tables(["shot_noise"], preset)["shot_noise"] == list(noise.TABLES[preset]["shot_noise"])
    assert parameter_tables(["frost"], preset)["frost"] == json.loads(json.dumps(weather.TABLES[preset]["frost"]))


def test_a_family_without_tables_is_an_error_not_null():
    from corruptions.params import parameter_table

    with pytest.raises(KeyError, match="no parameter tables for corruption family 'made_up'"):
        parameter_table("made_up", "x", "imagenet")


def test_layout_manifest_and_jpeg_settings(tmp_path):
    src = make_source(tmp_path)
    out = tmp_path / "out"
    names = cheap_corruptions(2)
    report = build_corrupted_set(src, out, corruptions=",".join(names), severities="1,3", seed=5,
                                 progress=False)  # fmt: skip
    relpaths = sorted(p.relative_to(src).as_posix() for p in src.rglob("*.JPEG"))
    expected = {f"{n}/{s}/{r}" for n in names for s in (1, 3) for r in relpaths}
    assert set(files_under(out)) == expected
    assert report.n_images == len(relpaths) and report.n_written == len(expected)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["seed"] == 5 and manifest["settings"]["preset"] == "imagenet"
    assert manifest["counts"] == {n: {"1": len(relpaths), "3": len(relpaths)} for n in names}
    assert manifest["encoding"] == {"format": "JPEG", "quality": 85, "optimize": True}
    assert manifest["versions"]["numpy"] == np.__version__
    assert not (out / "manifest.inprogress.json").exists()

    # Bytes equal an independent encode of the recomputed array at quality 85 + optimize,
    # and differ from the encodes the other settings would give.
    relpath, name = relpaths[1], names[0]
    array = expected_array(src, relpath, name, 3, seed=5)
    written = out / name / "3" / relpath

    def encode(**kw) -> bytes:
        path = tmp_path / f"ref-{len(kw)}-{kw.get('quality')}-{kw.get('optimize')}.jpg"
        Image.fromarray(array).save(path, format="JPEG", **kw)
        return path.read_bytes()

    assert written.read_bytes() == encode(quality=85, optimize=True)
    assert written.read_bytes() != encode(quality=85, optimize=False)
    with Image.open(written) as im, Image.open(tmp_path / "ref-2-85-True.jpg") as ref:
        assert im.size == (224, 224)
        assert im.quantization == ref.quantization
    Image.fromarray(array).save(tmp_path / "q75.jpg", quality=75)
    with Image.open(written) as im, Image.open(tmp_path / "q75.jpg") as q75:
        assert im.quantization != q75.quantization


def test_png_is_lossless_and_named_by_stem(tmp_path):
    src = make_source(tmp_path, n_classes=1, per_class=2)
    out = tmp_path / "out"
    name = cheap_corruptions(1)[0]
    build_corrupted_set(src, out, corruptions=name, severities="2", seed=3, format="png",
                        progress=False)  # fmt: skip
    relpath = "n00000001/ILSVRC2012_val_00000001.JPEG"
    path = output_path(out, relpath, name, 2, "png")
    assert path.name == "ILSVRC2012_val_00000001.png" and path.is_file()
    with Image.open(path) as im:
        np.testing.assert_array_equal(np.asarray(im), expected_array(src, relpath, name, 2, 3))


# ------------------------------------------------------------------ determinism and splits


def test_workers_do_not_change_the_files(tmp_path):
    src = make_source(tmp_path, per_class=3)
    names = ",".join(cheap_corruptions(2))
    one = build_corrupted_set(src, tmp_path / "w1", corruptions=names, severities="1,5", seed=11,
                              workers=1, progress=False)  # fmt: skip
    two = build_corrupted_set(src, tmp_path / "w2", corruptions=names, severities="1,5", seed=11,
                              workers=2, progress=False)  # fmt: skip
    assert one.counts == two.counts
    a, b = files_under(tmp_path / "w1"), files_under(tmp_path / "w2")
    assert a == b and len(a) == 2 * 2 * 6
    # The seed matters (otherwise the equality above would be vacuous for random corruptions).
    build_corrupted_set(src, tmp_path / "s12", corruptions=names, severities="1,5", seed=12,
                        progress=False)  # fmt: skip
    c = files_under(tmp_path / "s12")
    name = cheap_corruptions(1)[0]
    assert all(a[k] != c[k] for k in a if k.startswith(name + "/"))


def test_shards_and_class_subsets_union_to_the_full_run(tmp_path):
    src = make_source(tmp_path, n_classes=3, per_class=2)
    name = cheap_corruptions(1)[0]
    kw = dict(corruptions=name, severities="2", seed=4, progress=False)
    build_corrupted_set(src, tmp_path / "full", **kw)
    for i in range(3):
        build_corrupted_set(src, tmp_path / "sharded", shard=f"{i}/3", **kw)
    build_corrupted_set(src, tmp_path / "by_class", classes=["n00000001", "n00000003"], **kw)
    build_corrupted_set(src, tmp_path / "by_class", classes=["n00000002"], **kw)
    full = files_under(tmp_path / "full")
    assert len(full) == 6
    assert files_under(tmp_path / "sharded") == full
    assert files_under(tmp_path / "by_class") == full
    shard_manifests = sorted(p.name for p in (tmp_path / "sharded").glob("manifest*.json"))
    assert shard_manifests == [f"manifest-shard-{i}-of-3.json" for i in range(3)]
    with pytest.raises(BuildConfigError, match="n09999999"):
        build_corrupted_set(src, tmp_path / "x", classes=["n09999999"], **kw)


# ------------------------------------------------------------------ resume


def test_resume_after_sigkill_gives_the_same_files(tmp_path):
    """Kill the CLI mid-run, rerun it: the files equal an uninterrupted run's."""
    src = make_source(tmp_path, n_classes=2, per_class=8)
    names = ",".join(cheap_corruptions(2))
    args = ["build", str(src), "", "--corruptions", names, "--severities", "1-5", "--seed", "9",
            "--no-progress"]  # fmt: skip
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": pythonpath}

    def cli(out: Path) -> list[str]:
        argv = list(args)
        argv[2] = str(out)
        return [sys.executable, "-m", "corruptions", *argv]

    out = tmp_path / "killed"
    proc = subprocess.Popen(cli(out), cwd=REPO, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(files_under(out) if out.exists() else {}) < 5:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = files_under(out)
    assert 5 <= len(partial) < 2 * 5 * 16, "the kill did not land mid-run"
    assert not (out / "manifest.json").exists() and (out / "manifest.inprogress.json").exists()

    subprocess.run(cli(out), cwd=REPO, env=env, check=True)
    subprocess.run(cli(tmp_path / "clean"), cwd=REPO, env=env, check=True)
    resumed, clean = files_under(out), files_under(tmp_path / "clean")
    assert resumed == clean and len(clean) == 2 * 5 * 16
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_files_already_present"] >= len(partial)
    assert manifest["n_files_written"] + manifest["n_files_already_present"] == len(clean)
    assert not list(out.rglob("*.part-*"))  # the killed run's temporary file was swept


def test_resume_refuses_other_seed_unless_forced(tmp_path):
    src = make_source(tmp_path, n_classes=1, per_class=1)
    name = cheap_corruptions(1)[0]
    kw = dict(corruptions=name, severities="1", progress=False)
    build_corrupted_set(src, tmp_path / "out", seed=1, **kw)
    with pytest.raises(BuildConfigError, match="seed: 1 on disk vs 2 now"):
        build_corrupted_set(src, tmp_path / "out", seed=2, **kw)
    with pytest.raises(BuildConfigError, match="format"):
        build_corrupted_set(src, tmp_path / "out", seed=1, format="png", **kw)
    again = build_corrupted_set(src, tmp_path / "out", seed=1, **kw)
    assert again.n_written == 0 and again.n_existing == 1
    forced = build_corrupted_set(src, tmp_path / "out", seed=2, force=True, **kw)
    assert forced.n_existing == 1  # existing files are kept, not rewritten


# ------------------------------------------------------------------ bad input


def test_bad_images_name_the_file_or_are_skipped(tmp_path):
    src = make_source(tmp_path, n_classes=1, per_class=2)
    bad = src / "n00000001" / "ILSVRC2012_val_00000099.JPEG"
    bad.write_bytes((src / "n00000001" / "ILSVRC2012_val_00000000.JPEG").read_bytes()[:200])
    name = cheap_corruptions(1)[0]
    kw = dict(corruptions=name, severities="1", progress=False)
    with pytest.raises(SourceImageError, match="ILSVRC2012_val_00000099.JPEG.*--skip-bad-images"):
        build_corrupted_set(src, tmp_path / "a", **kw)
    report = build_corrupted_set(src, tmp_path / "b", skip_bad_images=True, **kw)
    assert [b["file"] for b in report.bad_files] == ["n00000001/ILSVRC2012_val_00000099.JPEG"]
    assert report.counts == {name: {"1": 2}}
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["bad_files"][0]["file"].endswith("00000099.JPEG")


def test_source_without_class_folders_is_a_clear_error(tmp_path):
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(BuildConfigError, match=r"SRC/<wnid>/<image>"):
        build_corrupted_set(tmp_path / "flat", tmp_path / "out", corruptions=cheap_corruptions(1),
                            progress=False)  # fmt: skip


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    from corruptions.cli import main

    assert main(["build", str(tmp_path / "missing"), str(tmp_path / "out"), "--corruptions",
                 cheap_corruptions(1)[0], "--no-progress"]) == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err


def test_the_harness_imagenet_c_reader_opens_the_output(tmp_path):
    """The written layout is the one ``robustness.datasets.imagenet_c`` reads."""
    from robustness.datasets.imagenet_c import open_imagenet_c, units_on_disk

    src = make_source(tmp_path, n_classes=0)
    for wnid in ("n01440764", "n01443537"):
        (src / wnid).mkdir(parents=True)
        for i in range(2):
            img = np.full((40, 60, 3), 40 * i + 30, np.uint8)
            Image.fromarray(img).save(src / wnid / f"ILSVRC2012_val_{i:08d}.JPEG")
    name = cheap_corruptions(1)[0]
    build_corrupted_set(src, tmp_path / "c", corruptions=name, severities="2,4", progress=False)
    assert units_on_disk(tmp_path / "c") == [(name, 2), (name, 4)]
    testset = open_imagenet_c(tmp_path / "c", name, 4, allow_partial=True)
    assert list(testset.relpaths) == [f"{w}/ILSVRC2012_val_{i:08d}.JPEG"
                                      for w in ("n01440764", "n01443537") for i in range(2)]  # fmt: skip
    assert list(testset.labels) == [0, 0, 1, 1]  # ImageNet-1k indices of the two wnids


# ------------------------------------------------------------------ command-line input checks


def all_files(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``root`` (manifests included)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def cli_error(capsys, *argv: str) -> str:
    """Run ``python -m corruptions build ...`` in-process; it must end in one error line, code 2."""
    from corruptions.cli import main

    code = main(["build", *argv, "--corruptions", cheap_corruptions(1)[0], "--severities", "1",
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("python -m corruptions: error: "), err
    return lines[0]


@pytest.fixture
def finished_build(tmp_path) -> tuple[Path, Path, dict[str, bytes]]:
    """(src, out, every file of out) after one finished build."""
    src = make_source(tmp_path, n_classes=1, per_class=1)
    out = tmp_path / "out"
    build_corrupted_set(src, out, corruptions=cheap_corruptions(1), severities="1", progress=False)
    files = all_files(out)
    assert "manifest.json" in files and len(files) == 2
    return src, out, files


def test_cli_build_into_an_existing_file_is_one_error_line(tmp_path, capsys):
    src = make_source(tmp_path, n_classes=1, per_class=1)
    out = tmp_path / "out.tar"
    out.write_bytes(b"an archive, not a folder")
    line = cli_error(capsys, str(src), str(out))
    assert f"output folder {out} is an existing file, not a folder" in line
    assert out.read_bytes() == b"an archive, not a folder"


def test_cli_build_below_a_file_is_one_error_line(tmp_path, capsys):
    src = make_source(tmp_path, n_classes=1, per_class=1)
    blocker = tmp_path / "results"
    blocker.write_text("a file")
    line = cli_error(capsys, str(src), str(blocker / "imagenet-c"))
    assert f"cannot create output folder {blocker / 'imagenet-c'}: {blocker} is a file" in line


@pytest.mark.parametrize("src_kind", ["missing", "file"])
def test_cli_bad_source_is_one_error_line_and_leaves_out_unchanged(finished_build, capsys, src_kind):
    src, out, before = finished_build
    bad = src.parent / "nowhere"
    if src_kind == "file":
        bad = src.parent / "val.tar"
        bad.write_bytes(b"not a folder")
    line = cli_error(capsys, str(bad), str(out))
    expected = "does not exist" if src_kind == "missing" else "is a file, not a folder"
    assert f"source folder {bad} {expected}" in line and "SRC/<wnid>/<image>" in line
    assert all_files(out) == before  # no in-progress file, nothing swept or rewritten


def test_cli_unwritable_output_name_is_one_error_line(tmp_path, capsys):
    src = make_source(tmp_path, n_classes=1, per_class=1)
    out = tmp_path / ("x" * 300)  # longer than any file-name limit: the folder cannot be made
    line = cli_error(capsys, str(src), str(out))
    assert f"cannot write to output folder {out}" in line and "File name too long" in line
    assert out.name not in os.listdir(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders")  # fmt: skip
def test_cli_read_only_output_folder_is_one_error_line(finished_build, capsys):
    src, out, before = finished_build
    (out / "manifest.json").unlink()  # an unfinished build: the rerun would write
    before.pop("manifest.json")
    out.chmod(0o500)
    try:
        line = cli_error(capsys, str(src), str(out))
    finally:
        out.chmod(0o700)
    assert f"cannot write to output folder {out}: Permission denied" in line
    assert all_files(out) == before


def test_cli_output_folder_refusing_writes_is_one_error_line(finished_build, capsys, monkeypatch):
    """The same check without root's permission bypass: the builder's own ``open`` refuses writes."""
    import builtins
    import errno

    import corruptions.builder

    src, out, before = finished_build

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return builtins.open(file, mode, *args, **kwargs)

    monkeypatch.setattr(corruptions.builder, "open", read_only_open, raising=False)
    line = cli_error(capsys, str(src), str(out))
    assert f"cannot write to output folder {out}: Permission denied" in line
    assert all_files(out) == before


def test_cli_disk_full_while_writing_is_one_error_line(tmp_path, capsys, monkeypatch):
    import errno

    src = make_source(tmp_path, n_classes=1, per_class=1)
    out = tmp_path / "out"

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", no_space)
    line = cli_error(capsys, str(src), str(out))
    name = cheap_corruptions(1)[0]
    assert f"cannot write {out / name / '1' / 'n00000001' / 'ILSVRC2012_val_00000000.JPEG'}" in line
    assert "No space left on device" in line and "rerun the same command to resume" in line
    assert not [p for p in out.rglob("*") if ".part-" in p.name]


def test_cli_bad_source_image_is_named_once(tmp_path, capsys):
    src = make_source(tmp_path, n_classes=1, per_class=1)
    bad = src / "n00000001" / "ILSVRC2012_val_00000099.JPEG"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    line = cli_error(capsys, str(src), str(tmp_path / "out"))
    assert line.count("cannot read source image") == 1 and line.count(str(bad)) == 1
    assert line.count("--skip-bad-images") == 1


def test_float_and_bool_severities_and_seeds_are_refused_not_truncated(tmp_path):
    with pytest.raises(BuildConfigError, match=r"got 2.5 \(float\)"):
        parse_severities([2.5])  # used to become severity 2
    with pytest.raises(BuildConfigError, match=r"got True \(bool\)"):
        parse_severities([True, 3])
    assert parse_severities([np.int64(3), 1]) == (1, 3)
    src = make_source(tmp_path, n_classes=1, per_class=1)
    with pytest.raises(BuildConfigError, match=r"seed must be an integer .* got 1.5"):
        build_corrupted_set(src, tmp_path / "out", seed=1.5, corruptions=cheap_corruptions(1),
                            severities="1", progress=False)  # fmt: skip
    assert not (tmp_path / "out").exists()
