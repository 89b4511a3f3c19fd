"""Samplers: hand-computed MatchedFrequency histograms, rounding, short bins, determinism,
and the known difficulty ordering MatchedFrequency < Threshold < TopImages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from recollect_helpers import WNIDS, rows_for, simulated_pool

from robustness.recollect.pool import pool_from_table
from robustness.recollect.sampling import (
    largest_remainder,
    matched_frequency,
    threshold,
    top_images,
)

A, B, C = WNIDS[:3]


@pytest.mark.parametrize(
    ("counts", "k", "expected"),
    [
        ([2, 3, 5, 4, 6], 10, [1, 2, 2, 2, 3]),  # shares 1, 1.5, 2.5, 2, 3: tie .5/.5 -> lower bin
        ([1, 1, 1], 10, [4, 3, 3]),  # 3.33 each: the one leftover unit to the first
        ([1, 2], 10, [3, 7]),  # 3.33, 6.67
        ([0, 0, 5], 10, [0, 0, 10]),
        ([7, 1, 1, 1, 10], 10, [4, 1, 0, 0, 5]),  # floors 3,0,0,0,5; 2 units to the .5 ties, lowest first
    ],
)
def test_largest_remainder_by_hand(counts, k, expected):
    quotas = largest_remainder(counts, k)
    assert quotas.tolist() == expected
    assert quotas.sum() == k


def _matched_pools(make_pool, previous=()):
    originals = (
        rows_for(A, [0, 1, 2, 3, 2, 4, 5, 4, 5, 4, 6, 7, 6, 7, 8, 9, 10, 8, 9, 10], "orig")
        + rows_for(B, [5] * 19, "orig") + rows_for(B, [5] * 5, "origfew", shown=5)
        + rows_for(C, [9] * 20, "orig")
    )  # fmt: skip
    candidates = (
        # A: bin0 x3, bin1 x4, bin2 x1 (+1 with too few annotations), bin3 x5, bin4 x5
        rows_for(A, [0, 1, 1, 2, 3, 3, 2, 5, 6, 7, 6, 7, 6, 8, 9, 10, 8, 9], "cand")
        + rows_for(A, [3], "candfew", shown=5)
        + rows_for(B, [5] * 12, "cand")
        + rows_for(C, [1, 3, 5, 7, 8, 9, 9, 10, 8, 9], "cand")  # only 6 in bin 4
    )  # fmt: skip
    for row in candidates:
        row["previous"] = row["path"] in previous
    return make_pool(candidates), make_pool(originals)


def test_matched_frequency_histogram_rounding_and_short_bin(make_pool):
    cands, origs = _matched_pools(make_pool)
    result = matched_frequency(cands, origs, k=10, seed=0)
    chosen_a = result.selected[result.selected["wnid"] == A]
    # original histogram of A: [2, 3, 5, 4, 6] -> quotas [1, 2, 2, 2, 3]; bin 2 has one
    # eligible candidate, so bin 3 takes 2 + 1
    assert np.bincount(chosen_a["bin"], minlength=5).tolist() == [1, 2, 1, 3, 3]
    assert (chosen_a["reason"] == "bin 3 filling a shortfall of lower bins").sum() == 1
    assert not chosen_a["path"].str.startswith("candfew").any()  # too few annotations
    assert len(chosen_a) == 10
    # B: only 19 originals with >= 10 annotations -> skipped and reported
    # C: all originals in the top bin, which holds only 6 candidates -> reported, not padded
    short = {s.wnid: s for s in result.shortfalls}
    assert set(short) == {B, C}
    assert short[B].got == 0 and "only 19 original" in short[B].reason
    assert (short[C].wanted, short[C].got) == (10, 6)
    chosen_c = result.selected[result.selected["wnid"] == C]
    assert (chosen_c["bin"] == 4).all() and len(chosen_c) == 6


def test_matched_frequency_is_deterministic_and_order_independent(make_pool):
    cands, origs = _matched_pools(make_pool)
    first = matched_frequency(cands, origs, seed=7).selected["path"].tolist()
    again = matched_frequency(cands, origs, seed=7).selected["path"].tolist()
    shuffled = pool_from_table(cands.table.sample(frac=1.0, random_state=3)[
        ["path", "wnid", "shown", "selected", "previous"]])  # fmt: skip
    assert first == again == matched_frequency(shuffled, origs, seed=7).selected["path"].tolist()
    others = {tuple(matched_frequency(cands, origs, seed=s).selected["path"]) for s in range(8)}
    assert len(others) > 1  # the seed matters where bins hold more candidates than needed


def test_matched_frequency_keeps_previous_revision_first(make_pool):
    kept = {"cand/" + A + "/cand_001.jpg", "cand/" + A + "/cand_013.jpg"}  # bins 0 and 4
    cands, origs = _matched_pools(make_pool, previous=kept)
    for seed in range(6):
        selected = matched_frequency(cands, origs, seed=seed, keep_previous=True).selected
        assert kept <= set(selected["path"])
        marked = selected.loc[selected["reason"].str.endswith("(kept from the previous revision)"), "path"]
        assert set(marked) == kept


def test_threshold_by_hand(make_pool):
    cands = make_pool(rows_for(A, [7, 6, 10, 8, 3, 7], "cand") + rows_for(B, [9, 9, 9, 2], "cand"))
    result = threshold(cands, k=3, t=0.7, seed=1, per_class_t={B: 0.95})
    chosen_a = result.selected[result.selected["wnid"] == A]
    assert len(chosen_a) == 3 and (chosen_a["selected"] >= 7).all()  # 7/10 >= 0.7 exactly
    short = {s.wnid: s for s in result.shortfalls}
    assert set(short) == {B} and short[B].got == 0  # nothing reaches 0.95


def test_top_images_by_hand(make_pool):
    cands = make_pool(rows_for(A, [5, 9, 9, 3, 10, 7], "cand"))
    assert sorted(top_images(cands, k=3).selected["selected"], reverse=True) == [10, 9, 9]
    assert sorted(top_images(cands, k=4).selected["selected"], reverse=True) == [10, 9, 9, 7]
    result = top_images(cands, k=8)
    assert len(result.selected) == 6 and result.shortfalls[0].got == 6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_strategies_order_by_difficulty_on_a_simulated_pool(seed):
    """A fixed classifier, correct with probability 0.2 + 0.7 * (true frequency): its expected
    accuracy rises from MatchedFrequency to Threshold0.7 to TopImages (as in Recht et al. 2019,
    table 1); candidates ~ Beta(2, 2), originals ~ Beta(6, 2), 10 noisy votes each."""
    rng = np.random.default_rng(seed)
    cand_table, orig_table, truth = simulated_pool(rng)
    cands, origs = pool_from_table(cand_table), pool_from_table(orig_table)

    def accuracy(result):
        return float(np.mean([0.2 + 0.7 * truth[p] for p in result.selected["path"]]))

    acc = {
        "matched": accuracy(matched_frequency(cands, origs, k=10, seed=seed)),
        "threshold": accuracy(threshold(cands, k=10, t=0.7, seed=seed)),
        "top": accuracy(top_images(cands, k=10, seed=seed)),
    }
    print("simulated expected accuracy by strategy:", acc)
    assert acc["matched"] < acc["threshold"] < acc["top"]


def test_empty_result_has_columns(make_pool):
    cands = make_pool(rows_for(A, [1, 2], "cand"))
    result = threshold(cands, k=2, t=0.9)
    assert len(result.selected) == 0 and isinstance(result.selected, pd.DataFrame)
    assert result.shortfalls[0].got == 0


def test_shortfall_cascades_through_several_bins(make_pool):
    d = WNIDS[5]
    originals = make_pool(rows_for(d, [4] * 10 + [6] * 10, "orig"))  # quotas [0, 0, 5, 5, 0]
    candidates = make_pool(rows_for(d, [5] + [7, 7] + [9] * 10 + [0] * 4, "cand"))
    result = matched_frequency(candidates, originals, k=10, seed=0)
    # bin 2 has 1 of 5 -> bin 3 wants 4 + 5 = 9, has 2 -> bin 4 wants 7, has 10
    assert np.bincount(result.selected["bin"], minlength=5).tolist() == [0, 0, 1, 2, 7]
    assert result.shortfalls == []
    assert (result.selected["bin"] == 4).sum() == (
        result.selected["reason"] == "bin 4 filling a shortfall of lower bins").sum()
