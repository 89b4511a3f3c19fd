"""timm's diff rule (results/generate_csv_results.py), by hand and against timm's published tables.

The published ``top5_diff`` and ``rank_diff`` columns depend on the order of the files the
script read (bulk_runner.py's raw output, never published): among models tied on top1 the
script subtracts a tied neighbour's top-5 and counts ranks from the file order. The tests
on the published tables therefore recover those file orders from the published columns and
check that (1) they are orders that differ from the sorted tables only among top-1 ties,
which is the rule's signature, (2) the base file order recovered from the ImageNetV2 table
predicts ``top5_diff`` of the ReaL and Sketch tables on every row, and (3) with the recovered
orders :func:`timm_script_diffs` reproduces ``top5_diff`` and ``rank_diff`` on every row of
all five published tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from robustness.report.tables import sort_timm, timm_diffs, timm_run_order, timm_script_diffs

PUBLISHED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "published"

PAIRS = [
    ("timm-results-imagenet.csv", "timm-results-imagenetv2-matched-frequency.csv"),
    ("timm-results-imagenet.csv", "timm-results-sketch.csv"),
    ("timm-results-imagenet.csv", "timm-results-imagenet-real.csv"),
    ("timm-results-imagenet-r-clean.csv", "timm-results-imagenet-r.csv"),
    ("timm-results-imagenet-a-clean.csv", "timm-results-imagenet-a.csv"),
]
#: the script differenced unrounded accuracies; the tables print 3 decimals
LAST_DIGIT = 1e-3 + 1e-9


def read_timm(name: str) -> pd.DataFrame:
    """timm's CSVs write param_count with a thousands separator and diffs as '+1.088'."""
    path = PUBLISHED / name
    if not path.is_file():
        pytest.skip(f"published timm table {path} is absent (only the project's shared data folder has it)")
    df = pd.read_csv(path, thousands=",", dtype={"top1_diff": str, "top5_diff": str, "rank_diff": str})
    for col in ("top1_diff", "top5_diff", "rank_diff"):
        if col in df:
            df[col] = pd.to_numeric(df[col].str.replace("+", "", regex=False))
    return df


def _keys(df: pd.DataFrame) -> list[tuple[str, int]]:
    return list(zip(df["model"], df["img_size"], strict=True))


