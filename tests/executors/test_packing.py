"""Packing pending units into jobs: one model per job, at most ``units_per_job`` sets each."""

from __future__ import annotations

import itertools

import pytest

from robustness.executors import plan_packs


def test_hand_worked_packing():
    pending = [("m1", "a"), ("m1", "b"), ("m2", "a"), ("m1", "c"), ("m2", "b")]
    packs = plan_packs(pending, units_per_job=2)
    assert [(p.index, p.model, p.test_sets) for p in packs] == [
        (0, "m1", ("a", "b")),
        (1, "m1", ("c",)),
        (2, "m2", ("a", "b")),
    ]


@pytest.mark.parametrize("units_per_job", [1, 2, 3, 75, 200])
def test_every_unit_lands_in_exactly_one_pack(units_per_job):
    models = [f"model{i}" for i in range(4)]
    sets = ["imagenet"] + [f"imagenet-c.c{c}.{s}" for c in range(5) for s in range(1, 6)]
    pending = [(m, s) for m, s in itertools.product(models, sets) if hash((m, s)) % 5]  # some done
    packs = plan_packs(pending, units_per_job)
    flat = [u for p in packs for u in p.units]
    assert sorted(flat) == sorted(pending) and len(flat) == len(set(flat))
    assert all(1 <= len(p.test_sets) <= units_per_job for p in packs)
    assert [p.index for p in packs] == list(range(len(packs)))
    # the fewest jobs possible with one model per job
    per_model = {m: sum(1 for u in pending if u[0] == m) for m in models}
    assert len(packs) == sum(-(-n // units_per_job) for n in per_model.values())
    # test sets keep their requested order within a model
    for m in models:
        mine = [s for p in packs if p.model == m for s in p.test_sets]
        assert mine == [s for mm, s in pending if mm == m]


def test_repeats_are_dropped_and_bad_size_is_refused():
    assert [p.test_sets for p in plan_packs([("m", "a"), ("m", "a")], 5)] == [("a",)]
    assert plan_packs([], 3) == []
    with pytest.raises(ValueError, match="units_per_job"):
        plan_packs([("m", "a")], 0)

