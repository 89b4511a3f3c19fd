"""Published tables as analysis inputs: timm results CSVs and the imagenet-testbed wide CSV.

Main tests use small hand-written tables in tmp_path; the tests on the real published tables
(``../shared/data/published``) skip when that folder is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from robustness.cli import main
from robustness.datasets.catalogue import published_images
from robustness.report import published
from robustness.report.analysis import FIT_COLUMNS, GAP_COLUMNS, INDEPENDENT_METHOD
from robustness.report.published import (
    TableFormatError,
    analyze_published,
    published_accuracy_frame,
    read_timm_csv,
    timm_set_name,
)
from robustness.stats.corruption import ALEXNET_CLEAN_ERROR, COMMON_CORRUPTIONS, alexnet_errors

PUBLISHED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "published"
needs_published = pytest.mark.skipif(
    not PUBLISHED.is_dir(), reason=f"published tables not found at {PUBLISHED} (only in the "
    "project's shared data folder; the hand-made tables above test the same code)")

HEADER = "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation"
DIFF_HEADER = HEADER + ",top1_diff,top5_diff,rank_diff"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def timm_pair(tmp_path):
    """Three models on val and ImageNetV2, timm-formatted (signed diffs, thousands separator)."""
    val = write(tmp_path / "results-imagenet.csv", [
        HEADER,
        'big,224,80.000,20.000,95.000,5.000,"1,013.01",1.000,bicubic',
        "mid,224,70.000,30.000,90.000,10.000,25.56,0.875,bilinear",
        "small,224,60.000,40.000,85.000,15.000,5.29,0.875,bilinear",
    ])
    v2 = write(tmp_path / "results-imagenetv2-matched-frequency.csv", [
        DIFF_HEADER,
        'big,224,70.000,30.000,90.000,10.000,"1,013.01",1.000,bicubic,-10.000,-5.000,0',
        "mid,224,57.000,43.000,80.000,20.000,25.56,0.875,bilinear,-13.000,-10.000,0",
        "small,224,48.000,52.000,75.000,25.000,5.29,0.875,bilinear,-12.000,-10.000,+0",
    ])
    return val, v2


def test_timm_csv_numbers_are_parsed_not_misread(tmp_path):
    _, v2 = timm_pair(tmp_path)
    table = read_timm_csv(v2)
    assert table["param_count"].tolist() == [1013.01, 25.56, 5.29]
    assert table["top1_diff"].tolist() == [-10.0, -13.0, -12.0]
    assert table["rank_diff"].tolist() == [0, 0, 0]
    assert timm_set_name(v2) == "imagenetv2-matched-frequency"
    assert timm_set_name("x/timm-results-sketch.csv") == "imagenet-sketch"


def test_timm_pair_gives_newcombe_gaps_and_hand_computed_fits(tmp_path):
    val, v2 = timm_pair(tmp_path)
    acc, result = analyze_published([val, v2])
    gaps = result.gaps.set_index("model")
    assert list(result.gaps.columns) == GAP_COLUMNS
    big = gaps.loc["big"]
    assert (big["baseline_top1"], big["shift_top1"], big["gap"]) == (80.0, 70.0, pytest.approx(-10))
    assert (big["n_baseline"], big["n_shift"]) == (50_000, 10_000)
    assert big["method"] == INDEPENDENT_METHOD and np.isnan(big["p_value"])
    # Newcombe: Wilson half-widths combined in quadrature; at these n nearly the Wald interval
    z = stats.norm.ppf(0.975)
    wald = z * np.sqrt(0.7 * 0.3 / 10_000 + 0.8 * 0.2 / 50_000)
    assert big["gap_low"] == pytest.approx(-10 - 100 * wald, abs=0.02)
    assert big["gap_high"] == pytest.approx(-10 + 100 * wald, abs=0.02)

    fits = result.fits.set_index("scale")
    assert list(result.fits.columns) == FIT_COLUMNS
    x, y = np.array([0.8, 0.7, 0.6]), np.array([0.7, 0.57, 0.48])
    slope, intercept = np.polyfit(stats.norm.ppf(x), stats.norm.ppf(y), 1)
    assert fits.loc["probit", "slope"] == pytest.approx(slope)
    assert fits.loc["probit", "intercept"] == pytest.approx(intercept)
    assert fits.loc["linear", "slope"] == pytest.approx(1.1)  # (0.70 - 0.48) / (0.80 - 0.60)
    assert fits.loc["linear", "n_models"] == 3


def test_models_at_two_sizes_are_kept_apart(tmp_path):
    val = write(tmp_path / "results-imagenet.csv", [
        HEADER, "m,288,81.0,19.0,95,5,3.7,0.95,bicubic", "m,224,79.0,21.0,94,6,3.7,0.875,bicubic"])
    v2 = write(tmp_path / "results-imagenetv2-matched-frequency.csv", [
        DIFF_HEADER, "m,224,68.0,32.0,88,12,3.7,0.875,bicubic,-11.0,-6.0,+1",
        "m,288,67.0,33.0,88,12,3.7,0.95,bicubic,-14.0,-7.0,-1"])
    acc, _ = published_accuracy_frame([val, v2])
    gaps = analyze_published([val, v2])[1].gaps.set_index("model")["gap"]
    assert gaps["m@224"] == pytest.approx(-11.0) and gaps["m@288"] == pytest.approx(-14.0)
    assert sorted(acc["model"].unique()) == ["m@224", "m@288"]


def test_renditions_use_their_clean_baseline_or_none(tmp_path):
    val, _ = timm_pair(tmp_path)
    r = write(tmp_path / "results-imagenet-r.csv", [DIFF_HEADER, "big,224,50.0,50.0,70,30,1,1,b,-45,-29,0"])
    clean = write(tmp_path / "results-imagenet-r-clean.csv", [HEADER, "big,224,95.0,5.0,99,1,1,1,b"])
    acc, result = analyze_published([val, r, clean])
    row = result.gaps.iloc[0]
    assert (row["shift"], row["baseline"], row["gap"]) == ("imagenet-r", "imagenet-r-clean",
                                                           pytest.approx(-45.0))
    assert (row["n_baseline"], row["n_shift"]) == (published_images("imagenet-r-clean"), 30_000)
    _, alone = analyze_published([val, r])
    assert alone.gaps.empty
    assert any("imagenet-r-clean was not given" in n for n in alone.notes)


def test_baseline_option_and_unknown_sizes(tmp_path):
    val, v2 = timm_pair(tmp_path)
    other = write(tmp_path / "results-my-set.csv", [
        DIFF_HEADER, "big,224,60,40,80,20,1,1,b,-20,0,0", "mid,224,50,50,70,30,1,1,b,-20,0,0",
        "small,224,45,55,70,30,1,1,b,-15,0,0"])
    # the baseline is named explicitly although it is not the first file
    _, result = analyze_published([v2, other], baseline=val)
    assert set(result.fits["shift"]) == {"imagenetv2-matched-frequency", "my-set"}
    assert set(result.gaps["shift"]) == {"imagenetv2-matched-frequency"}  # my-set has no n
    assert any("--n my-set=N" in n for n in result.notes)
    _, sized = analyze_published([val, v2, other], sizes={"my-set": 400})
    row = sized.gaps[sized.gaps["shift"] == "my-set"].set_index("model").loc["big"]
    assert row["n_shift"] == 400 and row["gap"] == pytest.approx(-20.0)


def write_testbed(tmp_path, models: dict[str, dict[str, float]]) -> Path:
    frame = pd.DataFrame.from_dict(models, orient="index")
    frame.index.name = "model"
    path = tmp_path / "testbed.csv"
    frame.reset_index().to_csv(path, index=False)
    return path


def test_testbed_settings_and_imagenet_c_mode(tmp_path):
    path = write_testbed(tmp_path, {
        "r50": {"val": 76.0, "imagenetv2-matched-frequency-format-val": 63.0,
                "imagenetv2-matched-frequency": 62.0, "imagenet-c.fog.1_on-disk": 60.0,
                "imagenet-c.fog.1_in-memory": 61.0, "pgd.linf.eps2": 1.0,
                "imagenet-a": 2.0, "val-on-imagenet-a-classes": 90.0},
    })
    acc, notes = published.testbed_accuracy_frame(path)
    top1 = acc.set_index("test_set")["top1"]
    assert top1["imagenet"] == 76.0 and top1["imagenetv2-matched-frequency"] == 63.0
    assert top1["imagenet-c.fog.1"] == 60.0
    assert acc.set_index("test_set").loc["imagenet-a", "baseline"] == "imagenet-a-clean"
    assert any("pgd.linf.eps2" in n for n in notes)
    in_memory, _ = published.testbed_accuracy_frame(path, c_mode="in-memory")
    assert in_memory.set_index("test_set").loc["imagenet-c.fog.1", "top1"] == 61.0


def test_testbed_imagenet_c_gives_alexnet_normalised_metrics(tmp_path):
    alex = alexnet_errors()
    columns = {"val": 100 * (1 - ALEXNET_CLEAN_ERROR)}
    for c in COMMON_CORRUPTIONS:
        for s in range(1, 6):
            columns[f"imagenet-c.{c}.{s}_on-disk"] = 100 * (1 - alex[c][s - 1])
    path = write_testbed(tmp_path, {"alexnet-like": columns})
    _, result = analyze_published([path])
    assert np.allclose(result.corruptions["mce"], 100.0)
    assert np.allclose(result.corruptions["relative_mce"], 100.0)
    assert len(result.corruptions) == 75


def test_analyze_command_writes_tables_and_rejects_bad_tables(tmp_path, capsys):
    val, v2 = timm_pair(tmp_path)
    out = tmp_path / "out"
    assert main(["analyze", str(val), str(v2), "--out", str(out), "--bootstrap", "20"]) == 0
    assert pd.read_csv(out / "gaps.csv")["gap"].tolist() == [-10.0, -13.0, -12.0]
    assert (out / "plots" / "accuracy_on_the_line_imagenetv2-matched-frequency.svg").is_file()
    bad = write(tmp_path / "results-bad.csv", ["model,accuracy", "m,80"])
    capsys.readouterr()
    assert main(["analyze", str(val), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "model,img_size,top1" in err
    percent = write(tmp_path / "results-percent.csv", [HEADER, "m,224,180,0,1,0,1,1,b"])
    with pytest.raises(TableFormatError, match=r"results-percent.csv, line 2: top1"):
        read_timm_csv(percent)


@needs_published
def test_gaps_on_published_timm_tables_equal_timm_diffs():
    files = [PUBLISHED / f"timm-results-{s}.csv" for s in
             ("imagenet", "imagenetv2-matched-frequency", "imagenet-r", "imagenet-r-clean")]
    acc, notes = published_accuracy_frame(files)
    from robustness.report.analysis import gaps_from_counts

    gaps, _ = gaps_from_counts(acc)
    for name, baseline in (("imagenetv2-matched-frequency", "imagenet"),
                           ("imagenet-r", "imagenet-r-clean")):
        table = read_timm_csv(PUBLISHED / f"timm-results-{name}.csv")
        ours = gaps[gaps["shift"] == name]
        assert set(ours["baseline"]) == {baseline}
        diff = table.dropna(subset=["top1_diff"])
        several = diff["model"].duplicated(keep=False)
        names = np.where(several, diff["model"] + "@" + diff["img_size"].astype(str),
                         diff["model"])
        mine = ours.set_index("model")["gap"]
        assert len(names) > 1500 and several.sum() > 100
        np.testing.assert_allclose(mine.loc[names].to_numpy(), diff["top1_diff"].to_numpy(),
                                   atol=1.5e-3)


@needs_published
def test_published_testbed_resnet50_mce_is_near_the_paper():
    """Hendrycks & Dietterich report ResNet-50 mCE 76.7 % and AlexNet 100 % by definition; the
    testbed re-evaluated both with its own preprocessing, so agreement is to a few points."""
    acc, _ = published.testbed_accuracy_frame(PUBLISHED / "imagenet-testbed-robustness_top1s.csv")
    from robustness.report.analysis import corruption_table

    table, _ = corruption_table(acc[acc["model"].isin(["resnet50", "alexnet"])])
    mce = table.groupby("model")["mce"].first()
    assert mce["resnet50"] == pytest.approx(76.7, abs=3.0)
    assert mce["alexnet"] == pytest.approx(100.0, abs=4.0)


# ---------------------------------------------------------------- the command line: bad input


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``robustness <argv>`` through :func:`robustness.cli.main`: (exit code, stdout, stderr)."""
    from robustness.cli import main

    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def assert_one_error_line(code: int, out: str, err: str, *fragments: str) -> str:
    """Exit code 2, one ``robustness: error:`` line on stderr holding ``fragments``, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("robustness: error: "), err
    assert "Traceback" not in out + err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


SHORT_HEADER = "model,img_size,top1,top1_err"
#: (case, file name, content, extra arguments, fragments the message must hold)
BAD_TABLES = [
    ("empty", "results-imagenetv2-matched-frequency.csv", b"", [], ["is empty"]),
    ("blank lines only", "results-imagenetv2-matched-frequency.csv", b"\n\n  \n", [],
     ["is empty"]),
    ("png renamed .csv", "results-imagenetv2-matched-frequency.csv", png_bytes(), [],
     ["PNG image", "model,img_size,top1"]),
    ("binary", "results-imagenetv2-matched-frequency.csv", bytes(range(256)) * 8, [],
     ["NUL bytes"]),
    ("latin-1 text", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\ncafé,224,70,30\n".encode("latin-1"), [], ["not UTF-8"]),
    ("header only", "results-imagenetv2-matched-frequency.csv", f"{HEADER}\n".encode(), [],
     ["no data rows"]),
    ("blank img_size", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,70,30\nmid,,57,43\n".encode(), [], ["line 3: blank img_size"]),
    ("fractional img_size", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224.5,70,30\n".encode(), [], ["line 2: img_size", "whole number"]),
    ("blank model", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\n,224,70,30\n".encode(), [], ["line 2: blank model"]),
    ("missing top1 column", "results-imagenetv2-matched-frequency.csv",
     b"model,img_size,accuracy\nbig,224,70\n", [], ["missing column(s) top1", "model,img_size,top1"]),
    ("non-numeric top1", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,70,30\nmid,224,high,43\nsmall,224,?,52\n".encode(), [],
     ["line 3, column top1: 'high' is not a number", "lines 3, 4"]),
    ("percent sign", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,70%,30\n".encode(), [], ["line 2, column top1: '70%'"]),
    ("ragged row", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,70,30\nmid,224,57,43,1,2,3\n".encode(), [], ["cannot read as CSV"]),
    ("every row longer than the header", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,70,30,1,2\nmid,224,57,43,1,2\n".encode(), [],
     ["more fields than the header"]),
    ("top1 above 100", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,170,-70\n".encode(), [], ["line 2: top1 = 170 is outside"]),
    ("top1_err is not the error", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,70,0.5\n".encode(), [], ["line 2: top1 + top1_err = 70.5"]),
    ("fractions, scale unknown", "results-imagenetv2-matched-frequency.csv",
     b"model,img_size,top1\nbig,224,0.70\nmid,224,0.57\nsmall,224,0.48\n", [],
     ["cannot tell", "--accuracy-scale fraction"]),
    ("rows in two scales", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,0.70,0.30\nmid,224,57,43\nsmall,224,0.48,0.52\n".encode(), [],
     ["two scales", "percent on line 3", "fractions on lines 2, 4"]),
    ("scale option contradicted", "results-imagenetv2-matched-frequency.csv",
     f"{SHORT_HEADER}\nbig,224,0.70,0.30\n".encode(), ["--accuracy-scale", "fraction"],
     # the percent baseline contradicts the option first: the message names that file
     ["--accuracy-scale fraction was given", "percent"]),
    ("testbed non-numeric cell", "testbed.csv",
     b"model,val,imagenet-a\nr50,76.1,x\n", [], ["line 2, column imagenet-a: 'x'"]),
    ("testbed fractions, scale unknown", "testbed.csv",
     b"model,val,imagenet-a\nr50,0.761,0.01\n", [], ["cannot tell", "--accuracy-scale"]),
]


@pytest.mark.parametrize(("case", "name", "content", "extra", "fragments"), BAD_TABLES,
                         ids=[c[0] for c in BAD_TABLES])
def test_analyze_refuses_a_bad_table_with_one_message(tmp_path, capsys, case, name, content,
                                                      extra, fragments):
    val, _ = timm_pair(tmp_path)
    bad = tmp_path / "bad" / name
    bad.parent.mkdir()
    bad.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    (out / "gaps.csv").write_text("left from an earlier run\n")
    before = snapshot(out)
    code, stdout, err = run_cli(["analyze", val, bad, "--out", out, "--no-plots", *extra], capsys)
    # the option case is refused on the baseline, the first table read; all others on `bad`
    named = val if case == "scale option contradicted" else bad
    assert_one_error_line(code, stdout, err, str(named), *fragments)
    assert snapshot(out) == before  # nothing written or changed
    assert stdout == ""


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--n", "my-set=abc"], ["--n my-set=abc", "NAME=N", "--n objectnet=18574"]),
    (["--n", "my-set=0"], ["--n my-set=0", "positive image count"]),
    (["--scales", "probit,cubic"], ["--scales probit,cubic", "cubic", "linear, probit, logit"]),
    (["--baseline", "absent.csv"], ["no such table file(s): absent.csv"]),
], ids=["n-not-a-number", "n-zero", "unknown-scale", "absent-baseline"])
def test_analyze_refuses_bad_options_with_one_message(tmp_path, capsys, argv, fragments):
    val, v2 = timm_pair(tmp_path)
    out = tmp_path / "out"
    code, stdout, err = run_cli(["analyze", val, v2, "--out", out, "--no-plots", *argv], capsys)
    assert_one_error_line(code, stdout, err, *fragments)
    assert not out.exists()


def test_analyze_names_a_table_that_does_not_exist(tmp_path, capsys):
    val, _ = timm_pair(tmp_path)
    out = tmp_path / "out"
    absent = tmp_path / "results-imagenet-sketch.csv"
    code, stdout, err = run_cli(["analyze", val, absent, "--out", out], capsys)
    assert_one_error_line(code, stdout, err, str(absent), "no such table")
    assert not out.exists()


# ---------------------------------------------------------------- accuracy scale


def timm_table(path: Path, rows: list[tuple[str, float]], fraction: bool,
               err: bool = True) -> Path:
    """A timm table of (model, top1 in percent), written in percent or as fractions."""
    header = SHORT_HEADER if err else "model,img_size,top1"
    lines = [header]
    for model, top1 in rows:
        value, total = (top1 / 100, 1.0) if fraction else (top1, 100.0)
        lines.append(f"{model},224,{value:.5f}" + (f",{total - value:.5f}" if err else ""))
    return write(path, lines)


VAL_TOP1 = [("big", 80.0), ("mid", 70.0), ("small", 60.0)]
V2_TOP1 = [("big", 70.0), ("mid", 57.0), ("small", 48.0)]


def analyze_pair(tmp_path, capsys, name: str, fraction: bool, err: bool = True,
                 extra: Sequence[str] = ()) -> tuple[pd.DataFrame, str, str]:
    folder = tmp_path / name
    folder.mkdir()
    val = timm_table(folder / "results-imagenet.csv", VAL_TOP1, fraction, err)
    v2 = timm_table(folder / "results-imagenetv2-matched-frequency.csv", V2_TOP1, fraction, err)
    out = folder / "out"
    code, stdout, err_text = run_cli(["analyze", val, v2, "--out", out, "--no-plots",
                                      "--bootstrap", "20", *extra], capsys)
    assert code == 0, err_text
    assert "Traceback" not in err_text
    return pd.read_csv(out / "gaps.csv"), (out / "notes.txt").read_text(), err_text


def test_fraction_tables_give_the_gaps_of_the_same_tables_in_percent(tmp_path, capsys):
    percent, percent_notes, _ = analyze_pair(tmp_path, capsys, "percent", fraction=False)
    fraction, notes, printed = analyze_pair(tmp_path, capsys, "fraction", fraction=True)
    # by hand: 70 - 80, 57 - 70, 48 - 60 points
    assert percent["gap"].tolist() == pytest.approx([-10.0, -13.0, -12.0])
    assert fraction["gap"].tolist() == pytest.approx([-10.0, -13.0, -12.0])
    assert fraction["baseline_top1"].tolist() == pytest.approx([80.0, 70.0, 60.0])
    for column in ("gap", "gap_low", "gap_high", "baseline_top1", "shift_top1"):
        np.testing.assert_allclose(fraction[column], percent[column], atol=1e-9)
    assert "results-imagenet.csv: accuracies read as fractions" in notes
    assert "read as fractions" in printed and "read as fractions" not in percent_notes


def test_accuracy_scale_option_settles_a_table_without_error_columns(tmp_path, capsys):
    gaps, _, _ = analyze_pair(tmp_path, capsys, "told", fraction=True, err=False,
                              extra=["--accuracy-scale", "fraction"])
    assert gaps["gap"].tolist() == pytest.approx([-10.0, -13.0, -12.0])
    # percent values below 1 (weak models on ImageNet-A) stay percent when top1_err says so
    weak = write(tmp_path / "results-imagenet-a.csv", [SHORT_HEADER, "big,224,0.5,99.5"])
    clean = write(tmp_path / "results-imagenet-a-clean.csv", [SHORT_HEADER, "big,224,90.0,10.0"])
    acc, notes = published_accuracy_frame([weak, clean])
    assert acc.set_index("test_set").loc["imagenet-a", "top1"] == 0.5
    assert not any("fractions" in n for n in notes)


def test_each_table_has_its_own_scale(tmp_path):
    val = timm_table(tmp_path / "results-imagenet.csv", VAL_TOP1, fraction=False)
    v2 = timm_table(tmp_path / "results-imagenetv2-matched-frequency.csv", V2_TOP1,
                    fraction=True)
    table = read_timm_csv(v2)
    assert table.attrs["accuracy_scale"] == "fraction"
    assert table["top1"].tolist() == pytest.approx([70.0, 57.0, 48.0])
    assert table["top1_err"].tolist() == pytest.approx([30.0, 43.0, 52.0])
    _, result = analyze_published([val, v2])
    assert result.gaps["gap"].tolist() == pytest.approx([-10.0, -13.0, -12.0])


# ---------------------------------------------------------------- models without a baseline


def test_models_missing_from_the_baseline_are_listed_and_kept_out(tmp_path, capsys):
    val, _ = timm_pair(tmp_path)
    v2 = write(tmp_path / "results-imagenetv2-matched-frequency.csv", [
        DIFF_HEADER,
        "big,224,70.000,30.000,90.000,10.000,1,1.000,bicubic,-10.000,-5.000,0",
        "mid,224,57.000,43.000,80.000,20.000,1,0.875,bilinear,-13.000,-10.000,0",
        "small,224,48.000,52.000,75.000,25.000,1,0.875,bilinear,-12.000,-10.000,+0",
        "newcomer,224,65.000,35.000,85.000,15.000,1,0.875,bilinear,,,",
        "other,224,40.000,60.000,65.000,35.000,1,0.875,bilinear,,,",
    ])
    out = tmp_path / "out"
    code, stdout, err = run_cli(["analyze", val, v2, "--out", out, "--no-plots",
                                 "--bootstrap", "20"], capsys)
    assert code == 0, err
    expected = ("2 model(s) missing from the baseline table imagenet (results-imagenet.csv) are "
                "left out of the gaps and fits of imagenetv2-matched-frequency: newcomer, other")
    assert expected in err
    assert expected in (out / "notes.txt").read_text()
    gaps = pd.read_csv(out / "gaps.csv")
    assert sorted(gaps["model"]) == ["big", "mid", "small"]
    fits = pd.read_csv(out / "fits.csv")
    assert set(fits["n_models"]) == {3}
    er = pd.read_csv(out / "effective_robustness.csv")
    assert set(er["model"]) == {"big", "mid", "small"}
    acc, _ = published_accuracy_frame([val, v2])
    row = acc[acc["model"] == "newcomer"].iloc[0]
    assert row["top1"] == 65.0 and row["baseline"] is None


def test_published_testbed_models_without_val_are_listed(tmp_path):
    path = write_testbed(tmp_path, {
        "r50": {"val": 76.0, "imagenet-a": 2.0, "val-on-imagenet-a-classes": 90.0},
        "no-val": {"val": np.nan, "imagenet-a": 3.0, "val-on-imagenet-a-classes": 91.0,
                   "imagenetv2-matched-frequency-format-val": 60.0},
    })
    acc, notes = published_accuracy_frame([path])
    assert any(n.startswith("1 model(s) missing from the baseline table imagenet (testbed.csv)")
               and n.endswith("imagenetv2-matched-frequency: no-val") for n in notes)
    _, result = analyze_published([path])
    assert set(result.gaps["model"]) == {"r50", "no-val"}  # no-val still has its -clean baseline
    assert set(result.gaps.loc[result.gaps["model"] == "no-val", "shift"]) == {"imagenet-a"}


# ---------------------------------------------------------------- set names


def test_harness_written_threshold_table_gets_its_gap(tmp_path, capsys):
    """``robustness eval`` writes ``results-imagenetv2-threshold0.7.csv`` (the reader's name);
    analyze must find its image count (10,000) and give the gap."""
    from fakes import GrayModel, GraySet

    from robustness.engine import EvalConfig, evaluate_unit
    from robustness.report.tables import write_tables
    from robustness.store import Store

    lv1 = [10 + 3 * i for i in range(10)]  # gray.a 8/10 right, gray.b 2/10
    val = GraySet("imagenet", lv1, [v + (i in (1, 5)) for i, v in enumerate(lv1)], baseline=None)
    lv2 = [20 + 4 * i for i in range(20)]  # gray.a 15/20, gray.b 5/20
    v2 = GraySet("imagenetv2-threshold0.7", lv2, [v + (i % 4 == 0) for i, v in enumerate(lv2)])
    store = Store(tmp_path / "res")
    config = EvalConfig(batch_size=8, workers=0, device="cpu", progress=False)
    for model in (GrayModel("gray.a", 0), GrayModel("gray.b", 1, family="other")):
        for ds in (val, v2):
            evaluate_unit(model, ds, store, config)
    write_tables(store, tmp_path / "res")
    shifted = tmp_path / "res" / "results-imagenetv2-threshold0.7.csv"
    assert shifted.is_file()
    out = tmp_path / "out"
    code, _, err = run_cli(["analyze", tmp_path / "res" / "results-imagenet.csv", shifted,
                            "--out", out, "--no-plots"], capsys)
    assert code == 0, err
    gaps = pd.read_csv(out / "gaps.csv").set_index("model")
    assert set(gaps["shift"]) == {"imagenetv2-threshold0.7"}
    assert gaps.loc["gray.a", "gap"] == pytest.approx(75.0 - 80.0)
    assert gaps.loc["gray.b", "gap"] == pytest.approx(25.0 - 20.0)
    assert set(gaps["n_shift"]) == {10_000} and set(gaps["n_baseline"]) == {50_000}
    assert "no image count" not in (out / "notes.txt").read_text()


def test_threshold_set_is_spelled_as_the_reader_spells_it(tmp_path):
    assert timm_set_name("x/results-imagenetv2-threshold-0.7.csv") == "imagenetv2-threshold0.7"
    assert timm_set_name("results-imagenetv2-threshold0.7.csv") == "imagenetv2-threshold0.7"
    assert published_images("imagenetv2-threshold0.7") == 10_000
    assert published_images("imagenetv2-threshold-0.7") is None
    path = write_testbed(tmp_path, {"r50": {"val": 76.0,
                                            "imagenetv2-threshold-0.7-format-val": 72.0}})
    acc, _ = published.testbed_accuracy_frame(path)
    assert set(acc["test_set"]) == {"imagenet", "imagenetv2-threshold0.7"}
