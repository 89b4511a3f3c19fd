"""The command-line contract of ``robustness eval`` and friends, case by case.

A user's mistake ends in exit code 2 with one message on stderr that names the
input, no traceback, and no finished unit or table changed. The runs use a real
timm architecture (resnet10t, random weights written to a safetensors file) on
an ImageNet-val folder tree written into ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import timm
from PIL import Image
from safetensors.torch import save_file

from robustness.cli import main
from robustness.datasets.classes import subset_wnids, wnid_to_index
from robustness.datasets.imagenet import imagenet_wnids
from robustness.store import Store

MODEL = "resnet10t"  # resolves to resnet10t.c3_in1k
CANONICAL = "resnet10t.c3_in1k"


def val_tree(root: Path, classes=(0, 1, 2), per_class: int = 2) -> Path:
    for c in classes:
        folder = root / "imagenet" / "val" / imagenet_wnids()[c]
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (40, 32), (40 * c + 10 * i, 90, 200 - 30 * c)).save(folder / f"img{i}.JPEG")
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("world")
    weights = base / "resnet10t.safetensors"
    save_file(timm.create_model(MODEL, pretrained=False).state_dict(), str(weights))
    data = val_tree(base / "data")
    out = base / "out"
    code = main(["eval", "--models", MODEL, "--weights", f"{MODEL}={weights}", "--test-sets", "imagenet",
                 "--data-root", str(data), "--allow-partial", "--out", str(out), "--device", "cpu",
                 "--workers", "0", "--batch-size", "4", "--no-progress"])
    assert code == 0
    return {"weights": weights, "data": data, "out": out, "file": _touch(base / "a-file")}


def _touch(path: Path) -> Path:
    path.write_text("not a folder\n")
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def eval_args(world, *extra: str, models: str = MODEL, datasets: str = "imagenet") -> list[str]:
    return ["eval", "--models", models, "--test-sets", datasets, "--data-root", str(world["data"]),
            "--allow-partial", "--out", str(world["out"]), "--device", "cpu", "--workers", "0",
            "--no-progress", *extra]


def test_weights_given_by_short_name_are_the_weights_evaluated(world):
    (unit,) = Store(world["out"]).iter_units()
    meta = unit.read_meta()
    assert meta["model"]["name"] == CANONICAL
    assert meta["model"]["weights"] == str(world["weights"].resolve())
    assert meta["model"]["weights_sha256"] == hashlib.sha256(world["weights"].read_bytes()).hexdigest()
    models = pd.read_csv(world["out"] / "models.csv")
    assert models.loc[0, "weights_sha256"] == meta["model"]["weights_sha256"]


def test_partial_sets_are_visible_in_tables_terminal_and_notes(world, capsys):
    table = pd.read_csv(world["out"] / "results-imagenet.csv", keep_default_na=False)
    assert table.loc[0, "partial"].startswith("incomplete: 997 of 1000 class folders")
    code = main(eval_args(world, "--weights", f"{MODEL}={world['weights']}"))
    assert code == 0
    assert "PARTIAL SET: incomplete: 997 of 1000" in capsys.readouterr().out
    assert main(["report", "--out", str(world["out"]), "--no-plots"]) == 0
    printed = capsys.readouterr().out
    top1 = pd.read_csv(world["out"] / "results-imagenet.csv")["top1"].iloc[0]
    assert "top-1 (%)" in printed and f"{CANONICAL}" in printed and f"{top1:.2f}" in printed
    notes = (world["out"] / "notes.txt").read_text()
    assert f"PARTIAL imagenet: incomplete: 997 of 1000 class folders are missing or empty (units of {CANONICAL})" in notes


# (case id, argv after the common ones, text the one message must contain)
MISTAKES = [
    ("weights-for-another-model", lambda w: eval_args(w, "--weights", f"resnet18={w['weights']}"),
     "resnet18"),
    ("weights-file-missing", lambda w: eval_args(w, "--weights", f"{MODEL}={w['data'] / 'nope.pth'}"),
     "nope.pth: no such file"),
    ("weights-not-a-tensor-file", lambda w: eval_args(w, "--weights", f"{MODEL}={w['file']}"),
     "not a readable torch or safetensors"),
    ("root-typo", lambda w: eval_args(w, "--root", f"imagenett={w['data']}"), "--root imagenett"),
    ("dataset-option-typo", lambda w: eval_args(w, "--dataset-option", "imagenett:allow_partial=true"),
     "--dataset-option imagenett"),
    ("dataset-option-unknown-key", lambda w: eval_args(w, "--dataset-option", "imagenet:border=2"),
     "unknown option(s) border"),
    ("out-is-a-file", lambda w: [*eval_args(w)[:-7], "--out", str(w["file"]), "--device", "cpu"],
     "is a file"),
    ("unknown-model", lambda w: eval_args(w, models="resnet5000"), "resnet5000"),
    ("unknown-test-set", lambda w: eval_args(w, datasets="imagenet-x"), "imagenet-x"),
    ("missing-test-set-folder", lambda w: eval_args(w, datasets="imagenet,imagenet-sketch"),
     "imagenet-sketch"),
    ("device-that-is-not-here", lambda w: eval_args(w, "--device", "cuda:99"), "--device cuda:99"),
    ("bare-weights-with-two-models", lambda w: eval_args(w, "--weights", str(w["weights"]),
                                                         models=f"{MODEL},resnet18"), "--weights"),
    ("unknown-model-family", lambda w: ["models", "--family", "vitt"], "did you mean vit"),
]


@pytest.mark.parametrize("argv, needle", [(c[1], c[2]) for c in MISTAKES], ids=[c[0] for c in MISTAKES])
def test_a_mistake_is_one_message_exit_2_and_changes_nothing(world, capsys, argv, needle):
    before = snapshot(world["out"])
    code = main(argv(world))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("robustness: error:") and needle in err, err
    assert "Traceback" not in err
    assert err.count("robustness: error:") == 1, err  # one message (a layout error lists where it looked)
    assert snapshot(world["out"]) == before


def test_all_problems_of_a_run_are_reported_together(world, capsys):
    before = snapshot(world["out"])
    code = main(eval_args(world, "--root", "imagenett=/x", "--dataset-option", "imagenet-r:a=1",
                          "--weights", f"resnet18={world['weights']}"))
    err = capsys.readouterr().err
    assert code == 2 and "3 problems, nothing was run" in err and "Traceback" not in err
    assert "--root imagenett" in err and "--dataset-option imagenet-r" in err and "resnet18" in err
    assert snapshot(world["out"]) == before


@pytest.mark.parametrize("argv, flag", [(["--batch-size", "0"], "--batch-size"),
                                        (["--batch-size", "-4"], "--batch-size"),
                                        (["--workers", "-1"], "--workers")])
def test_numbers_out_of_range_are_refused(world, capsys, argv, flag):
    with pytest.raises(SystemExit) as exit_info:
        main(eval_args(world, *argv))
    assert exit_info.value.code == 2 and flag in capsys.readouterr().err


def test_debug_shows_the_traceback_of_a_user_error(world, capsys):
    assert main(["--debug", *eval_args(world, datasets="imagenet-x")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "robustness: error: unknown test set 'imagenet-x'" in err


def test_only_failed_reruns_a_unit_whose_model_did_not_load(tmp_path, world, capsys):
    broken = tmp_path / "resnet18.safetensors"  # a 1000-class head, but another architecture
    save_file(timm.create_model("resnet18", pretrained=False).state_dict(), str(broken))
    out = tmp_path / "out"
    args = ["eval", "--models", MODEL, "--test-sets", "imagenet", "--data-root", str(world["data"]),
            "--allow-partial", "--out", str(out), "--device", "cpu", "--workers", "0", "--no-progress"]
    assert main([*args, "--weights", f"{MODEL}={broken}"]) == 1
    assert main(["status", "--out", str(out)]) == 0
    status = capsys.readouterr().out
    assert "1 failed" in status and f"FAILED {CANONICAL} on imagenet" in status
    assert main([*args, "--weights", f"{MODEL}={world['weights']}", "--only-failed"]) == 0
    assert [u.read_meta()["model"]["name"] for u in Store(out).iter_units()] == [CANONICAL]
    assert main(["status", "--out", str(out)]) == 0
    assert "1 units: 1 done" in capsys.readouterr().out


def test_commands_that_need_no_model_do_not_import_torch(tmp_path):
    """status, report, analyze, models and datasets read files and tables only (torch costs
    seconds at start-up, scipy.stats about 0.4 s); checked in a fresh interpreter on a store
    built without torch."""
    tests = Path(__file__).resolve().parent
    out = str(tmp_path / "res")
    build = (f"import sys\nsys.path.insert(0, {str(tests)!r})\n"
             "from demo_kind_store import build_demo_kind_store\n"
             f"build_demo_kind_store({out!r}, seed=0, corruptions=False)\n")
    subprocess.run([sys.executable, "-c", build], capture_output=True, text=True, check=True)
    code = ("import contextlib, io, sys\nfrom robustness.cli import main\n"
            f"out = {out!r}\n"
            "for args in (['status', '--out', out], ['report', '--out', out, '--no-plots'],\n"
            "             ['analyze', '--help'], ['models'], ['models', '--family', 'resnet'],\n"
            f"             ['datasets', '--data-root', {str(tmp_path)!r}]):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n            code = main(args)\n        except SystemExit as exc:\n"
            "            code = exc.code\n"
            "    print(args[0], code, 'torch' in sys.modules, 'scipy.stats' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    assert lines == ["status 0 False False", "report 0 False False", "analyze 0 False False",
                     "models 0 False False", "models 0 False False", "datasets 0 False False"], out


def test_help_does_not_import_torch():
    code = ("import sys\nfrom robustness.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint('torch' in sys.modules, 'timm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"


def test_skipped_images_are_visible_in_tables_terminal_and_notes(tmp_path, world, capsys):
    data = val_tree(tmp_path / "data")
    bad = next((data / "imagenet" / "val").glob("*/img1.JPEG"))
    bad.write_bytes(bad.read_bytes()[:40])  # truncated: cannot be decoded
    out = tmp_path / "out"
    args = ["eval", "--models", MODEL, "--weights", f"{MODEL}={world['weights']}", "--test-sets",
            "imagenet", "--data-root", str(data), "--allow-partial", "--out", str(out), "--device", "cpu",
            "--workers", "0", "--no-progress"]
    assert main(args) == 1  # without --skip-bad-images the unit fails, naming the file
    assert bad.name in capsys.readouterr().out
    assert main([*args, "--skip-bad-images"]) == 0
    assert "1 unreadable images skipped" in capsys.readouterr().out
    table = pd.read_csv(out / "results-imagenet.csv", keep_default_na=False)
    assert table.loc[0, "n_skipped"] == 1 and table.loc[0, "n"] == 5
    assert main(["report", "--out", str(out), "--no-plots"]) == 0
    assert f"SKIPPED IMAGES {CANONICAL} on imagenet: 1 unreadable" in (out / "notes.txt").read_text()


def test_eval_adds_the_class_matched_baseline_so_the_report_has_the_gap(tmp_path, world, capsys):
    r_wnids = subset_wnids("imagenet-r")[:2]
    data = val_tree(tmp_path / "data", classes=[wnid_to_index()[w] for w in r_wnids])
    for k, wnid in enumerate(r_wnids):
        folder = data / "imagenet-r" / wnid
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (36, 30), (200 - 60 * k, 30 * i, 90)).save(folder / f"art_{i}.jpg")
    out = tmp_path / "out"
    assert main(["eval", "--models", MODEL, "--weights", f"{MODEL}={world['weights']}", "--test-sets",
                 "imagenet-r", "--data-root", str(data), "--allow-partial", "--out", str(out),
                 "--device", "cpu", "--workers", "0", "--no-progress"]) == 0
    assert "adding the baselines the gaps need: imagenet-r-clean" in capsys.readouterr().err
    assert main(["report", "--out", str(out), "--no-plots"]) == 0
    gaps = pd.read_csv(out / "gaps.csv")
    (row,) = gaps[gaps["shift"] == "imagenet-r"].itertuples()
    shifted = pd.read_csv(out / "results-imagenet-r.csv")["top1"].iloc[0]
    clean = pd.read_csv(out / "results-imagenet-r-clean.csv")["top1"].iloc[0]
    assert row.baseline == "imagenet-r-clean" and row.gap == pytest.approx(shifted - clean, abs=1e-3)


def test_old_flag_names_are_aliases_of_the_option_field_names():
    """``--datasets`` and ``--slurm-partition`` (before the vocabulary pass) parse to the same
    options as ``--test-sets`` and ``--partition``, the names of the fields they set."""
    from robustness.cli import build_parser

    parser = build_parser()
    common = ["eval", "--models", "m", "--executor", "slurm"]
    new = parser.parse_args([*common, "--test-sets", "imagenet,imagenet-r", "--partition", "gpu"])
    old = parser.parse_args([*common, "--datasets", "imagenet,imagenet-r", "--slurm-partition", "gpu"])
    assert vars(new) == vars(old)
    assert (new.test_sets, new.partition) == (["imagenet,imagenet-r"], "gpu")
