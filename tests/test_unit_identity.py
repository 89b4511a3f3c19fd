"""A unit's identity is what it computed: weights, images, and two runs sharing one store.

Models are ``GrayModel`` stand-ins (an image of gray level v is predicted as class
v + offset), so every expected record is known by construction; test sets are real
ImageNet-val folder trees written into ``tmp_path`` and read by the real reader.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import GrayModel, gray_val_tree
from safetensors.torch import load_file, save_file

from robustness.datasets import open_test_set
from robustness.engine import EvalConfig, evaluate_unit, run_evaluation
from robustness.errors import UserInputError
from robustness.executors import ExecutorOptions, submit_evaluation, sweep_status
from robustness.executors.state import StaleCheck, recorded_set_opener
from robustness.report.tables import units_frame
from robustness.store import Store, Unit

CFG = EvalConfig(batch_size=4, workers=0, device="cpu", precision="fp32", progress=False,
                 checkpoint_every=4)
LOCAL = ExecutorOptions(executor="local")
PARTIAL = {"imagenet": {"allow_partial": True}}


def weights_file(path: Path, offset: int) -> Path:
    """A real safetensors file with a 1000-way "head" whose entries are the prediction offset."""
    save_file({"head.bias": torch.full((1000,), float(offset))}, str(path))
    return path


@dataclasses.dataclass(frozen=True)
class FileZoo:
    """``GrayModel`` whose prediction offset is read from its weights file (default 0)."""

    def __call__(self, name, weights=None, device=None):
        model = GrayModel(name, offset=int(load_file(str(weights))["head.bias"][0]) if weights else 0)
        if weights:
            sha = hashlib.sha256(Path(weights).read_bytes()).hexdigest()
            model.info = dataclasses.replace(model.info, weights=str(Path(weights).resolve()),
                                             weights_sha256=sha)
        return model


def run(out, root, weights=None, sets=("imagenet",)):
    return submit_evaluation(["gray.a"], list(sets), out, data_root=root, config=CFG, weights=weights,
                             options=LOCAL, load_model=FileZoo(), dataset_options=PARTIAL,
                             echo=lambda line: None)


def status_of(out):
    stale = StaleCheck(open_set=recorded_set_opener(open_test_set))
    return {(s.model, s.test_set): s for s in sweep_status(out, stale).states}


def top1_in_tables(out) -> float:
    units = units_frame(Store(out))
    (row,) = units.itertuples()
    return 100.0 * row.k1 / row.n


def test_a_new_weights_file_under_the_same_name_makes_the_unit_stale_and_recomputed(tmp_path):
    root = gray_val_tree(tmp_path / "data", range(20, 24))
    w = weights_file(tmp_path / "w.bin", 0)
    first = run(tmp_path / "out", root, {"gray.a": str(w)})
    assert [r.status for r in first.results] == ["done"] and first.results[0].top1 == 100.0
    assert status_of(tmp_path / "out")[("gray.a", "imagenet")].state == "done"

    weights_file(w, 1)  # the user retrains and writes the file again: every prediction is off by one
    state = status_of(tmp_path / "out")[("gray.a", "imagenet")]
    assert state.state == "stale" and "w.bin" in state.error
    again = run(tmp_path / "out", root, {"gray.a": str(w)})
    assert [r.status for r in again.results] == ["done"] and again.results[0].top1 == 0.0
    assert top1_in_tables(tmp_path / "out") == 0.0  # the tables use the new unit
    units = list(Store(tmp_path / "out").iter_units(include_superseded=True))
    assert len(units) == 2 and sum(u.superseded() for u in units) == 1  # the old one is kept, marked
    meta = next(u for u in units if not u.superseded()).read_meta()
    assert meta["model"]["weights"] == str(w.resolve())
    assert meta["model"]["weights_sha256"] == hashlib.sha256(w.read_bytes()).hexdigest()
    assert status_of(tmp_path / "out")[("gray.a", "imagenet")].state == "done"

    weights_file(w, 0)  # back to the first weights: the first unit is current again, not recomputed
    assert status_of(tmp_path / "out")[("gray.a", "imagenet")].state == "stale"
    third = run(tmp_path / "out", root, {"gray.a": str(w)})
    assert [r.status for r in third.results] == ["cached"] and third.results[0].top1 == 100.0
    assert top1_in_tables(tmp_path / "out") == 100.0


def test_images_added_after_a_unit_finished_make_it_stale_and_recomputed(tmp_path):
    root = gray_val_tree(tmp_path / "data", range(20, 24))
    first = run(tmp_path / "out", root)
    assert first.results[0].n == 12
    gray_val_tree(root, range(30, 32))  # two class folders more: 6 images
    state = status_of(tmp_path / "out")[("gray.a", "imagenet")]
    assert state.state == "stale" and "12 then, 18 now" in state.error
    again = run(tmp_path / "out", root)
    assert [r.status for r in again.results] == ["done"] and again.results[0].n == 18
    (unit,) = Store(tmp_path / "out").iter_units()
    rec = Unit(unit.root).records().to_arrays()
    assert sorted(rec["relpath"].tolist()) == sorted(open_test_set("imagenet", root, allow_partial=True).relpaths)


def test_the_same_images_in_another_folder_are_the_same_unit(tmp_path):
    root = gray_val_tree(tmp_path / "a", range(20, 22))
    first = run(tmp_path / "out", root)
    moved = tmp_path / "b"
    os.rename(root, moved)
    again = run(tmp_path / "out", moved)
    assert [r.status for r in again.results] == ["cached"] and again.results[0].key == first.results[0].key


class InterruptAt:
    """Wraps a test set; reading image ``at`` raises KeyboardInterrupt (a Ctrl-C mid-unit)."""

    def __init__(self, inner, at):
        self.inner, self.at = inner, at
        self.info, self.labels, self.relpaths = inner.info, inner.labels, inner.relpaths

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        if i == self.at:
            raise KeyboardInterrupt
        return self.inner[i]


def test_a_data_change_between_interrupt_and_resume_restarts_the_unit(tmp_path):
    root = gray_val_tree(tmp_path / "data", range(20, 24))  # 12 images
    store = Store(tmp_path / "out")
    ds = open_test_set("imagenet", root, allow_partial=True)
    with pytest.raises(KeyboardInterrupt):
        evaluate_unit(GrayModel(), InterruptAt(ds, 9), store, CFG)
    assert list(store.units_root.glob("*/*/*/parts/part-*.npz"))  # checkpoints of 8 images
    gray_val_tree(root, range(10, 11))  # a class folder sorted *before* the others: positions shift
    grown = open_test_set("imagenet", root, allow_partial=True)
    result = evaluate_unit(GrayModel(), grown, store, CFG)
    assert result.status == "done" and result.n == 15
    (unit,) = store.iter_units()
    rec = Unit(unit.root).records().to_arrays()
    assert unit.read_meta()["resumed_from"] == 0
    assert rec["relpath"].tolist() == grown.relpaths  # each image exactly once, in order
    assert rec["correct1"].all()


def test_checkpoints_that_do_not_match_the_image_list_are_dropped(tmp_path):
    """Belt and braces: even under the same key, parts are kept only position by position."""
    root = gray_val_tree(tmp_path / "data", range(20, 24))
    store = Store(tmp_path / "out")
    ds = open_test_set("imagenet", root, allow_partial=True)
    with pytest.raises(KeyboardInterrupt):
        evaluate_unit(GrayModel(), InterruptAt(ds, 9), store, CFG)
    (part,) = sorted(store.units_root.glob("*/*/*/parts/part-000000000.npz"))
    with np.load(part) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["relpath"] = arrays["relpath"][::-1]  # a part written for another order
    np.savez(part, **arrays)
    result = evaluate_unit(GrayModel(), ds, store, CFG)
    (unit,) = store.iter_units()
    assert result.status == "done" and unit.read_meta()["resumed_from"] == 0
    assert Unit(unit.root).records().to_arrays()["relpath"].tolist() == ds.relpaths


def test_weights_entries_are_matched_like_model_names_and_unknown_ones_refused(tmp_path):
    root = gray_val_tree(tmp_path / "data", range(20, 22))
    w = weights_file(tmp_path / "w.bin", 1)
    with pytest.raises(UserInputError, match="'gray.b' is not a model of this run"):
        run(tmp_path / "out", root, {"gray.b": str(w)})
    with pytest.raises(UserInputError, match="no such file"):
        run(tmp_path / "out", root, {"gray.a": str(tmp_path / "missing.bin")})
    save_file({"head.bias": torch.zeros(10)}, str(tmp_path / "ten.safetensors"))
    with pytest.raises(UserInputError, match="no tensor has 1000 outputs"):
        run(tmp_path / "out", root, {"gray.a": str(tmp_path / "ten.safetensors")})
    assert not (tmp_path / "out").exists()  # refused before anything ran


RUNNER = """
import sys, time
sys.path.insert(0, {tests!r})
from fakes import GrayModel, GraySet
from robustness.engine import EvalConfig, run_evaluation