def recovered_base_file(base: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """The base file order the script must have read: at sorted position r, the row whose
    top5 the published top5_diff of the model ranked r subtracts. Only rows tied on top1 with
    the sorted row at r qualify; fails if the published values need anything else."""
    base = base.reset_index(drop=True)
    assert _keys(base) == _keys(sort_timm(base)), "published base tables are written sorted"
    used = dict(zip(_keys(published), published["top5"] - published["top5_diff"], strict=True))
    order: list[int] = []
    for _, tied in base.groupby("top1", sort=False):
        pool = list(tied.index)
        wanted = {r: used.get(key) for r, key in zip(tied.index, _keys(tied), strict=True)}
        chosen = {}
        for r, value in wanted.items():
            if value is None or np.isnan(value):
                continue
            hit = next(j for j in pool if abs(base.at[j, "top5"] - value) <= LAST_DIGIT)
            chosen[r] = hit
            pool.remove(hit)
        order += [chosen[r] if r in chosen else pool.pop(0) for r in tied.index]
    return base.iloc[order].reset_index(drop=True)


def recovered_test_file(base: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """The new-set file order: a model's file position is its base rank minus rank_diff."""
    rank_of = {key: r for r, key in enumerate(_keys(base))}
    position = [rank_of[k] - d if k in rank_of and not np.isnan(d) else None
                for k, d in zip(_keys(published), published["rank_diff"], strict=True)]
    free = iter(sorted(set(range(len(published))) - {p for p in position if p is not None}))
    position = [p if p is not None else next(free) for p in position]
    assert sorted(position) == list(range(len(published))), "rank_diff must imply one file order"
    ordered = published.iloc[np.argsort(position)].reset_index(drop=True)
    # the file order differs from the published (sorted) order only among top-1 ties
    assert (ordered["top1"].to_numpy() == published["top1"].to_numpy()).all()
    return ordered.drop(columns=["top1_diff", "top5_diff", "rank_diff"])


@pytest.mark.parametrize(("base_file", "test_file"), PAIRS)
def test_timm_rule_with_the_recovered_file_orders_reproduces_every_published_row(base_file, test_file):
    base, published = read_timm(base_file), read_timm(test_file)
    base_read = recovered_base_file(base, published)
    # the recovered base order only permutes rows tied on top1
    assert (base_read["top1"].to_numpy() == base["top1"].to_numpy()).all()
    test_read = recovered_test_file(base, published)
    ours = timm_script_diffs(test_read, base_read)
    merged = published.merge(ours, on=["model", "img_size"], suffixes=("_pub", "_ours"))
    assert len(merged) == len(published)
    matched = merged["top1_diff_pub"].notna()
    assert matched.sum() > 0.99 * len(published) and merged.loc[~matched, "rank_diff_ours"].isna().all()
    m = merged[matched]
    assert (m["top1_diff_ours"] - m["top1_diff_pub"]).abs().max() <= LAST_DIGIT
    assert (m["top5_diff_ours"] - m["top5_diff_pub"]).abs().max() <= LAST_DIGIT
    assert (m["rank_diff_ours"].astype(int) == m["rank_diff_pub"].astype(int)).all()


def test_base_order_recovered_from_imagenetv2_predicts_real_and_sketch_top5_diff():
    base = read_timm("timm-results-imagenet.csv")
    base_read = recovered_base_file(base, read_timm("timm-results-imagenetv2-matched-frequency.csv"))
    for name in ("timm-results-imagenet-real.csv", "timm-results-sketch.csv"):
        published = read_timm(name)
        ours = timm_script_diffs(published.drop(columns=["top1_diff", "top5_diff", "rank_diff"]),
                                 base_read)
        assert (ours["top5_diff"] - published["top5_diff"]).abs().max() <= LAST_DIGIT, name
        exact = timm_diffs(published[["model", "img_size", "top1", "top5"]], base, rule="exact")
        exact = published[["model", "img_size"]].merge(exact, on=["model", "img_size"])
        # the exact per-model difference is not the published column on the tied rows
        assert ((exact["top5_diff_exact"] - published["top5_diff"]).abs() > LAST_DIGIT).sum() > 100


def test_exact_top1_diff_is_the_published_top1_diff():
    base = read_timm("timm-results-imagenet-a-clean.csv")
    published = read_timm("timm-results-imagenet-a.csv")
    ours = timm_diffs(published[["model", "img_size", "top1", "top5"]], base)
    merged = published.merge(ours, on=["model", "img_size"], suffixes=("_pub", "_ours"))
    matched = merged["top1_diff_pub"].notna()
    np.testing.assert_allclose(merged.loc[matched, "top1_diff_ours"], merged.loc[matched, "top1_diff_pub"],
                               atol=LAST_DIGIT)


def test_param_count_with_thousands_separator_is_numeric():
    df = read_timm("timm-results-imagenet-real.csv")
    giant = df.loc[df["model"] == "eva_giant_patch14_336.clip_ft_in1k", "param_count"]
    assert float(giant.iloc[0]) == pytest.approx(1013.01)


def _frame(rows):
    return pd.DataFrame(rows, columns=["model", "img_size", "top1", "top5"])


def test_script_rule_by_hand_takes_the_tied_neighbours_top5():
    # base file as read: b and c tie on top1; the file has c before b, the sorted table b
    # (higher top5) before c. Sorted ranks: a 0, b 1, c 2.
    base_file = _frame([("a", 224, 80.0, 95.0), ("c", 224, 75.0, 90.0), ("b", 224, 75.0, 93.0)])
    test_file = _frame([("c", 224, 66.0, 85.0), ("b", 224, 66.0, 88.0), ("a", 224, 60.0, 82.0)])
    out = timm_script_diffs(test_file, base_file).set_index("model")
    # b: base rank 1 -> the file's row 1 is c (top5 90): 88 - 90, not 88 - 93
    assert out.loc["b", "top5_diff"] == pytest.approx(-2.0)
    assert out.loc["c", "top5_diff"] == pytest.approx(85.0 - 93.0)  # rank 2 -> file row 2 is b
    assert out.loc["a", "top5_diff"] == pytest.approx(82.0 - 95.0)
    assert out.loc["b", "top1_diff"] == pytest.approx(-9.0)  # the neighbour has the same top1
    # rank_diff = base rank - position in the test file as read
    assert out["rank_diff"].tolist() == [2 - 0, 1 - 1, 0 - 2]


def test_timm_columns_follow_the_run_order_and_exact_columns_do_not():
    base = _frame([("c", 224, 75.0, 90.0), ("b", 224, 75.0, 93.0), ("a", 224, 80.0, 95.0)])
    new = _frame([("b", 224, 66.0, 88.0), ("c", 224, 66.0, 85.0), ("a", 224, 60.0, 82.0)])
    # timm's runs go a, b, c; sorted by top1 alone: a, then b before c (run order)
    assert timm_run_order(base)["model"].tolist() == ["a", "b", "c"]
    out = timm_diffs(new, base).set_index("model")
    assert list(out.index) == ["b", "c", "a"]  # new table sorted: b (top5 88) before c
    # run order equals the sorted order here, so timm's rule is exact
    assert out.loc["b", "top5_diff"] == out.loc["b", "top5_diff_exact"] == pytest.approx(-5.0)
    flipped = base.assign(top5=[94.0, 93.0, 95.0])  # now c sorts before b, but runs after it
    out = timm_diffs(new, flipped).set_index("model")
    # sorted base: a 0, c 1, b 2; run order: a, b, c. b is ranked 2 -> the run file's row 2 (c)
    assert out.loc["b", "top5_diff"] == pytest.approx(88.0 - 94.0)
    assert out.loc["b", "top5_diff_exact"] == pytest.approx(88.0 - 93.0)
    assert out.loc["c", "top5_diff"] == pytest.approx(85.0 - 93.0)
    assert out.loc["c", "top5_diff_exact"] == pytest.approx(85.0 - 94.0)
    # ranks: exact uses sorted positions (new: b 0, c 1, a 2); timm the run file (b 0, c 1, a 2)
    assert out["rank_diff_exact"].tolist() == [2 - 0, 1 - 1, 0 - 2]
    exact = timm_diffs(new, flipped, rule="exact").set_index("model")
    assert exact.loc["b", "top5_diff"] == exact.loc["b", "top5_diff_exact"]


def test_ties_sort_by_top5_then_model_and_unmatched_rows_are_nan():
    base = _frame([("x", 224, 50.0, 70.0), ("y", 224, 50.0, 70.0)])
    new = _frame([("y", 224, 40.0, 60.0), ("x", 224, 40.0, 61.0), ("z", 224, 40.0, 60.0)])
    out = timm_diffs(new, base)
    assert list(out["model"]) == ["x", "y", "z"]
    z = out[out.model == "z"]
    assert z["rank_diff"].isna().all() and z["rank_diff_exact"].isna().all()
    assert np.isnan(z["top1_diff"]).all() and np.isnan(z["top5_diff"]).all()
