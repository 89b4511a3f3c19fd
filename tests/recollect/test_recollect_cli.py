"""End to end: ``recollect`` writes a set the ImageNetV2 reader reads; ``replication-report``
reads the store and prints/writes the three gaps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from recollect_helpers import WNIDS

from robustness.cli import main
from robustness.datasets.classes import wnid_to_index
from robustness.datasets.imagenetv2 import open_imagenetv2
from robustness.recollect.pool import load_pool
from robustness.stats.replication import replication_gaps
from robustness.store import Store, UnitRecords


def _image(seed: int) -> Image.Image:
    grid = (np.random.default_rng(seed).random((4, 4, 3)) * 255).astype(np.uint8)
    return Image.fromarray(grid).resize((48, 48), Image.Resampling.BICUBIC)


def _build_pools(tmp_path, n_classes=3, n_cands=12, n_orig=20, short_class_cands=3):
    rng = np.random.default_rng(0)
    cands, origs = [], []
    for c, wnid in enumerate(WNIDS[:n_classes]):
        n = short_class_cands if c == n_classes - 1 else n_cands
        for i in range(n):
            path = f"cand/{wnid}/c{i:02d}.jpg"
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            _image(1000 * c + i).save(tmp_path / path, quality=90)
            cands.append(dict(path=path, wnid=wnid, shown=10, selected=int(rng.integers(0, 11))))
        for i in range(n_orig):
            path = f"orig/{wnid}/o{i:02d}.png"
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            _image(500000 + 1000 * c + i).save(tmp_path / path)
            origs.append(dict(path=path, wnid=wnid, shown=10, selected=int(rng.integers(0, 11))))
    # plant a re-encoded, resized copy of an original among class 0's candidates
    dup = f"cand/{WNIDS[0]}/copy_of_o00.jpg"
    _image(500000).resize((40, 40)).save(tmp_path / dup, quality=70)
    cands.append(dict(path=dup, wnid=WNIDS[0], shown=10, selected=10))
    pd.DataFrame(cands).to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame(origs).to_csv(tmp_path / "originals.csv", index=False)
    return tmp_path / "pool.csv", tmp_path / "originals.csv"


@pytest.mark.parametrize("strategy", ["matched-frequency", "threshold", "top-images"])
def test_recollect_writes_imagenetv2_layout(tmp_path, capsys, strategy):
    pool, originals = _build_pools(tmp_path)
    out = tmp_path / "newset"
    code = main(["recollect", str(pool), str(out), "--strategy", strategy, "--originals", str(originals),
                 "--k", "5", "--threshold", "0.3", "--screen-duplicates"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    test_set = open_imagenetv2(out, "matched-frequency", allow_partial=True)
    manifest = load_pool(out / "manifest.csv")  # the manifest is itself a valid pool file
    index = wnid_to_index()
    assert sorted(manifest.table["path"]) == sorted(test_set.relpaths)
    for relpath, label in zip(test_set.relpaths, test_set.labels):
        row = manifest.table[manifest.table["path"] == relpath].iloc[0]
        assert label == index[row["wnid"]] == int(relpath.split("/")[0])
        assert (tmp_path / row["source_path"]).read_bytes() == (out / relpath).read_bytes()
    assert "copy_of_o00" not in " ".join(manifest.table["source_path"])  # screened out
    removed = pd.read_csv(out / "removed_duplicates.csv")
    assert removed["path"].tolist() == [f"cand/{WNIDS[0]}/copy_of_o00.jpg"]
    info = json.loads((out / "manifest.json").read_text())
    assert info["strategy"] == strategy and info["n_images"] == len(manifest)
    # the last class has 3 candidates for k = 5: reported, not silently smaller
    assert WNIDS[2] in {s["wnid"] for s in info["shortfalls"]}
    assert f"short: {WNIDS[2]}" in printed


def test_recollect_is_deterministic_and_refuses_non_empty_out(tmp_path, capsys):
    pool, originals = _build_pools(tmp_path)
    for name in ("a", "b"):
        assert main(["recollect", str(pool), str(tmp_path / name), "--originals", str(originals),
                     "--k", "5", "--seed", "3"]) == 0  # fmt: skip
    a = pd.read_csv(tmp_path / "a" / "manifest.csv")
    b = pd.read_csv(tmp_path / "b" / "manifest.csv")
    pd.testing.assert_frame_equal(a, b)
    assert main(["recollect", str(pool), str(tmp_path / "a"), "--originals", str(originals)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["recollect", str(pool), str(tmp_path / "c")]) == 2  # matched-frequency needs originals
    assert "--originals" in capsys.readouterr().err


def _store_unit(results, model, test_set, relpaths, correct):
    unit = Store(results).unit(model, test_set, "0" * 64)
    correct = np.asarray(correct, bool)
    n = len(correct)
    records = UnitRecords(index=np.arange(n), relpath=np.array(relpaths), label=np.zeros(n, np.int64),
                          top5=np.zeros((n, 5), np.int16), correct1=correct, correct5=correct,
                          correct1_all=correct, correct5_all=correct)
    unit.finish(records.to_arrays(), {"model": {"name": model}, "test_set": {"name": test_set}})


def test_replication_report_from_the_store(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n_orig, n_new = 800, 600
    p_orig, p_new = rng.beta(6, 2, n_orig), rng.beta(3, 2, n_new)
    correct_orig = rng.random(n_orig) < 0.2 + 0.7 * p_orig
    correct_new = rng.random(n_new) < 0.2 + 0.7 * p_new
    votes_orig, votes_new = rng.binomial(10, p_orig), rng.binomial(10, p_new)
    orig_paths = [f"{WNIDS[i % 5]}/val_{i:05d}.JPEG" for i in range(n_orig)]
    new_paths = [f"{i % 7}/new_{i:05d}.jpeg" for i in range(n_new)]
    results = tmp_path / "results"
    _store_unit(results, "toy", "imagenet", orig_paths, correct_orig)
    _store_unit(results, "toy", "mine", new_paths, correct_new)
    pd.DataFrame(dict(path=orig_paths, wnid=[WNIDS[i % 5] for i in range(n_orig)], shown=10,
                      selected=votes_orig)).to_csv(tmp_path / "orig_freq.csv", index=False)  # fmt: skip
    # the new set's table lacks 10 images: they are left out and reported
    pd.DataFrame(dict(path=new_paths[10:], wnid=WNIDS[0], shown=10,
                      selected=votes_new[10:])).to_csv(tmp_path / "new_freq.csv", index=False)  # fmt: skip
    target = tmp_path / "report.json"
    code = main(["replication-report", "--out", str(results), "--model", "toy", "--new-set", "mine",
                 "--original-frequencies", str(tmp_path / "orig_freq.csv"),
                 "--new-frequencies", str(tmp_path / "new_freq.csv"),
                 "--resamples", "100", "--draws", "4", "--json", str(target)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    for label in ("naive gap", "adjusted gap", "corrected gap"):
        assert label in printed
    assert "10 of 600 new images have no frequency" in printed
    report = json.loads(target.read_text())
    expected = replication_gaps(correct_orig, votes_orig, np.full(n_orig, 10), correct_new[10:],
                                votes_new[10:], np.full(n_new - 10, 10), n_draws=4, n_resamples=100)  # fmt: skip
    assert report["naive_gap"]["estimate"] == pytest.approx(correct_new[10:].mean() - correct_orig.mean())
    for name in ("naive_gap", "adjusted_gap", "corrected_gap"):
        assert report[name]["estimate"] == pytest.approx(getattr(expected, name).estimate)
        assert report[name]["low"] <= report[name]["estimate"] <= report[name]["high"]
    assert report["n_new"] == 590


def test_replication_report_names_missing_units(tmp_path, capsys):
    code = main(["replication-report", "--out", str(tmp_path), "--model", "toy", "--new-set", "mine",
                 "--original-frequencies", "x.csv", "--new-frequencies", "y.csv"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "no finished unit for model 'toy' on test set 'imagenet'" in err and "robustness eval" in err


# ---------------------------------------------------------------- bad pool files, through `robustness`


def _png_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    _image(7).save(buffer, format="PNG")
    return buffer.getvalue()


POOL_HEADER = "path,wnid,shown,selected"
#: (case, content of the bad pool file, fragments the message must hold)
BAD_POOLS = [
    ("empty", b"", ["the file is empty", POOL_HEADER]),
    ("blank lines only", b"\n \n\n", ["the file is empty"]),
    ("png renamed .csv", None, ["PNG image", POOL_HEADER]),
    ("binary", bytes(range(256)) * 8, ["NUL bytes", POOL_HEADER]),
    ("header only", f"{POOL_HEADER}\n".encode(), ["header but no rows", POOL_HEADER]),
    ("missing selected", f"path,wnid,shown\na.jpg,{WNIDS[0]},10\n".encode(),
     ["missing column(s) selected", POOL_HEADER]),
    ("missing wnid and shown", b"path,selected\na.jpg,3\n", ["missing column(s) wnid, shown"]),
    ("non-numeric shown", f"{POOL_HEADER}\na.jpg,{WNIDS[0]},10,3\nb.jpg,{WNIDS[0]},ten,3\n".encode(),
     ["column 'shown' must hold whole numbers", "rows 3", "'ten'", POOL_HEADER]),
    ("non-numeric selected", f"{POOL_HEADER}\na.jpg,{WNIDS[0]},10,some\n".encode(),
     ["column 'selected' must hold whole numbers", "'some'"]),
    ("fractional selected", f"{POOL_HEADER}\na.jpg,{WNIDS[0]},10,2.5\n".encode(),
     ["column 'selected' must hold whole numbers"]),
    ("ragged row", f"{POOL_HEADER}\na.jpg,{WNIDS[0]},10,3,x,y,z,w,v\n".encode(),
     ["cannot read as CSV"]),
]


@pytest.mark.parametrize("role", ["pool", "originals"])
@pytest.mark.parametrize(("case", "content", "fragments"), BAD_POOLS, ids=[c[0] for c in BAD_POOLS])
def test_recollect_refuses_a_bad_pool_file_with_one_message(tmp_path, capsys, role, case, content,
                                                            fragments):
    pool, originals = _build_pools(tmp_path, n_classes=2, n_cands=3, n_orig=3)
    bad = tmp_path / "bad" / "pool.csv"
    bad.parent.mkdir()
    bad.write_bytes(_png_bytes() if content is None else content)
    out = tmp_path / "newset"
    files = {"pool": bad, "originals": originals} if role == "pool" else {"pool": pool, "originals": bad}
    code = main(["recollect", str(files["pool"]), str(out), "--strategy", "matched-frequency",
                            "--originals", str(files["originals"]), "--k", "2"])  # fmt: skip
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured.err
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("robustness: error: ") and str(bad) in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in captured.out + captured.err
    assert not out.exists()  # nothing written


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--strategy", "threshold", "--class-threshold", f"{WNIDS[0]}=high"],
     [f"--class-threshold {WNIDS[0]}=high", "WNID=T", "--class-threshold n01440764=0.6"]),
    (["--strategy", "threshold", "--class-threshold", "0.6"], ["--class-threshold 0.6", "WNID=T"]),
    (["--strategy", "threshold", "--class-threshold", f"{WNIDS[0]}=1.5"], ["in [0, 1]"]),
    (["--strategy", "matched-frequency"], ["needs --originals"]),
], ids=["threshold-not-a-number", "threshold-without-wnid", "threshold-above-1", "no-originals"])
def test_recollect_refuses_bad_options_before_writing(tmp_path, capsys, argv, fragments):
    pool, _ = _build_pools(tmp_path, n_classes=2, n_cands=3, n_orig=3)
    out = tmp_path / "newset"
    code = main(["recollect", str(pool), str(out), "--k", "2", "--screen-duplicates", *argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, captured.err
    assert lines[0].startswith("robustness: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in captured.out + captured.err
    assert not out.exists()


def test_uncovered_strata_rule_from_the_command_line(tmp_path, capsys):
    """Original images whose vote count no new image has: the default counts them as accuracy 0
    (run_jackknife.py), --uncovered-strata drop renormalises; each prints the other's estimate,
    and the two estimates swap between the runs."""
    rng = np.random.default_rng(2)
    n = 300
    orig_paths = [f"{WNIDS[i % 5]}/val_{i:05d}.JPEG" for i in range(n)]
    new_paths = [f"{i % 7}/new_{i:05d}.jpeg" for i in range(n)]
    results = tmp_path / "results"
    _store_unit(results, "toy", "imagenet", orig_paths, rng.random(n) < 0.8)
    _store_unit(results, "toy", "mine", new_paths, rng.random(n) < 0.6)
    votes_orig = rng.integers(0, 11, n)  # every vote count 0..10
    votes_new = rng.integers(3, 11, n)  # none with 0-2 votes: those strata are uncovered
    pd.DataFrame(dict(path=orig_paths, wnid=WNIDS[0], shown=10, selected=votes_orig)).to_csv(
        tmp_path / "o.csv", index=False)
    pd.DataFrame(dict(path=new_paths, wnid=WNIDS[0], shown=10, selected=votes_new)).to_csv(
        tmp_path / "n.csv", index=False)
    reports = {}
    for rule in ("zero", "drop"):
        target = tmp_path / f"{rule}.json"
        args = ["replication-report", "--out", str(results), "--model", "toy", "--new-set", "mine",
                "--original-frequencies", str(tmp_path / "o.csv"), "--new-frequencies", str(tmp_path / "n.csv"),
                "--resamples", "50", "--draws", "2", "--json", str(target)]
        assert main([*args, "--uncovered-strata", rule] if rule != "zero" else args) == 0
        assert "uncovered strata:" in capsys.readouterr().out
        reports[rule] = json.loads(target.read_text())
    zero, drop = reports["zero"], reports["drop"]
    assert (zero["uncovered_strata"], drop["uncovered_strata"]) == ("zero", "drop")
    assert zero["uncovered_fraction"] == pytest.approx(drop["uncovered_fraction"])
    assert 0.1 < zero["uncovered_fraction"] < 0.5
    assert zero["corrected_gap_other_rule"] == pytest.approx(drop["corrected_gap"]["estimate"])
    assert drop["corrected_gap_other_rule"] == pytest.approx(zero["corrected_gap"]["estimate"])
    assert zero["corrected_gap"]["estimate"] != pytest.approx(drop["corrected_gap"]["estimate"])
