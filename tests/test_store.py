"""The store's reading API: ``Store.find``, ``Store.units`` and typed ``Unit.records()``.

Units are written through the engine with ``GrayModel`` / ``GraySet`` stand-ins (an image
of gray level v is predicted as class v), so every record is known by construction.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fakes import GrayModel, GraySet

import robustness as rh
from robustness.engine import EvalConfig, evaluate_unit
from robustness.store import CONFIDENCE_FIELDS, RECORD_FIELDS, Store, Unit, UnitRecords

CFG = EvalConfig(batch_size=4, workers=0, device="cpu", precision="fp32", progress=False,
                 checkpoint_every=4)


def gray_set(n=10, name="imagenet", wrong=(1, 5)):
    levels = [10 + 3 * i for i in range(n)]
    labels = [lv if i not in wrong else lv + 1 for i, lv in enumerate(levels)]
    return GraySet(name, levels, labels)


def reweighted(model: GrayModel, sha: str) -> GrayModel:
    """The same model name with other weights: a new key with the same settings."""
    model.info = dataclasses.replace(model.info, weights_sha256=sha)
    return model


def test_find_returns_the_finished_unit_with_typed_records(tmp_path):
    store = Store(tmp_path)
    ds = gray_set()
    res = evaluate_unit(GrayModel(), ds, store, CFG)
    unit = store.find("gray.a", "imagenet")
    assert isinstance(unit, Unit)
    assert unit.path == store.unit("gray.a", "imagenet", res.key).root
    assert (unit.model, unit.test_set, unit.key) == ("gray.a", "imagenet", res.key)
    assert unit.meta["n"] == 10 and unit.meta["top1"] == pytest.approx(80.0)
    assert unit.spec is not None and unit.spec["key"] == res.key and unit.spec["precision"] == "fp32"
    assert unit.precision == "fp32" and unit.save_logits is False

    rec = unit.records()
    assert isinstance(rec, UnitRecords) and len(rec) == 10
    assert rec.index.dtype == np.int64 and rec.label.dtype == np.int64
    assert rec.relpath.dtype.kind == "U"
    assert rec.top5.dtype == np.int16 and rec.top5.shape == (10, 5)
    for name in ("correct1", "correct5", "correct1_all", "correct5_all"):
        assert getattr(rec, name).dtype == np.bool_
    assert rec.logits is None
    assert rec.index.tolist() == list(range(10))
    assert rec.relpath.tolist() == ds.relpaths
    assert rec.label.tolist() == ds.labels.tolist()
    assert rec.top5[:, 0].tolist() == ds.levels
    assert rec.correct1.tolist() == [i not in (1, 5) for i in range(10)]
    assert rec.correct1_all.tolist() == rec.correct1.tolist()  # a full set: same scoring
    assert rec.correct5.all() and rec.correct5_all.all()
    assert set(rec.to_arrays()) == set(RECORD_FIELDS) | set(CONFIDENCE_FIELDS)
    # opened by its folder (the ``path`` column of the tables), the same unit
    assert Unit(str(unit.path)) == unit and Unit(unit.path).records().correct1.tolist() == rec.correct1.tolist()
    assert rh.Unit is Unit and rh.UnitRecords is UnitRecords


def test_find_is_none_for_an_unknown_pair(tmp_path):
    store = Store(tmp_path)
    assert store.find("gray.a", "imagenet") is None
    evaluate_unit(GrayModel(), gray_set(), store, CFG)
    assert store.find("gray.a", "imagenet-r") is None
    assert store.find("gray.b", "imagenet") is None


def test_units_lists_current_units_from_meta(tmp_path):
    store = Store(tmp_path)
    assert store.units().empty and "top1" in store.units().columns
    evaluate_unit(GrayModel(), gray_set(), store, CFG)
    evaluate_unit(GrayModel("gray.b", offset=1), gray_set(name="imagenetv2-matched-frequency"), store, CFG)
    units = store.units()
    assert units[["model", "test_set"]].values.tolist() == [
        ["gray.a", "imagenet"], ["gray.b", "imagenetv2-matched-frequency"]]
    a = units.set_index("model").loc["gray.a"]
    assert a.n == 10 and a.top1 == pytest.approx(80.0) and a.top5 == pytest.approx(100.0)
    # predictions one class up: right exactly on the two images labelled one up (1 and 5)
    assert units.set_index("model").loc["gray.b"].top1 == pytest.approx(20.0)
    for row in units.itertuples(index=False):
        meta = Unit(row.path).meta  # every value comes from the unit's meta.json
        assert (row.n, row.top1, row.top5, row.key, row.finished_at, row.precision) == (
            meta["n"], meta["top1"], meta["top5"], meta["key"], meta["finished_at"], meta["precision"])


def test_superseded_units_are_not_found_or_listed(tmp_path):
    store = Store(tmp_path)
    old = evaluate_unit(reweighted(GrayModel(), "a" * 64), gray_set(), store, CFG)
    new = evaluate_unit(reweighted(GrayModel(), "b" * 64), gray_set(), store, CFG)
    assert old.key != new.key
    assert store.unit("gray.a", "imagenet", old.key).superseded()
    assert store.find("gray.a", "imagenet").key == new.key
    assert [u.key for u in store.find_all("gray.a", "imagenet")] == [new.key]
    assert store.units().key.tolist() == [new.key]
    assert len(list(store.finished_units(include_superseded=True))) == 2


def test_settings_pick_among_units_of_a_pair(tmp_path):
    store = Store(tmp_path)
    plain = evaluate_unit(GrayModel(), gray_set(), store, CFG)
    with_logits = evaluate_unit(GrayModel(), gray_set(), store, dataclasses.replace(CFG, save_logits=True))
    assert plain.key != with_logits.key  # other settings: side by side, neither superseded
    assert store.find("gray.a", "imagenet", save_logits=False).key == plain.key
    unit = store.find("gray.a", "imagenet", save_logits=True)
    assert unit.key == with_logits.key
    assert store.find("gray.a", "imagenet", precision="fp32", save_logits=True).key == with_logits.key
    assert store.find("gray.a", "imagenet", precision="fp16") is None
    assert {u.key for u in store.find_all("gray.a", "imagenet")} == {plain.key, with_logits.key}
    assert unit.records().logits is None  # logits are read only when asked
    logits = unit.records(logits=True).logits
    assert logits is not None and logits.dtype == np.float16 and logits.shape == (10, 1000)
    assert logits.argmax(axis=1).tolist() == gray_set().levels


def test_records_can_read_some_fields_only(tmp_path):
    store = Store(tmp_path)
    evaluate_unit(GrayModel(), gray_set(), store, CFG)
    unit = store.find("gray.a", "imagenet")
    rec = unit.records(fields=("relpath", "correct1"))
    assert rec.correct1.tolist() == unit.records().correct1.tolist() and len(rec) == 10
    assert rec.top5 is None and rec.index is None
    assert set(rec.to_arrays()) == {"relpath", "correct1"}
    with pytest.raises(ValueError, match="unknown record field"):
        unit.records(fields=("top1",))


def test_a_finished_unit_must_hold_every_record_field(tmp_path):
    """The store owns its schema: finishing a unit with records that lack a field is refused
    and leaves no predictions or meta.json behind."""
    unit = Store(tmp_path).unit("m", "imagenet", "0" * 16)
    with pytest.raises(ValueError, match="lack the field"):
        unit.finish({"relpath": np.array(["a.png"]), "correct1": np.array([True])}, {"n": 1})
    assert not unit.finished() and not unit.predictions.exists() and not unit.meta.exists()