class Logged(GraySet):
    def __getitem__(self, i):
        with open({log!r}, "a") as f:
            f.write(f"{{self.info.name}} {{i}}\\n")
        return super().__getitem__(i)

def shelf(name, data_root=None, root=None):
    levels = [20 + 3 * i for i in range(8)]
    return Logged(name, levels, levels, root="/fake/" + name, delay=0.03)

cfg = EvalConfig(batch_size=4, workers=0, device="cpu", precision="fp32", progress=False, checkpoint_every=4)
summary = run_evaluation(["gray.a"], {sets!r}, {out!r}, config=cfg,
                         load_model=lambda name, weights=None, device=None: GrayModel(name),
                         open_test_set=shelf)
print(",".join(r.status for r in summary.results))
"""


def test_two_runs_on_one_store_compute_every_unit_exactly_once(tmp_path):
    sets = ["imagenet", "imagenet-r", "imagenet-a", "imagenet-sketch", "objectnet"]
    log = tmp_path / "reads.log"
    code = RUNNER.format(tests=str(Path(__file__).parent), log=str(log), sets=sets, out=str(tmp_path / "out"))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0].strip().splitlines()[-1].split(",") for p in procs]
    assert all(p.returncode == 0 for p in procs)
    reads = log.read_text().split("\n")[:-1]
    assert sorted(reads) == sorted(f"{s} {i}" for s in sets for i in range(8))  # each image read once
    finished = {u.read_meta()["test_set"]["name"] for u in Store(tmp_path / "out").iter_units()}
    assert finished == set(sets)
    done = [s for out in outputs for s in out if s == "done"]
    assert len(done) == len(sets)
    assert set(outputs[0] + outputs[1]) <= {"done", "locked", "cached"}


HOLDER = """
import sys, time
from robustness.store import Store
unit = Store({out!r}).unit("gray.a", "imagenet", "a" * 64)
assert unit.try_lock() is None
print("locked", flush=True)
time.sleep(600)
"""


def test_a_sigkilled_holders_lock_is_taken_over_and_a_live_one_is_not(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(out=str(tmp_path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        unit = Store(tmp_path).unit("gray.a", "imagenet", "a" * 64)
        holder = unit.try_lock()
        assert holder is not None and holder["pid"] == proc.pid  # alive: not taken
        state = {s.test_set: s for s in sweep_status(tmp_path).states}.get("imagenet")
        assert state is None or state.state in ("locked", "pending")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert unit.try_lock() is None  # the dead holder's lock is taken over
    assert json.loads(unit.lock.read_text())["pid"] == os.getpid()
    unit.release_lock()
    assert not unit.lock.exists()


def test_store_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        run_evaluation(["gray.a"], ["imagenet"], tmp_path / "out", data_root=gray_val_tree(tmp_path / "d", range(20, 21)),
                       config=CFG, load_model=FileZoo(), dataset_options=PARTIAL)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o777 == 0o644 for p in files)


def test_a_requeued_slurm_job_takes_over_its_own_earlier_lock(tmp_path, monkeypatch):
    unit = Store(tmp_path).unit("gray.a", "imagenet", "b" * 64)
    unit.root.mkdir(parents=True)
    other_host = {"host": "node-that-died", "pid": 1, "job": "77_3", "started": "earlier"}
    unit.lock.write_text(json.dumps(other_host))  # fresh heartbeat: another host's live lock
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "78")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert unit.try_lock() == other_host  # another job's: held
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "77")
    assert unit.try_lock() is None  # the same job, requeued on another node: taken over



def test_a_zero_shot_head_or_class_mapping_is_part_of_the_unit_key(tmp_path):
    """Two loads of the same weights whose heads differ (another template set, a re-ordered
    label map) are different units; a head record that differs only in whether it was just
    computed is the same unit."""
    from robustness.engine import unit_spec
    from robustness.store import unit_key
    from robustness.zoo.loaded import ModelInfo

    data = gray_val_tree(tmp_path / "data", range(3), per_class=1)
    test_set = open_test_set("imagenet", data, allow_partial=True)
    fields = {f.name for f in dataclasses.fields(ModelInfo)}
    model = GrayModel()
    plain_info = ModelInfo(**{k: v for k, v in dataclasses.asdict(model.info).items() if k in fields},
                           mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))

    def key_with(head):
        model.info = dataclasses.replace(plain_info, head=head)
        return unit_key(unit_spec(model, test_set, "fp32", False))

    plain = key_with(None)
    openai = {"type": "zero-shot", "templates": "openai", "head_sha256": "a" * 64, "computed": True}
    assert key_with(openai) != plain
    assert key_with({**openai, "computed": False}) == key_with(openai)
    assert key_with({**openai, "templates": "simple", "head_sha256": "b" * 64}) != key_with(openai)
    mapped = {"type": "checkpoint", "label_map": [1, 0], "label_map_sha256": "c" * 64}
    assert key_with(mapped) != plain
    assert key_with({"type": "checkpoint", "label_map": None, "label_map_sha256": None}) == plain
