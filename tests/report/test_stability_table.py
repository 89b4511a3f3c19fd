"""The ImageNet-P stability table (robustness/report/stability.py).

Units are written through the store API with hand-built top-5 sequences whose flip
probabilities and top-5 distances are worked out by hand in the comments (noise types against
frame 0, the others frame to frame, at a stride of d for difficulty d), and one run of the
engine on a generated mp4 tree is checked against the reference metrics of
``hendrycks/robustness`` ``ImageNet-P/test.py`` (re-implemented here) applied to the model's
outputs on the videos decoded directly."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from robustness.report.stability import (
    STABILITY_COLUMNS,
    flip_rate_figure,
    frame_sequences,
    plot_flip_rates,
    stability_table,
)
from robustness.report.tables import units_frame
from robustness.stats.stability import IMAGENET_P_PERTURBATIONS
from robustness.store import Store


def add_unit(store: Store, model: str, test_set: str, sequences: dict[str, list[list[int]]],
             evaluated: np.ndarray | None = None, logits: np.ndarray | None = None,
             frames: bool = True) -> None:
    """A finished unit whose image list holds the frames ``<name>#<t>`` of each sequence (in
    order; ``<name>`` itself without ``frames``) and whose top-5 predictions are the given lists
    (best first)."""
    relpaths = [f"{name}#{t:02d}" if frames else name
                for name, frames_ in sequences.items() for t in range(len(frames_))]
    top5 = np.array([f for frames in sequences.values() for f in frames], dtype=np.int16)
    n = len(relpaths)
    arrays = {"index": np.arange(n), "relpath": np.array(relpaths), "label": np.zeros(n, dtype=np.int64),
              "top5": top5, "correct1": top5[:, 0] == 0, "correct5": (top5 == 0).any(axis=1),
              "correct1_all": top5[:, 0] == 0, "correct5_all": (top5 == 0).any(axis=1)}
    if evaluated is not None:
        arrays["evaluated"] = evaluated
    if logits is not None:
        arrays["logits"] = logits.astype(np.float16)
    meta = {"key": f"{model}|{test_set}",
            "model": {"name": model, "family": "fake", "kind": "cnn", "img_size": 8,
                      "param_count": 1.0, "crop_pct": 1.0, "interpolation": "bilinear"},
            "test_set": {"name": test_set, "baseline": "imagenet", "scoring": {}},
            "finished_at": "2026-01-01T00:00:00"}
    store.unit(model, test_set, f"{model}{test_set}".encode().hex()[:16]).finish(arrays, meta)


# gaussian_noise, difficulty 1: every frame against frame 0
NOISE_1 = {
    "n0/a.mp4": [[1, 30, 31, 32, 33],   # f0
                 [1, 31, 30, 32, 33],   # vs f0: same top-1; ranks of 1,30,31,32,33: 1,3,2,4,5 -> 2
                 [2, 1, 30, 31, 32],    # flip; ranks 2,3,4,5,6 -> 5
                 [1, 30, 31, 32, 33]],  # same as f0 -> 0        FP 1/3, T5D 7/3
    "n0/b.mp4": [[3, 40, 41, 42, 43],
                 [4, 3, 40, 41, 42],    # flip; ranks 2,3,4,5,6 -> 5
                 [4, 3, 40, 41, 42],    # flip (against f0, not f1) -> 5
                 [4, 3, 40, 41, 42]],   # flip -> 5               FP 1, T5D 5
}  # FP = (1/3 + 1) / 2 = 2/3; T5D = (7/3 + 5) / 2 = 11/3 (frame to frame it would be FP 1/2)
# gaussian_noise, difficulty 2 (its own videos): FP 1/3, T5D (0 + 5 + 0) / 3 = 5/3
NOISE_2 = {"n0/a.mp4": [[7, 50, 51, 52, 53], [7, 50, 51, 52, 53], [8, 7, 50, 51, 52],
                        [7, 50, 51, 52, 53]]}
# rotate: frame t against frame t + d
ROTATE = {
    "n0/c.mp4": [[1, 10, 11, 12, 13],
                 [2, 1, 10, 11, 12],   # d=1: flip, ranks 2,3,4,5,6 -> 5
                 [2, 1, 10, 11, 12],   # d=1: 0
                 [3, 2, 1, 10, 11],    # d=1: flip -> 5
                 [3, 2, 1, 10, 11]],   # d=1: 0          FP 2/4, T5D 10/4
    "n0/d.mp4": [[5, 20, 21, 22, 23]] * 4 + [[6, 5, 20, 21, 22]],  # d=1: FP 1/4, T5D 5/4
}  # d=1: FP (1/2 + 1/4) / 2 = 3/8, T5D (5/2 + 5/4) / 2 = 15/8
#    d=2 (pairs 0-2, 1-3, 2-4): c: 3 flips, each 5 -> FP 1, T5D 5; d: FP 1/3, T5D 5/3
#        -> FP 2/3, T5D 10/3


@pytest.fixture()
def hand_store(tmp_path) -> Store:
    store = Store(tmp_path / "out")
    add_unit(store, "m.a", "imagenet-p.gaussian_noise.1", NOISE_1)
    add_unit(store, "m.a", "imagenet-p.gaussian_noise.2", NOISE_2)
    add_unit(store, "m.a", "imagenet-p.rotate.1", ROTATE)
    # m.b: the same rotate predictions, one frame of n0/d.mp4 skipped as unreadable
    evaluated = np.ones(10, dtype=bool)
    evaluated[7] = False
    add_unit(store, "m.b", "imagenet-p.rotate.1", ROTATE, evaluated=evaluated)
    add_unit(store, "m.b", "imagenet-c.fog.1", {"n0/x.JPEG": [[0, 1, 2, 3, 4]]})  # not ImageNet-P
    return store


def row(table: pd.DataFrame, model: str, perturbation: str, difficulty: int) -> pd.Series:
    found = table[(table.model == model) & (table.perturbation == perturbation)
                  & (table.difficulty == difficulty)]
    assert len(found) == 1, (model, perturbation, difficulty, table)
    return found.iloc[0]


def test_noise_and_geometric_rules_and_difficulty_strides_against_hand_computed_values(hand_store):
    table, notes = stability_table(hand_store, units_frame(hand_store))
    assert list(table.columns) == STABILITY_COLUMNS
    expected = [  # model, perturbation, difficulty, test set, sequences, FP %, T5D
        ("m.a", "gaussian_noise", 1, "imagenet-p.gaussian_noise.1", 2, 100 * 2 / 3, 11 / 3),
        ("m.a", "gaussian_noise", 2, "imagenet-p.gaussian_noise.2", 1, 100 / 3, 5 / 3),
        ("m.a", "rotate", 1, "imagenet-p.rotate.1", 2, 100 * 3 / 8, 15 / 8),
        ("m.a", "rotate", 2, "imagenet-p.rotate.1", 2, 100 * 2 / 3, 10 / 3),
        ("m.b", "rotate", 1, "imagenet-p.rotate.1", 1, 100 / 2, 10 / 4),  # only n0/c.mp4
    ]
    assert len(table) == len(expected)  # no difficulty 2 for m.b (no unit there), no fog
    for model, perturbation, d, test_set, n_seq, fp, t5d in expected:
        r = row(table, model, perturbation, d)
        assert (r.group, r.test_set, r.n_sequences) == ("imagenet-p", test_set, n_seq)
        assert r.flip_probability == pytest.approx(fp) and r.top5_distance == pytest.approx(t5d)
        assert np.isnan(r.zipf_distance) and np.isnan(r.fr) and np.isnan(r.mfr)
    assert table[["model", "difficulty"]].values.tolist() == [
        ["m.a", 1], ["m.a", 1], ["m.a", 2], ["m.a", 2], ["m.b", 1]]
    assert "stability m.b imagenet-p.rotate.1: 1 of 2 sequence(s) with frames skipped as " \
           "unreadable left out" in notes
    assert any("no AlexNet ImageNet-P values at difficulty 1" in n for n in notes)
    assert "stability: zipf_distance left empty for 4 unit(s) without saved logits " \
           "(evaluate with --save-logits)" in notes


def test_flip_rates_mfr_and_mt5d_against_an_alexnet_table(tmp_path):
    """Every test perturbation has FP 1/2 (one flip in two compared pairs, by its own rule) and
    T5D 15/2 (a flip replaces all five classes); AlexNet's FP is 1/2 for the first five and 1
    for the others, its T5D 15: FR 100% or 50%, mFR 75%; T5D rate 50%, mT5D 50%."""
    store = Store(tmp_path / "out")
    a, b = [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]
    noise, other = [a, b, a], [a, b, b]  # against frame 0: 1, 0; frame to frame: 1, 0
    for p in IMAGENET_P_PERTURBATIONS:
        add_unit(store, "m.full", f"imagenet-p.{p}.1", {"n0/a.mp4": noise if "noise" in p else other})
    add_unit(store, "m.part", "imagenet-p.rotate.1", {"n0/a.mp4": other})
    alexnet = {1: {p: (0.5 if k < 5 else 1.0, 15.0) for k, p in enumerate(IMAGENET_P_PERTURBATIONS)}}
    table, notes = stability_table(store, units_frame(store), alexnet=alexnet)
    full = table[table.model == "m.full"].set_index("perturbation")
    assert list(full.index) == list(IMAGENET_P_PERTURBATIONS)  # paper order
    assert full.flip_probability.tolist() == pytest.approx([50.0] * 10)
    assert full.top5_distance.tolist() == pytest.approx([7.5] * 10)
    assert full.fr.tolist() == pytest.approx([100.0] * 5 + [50.0] * 5)
    assert full.t5d_rate.tolist() == pytest.approx([50.0] * 10)
    assert full.mfr.tolist() == pytest.approx([75.0] * 10)
    assert full.mt5d.tolist() == pytest.approx([50.0] * 10)
    assert set(full.normalised_by) == {"reference table"}
    part = row(table, "m.part", "rotate", 1)
    assert part.fr == pytest.approx(50.0) and np.isnan(part.mfr) and np.isnan(part.mt5d)
    assert ("stability m.part imagenet-p difficulty 1: mFR and mT5D left empty, 9 of the 10 "
            "perturbations missing (gaussian_noise, shot_noise, motion_blur, zoom_blur ...)") in notes
    assert not any("no AlexNet" in n for n in notes)


def test_zipf_distance_from_saved_logits(tmp_path):
    """Frame 1 swaps the two best classes of frame 0, frame 2 repeats frame 1: frame to frame
    the Zipf distances are |1 - 1/2| / 1 + |1/2 - 1| / 2 = 3/4 and 0, mean 3/8."""
    store = Store(tmp_path / "out")
    base = -np.arange(1000, dtype=np.float64)  # class 0 best, then 1, 2, ...
    swapped = base.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    logits = np.stack([base, swapped, swapped])
    top5 = [[0, 1, 2, 3, 4], [1, 0, 2, 3, 4], [1, 0, 2, 3, 4]]
    add_unit(store, "m.z", "imagenet-p.rotate.1", {"n0/a.mp4": top5}, logits=logits)
    table, notes = stability_table(store, units_frame(store))
    r = row(table, "m.z", "rotate", 1)
    assert r.zipf_distance == pytest.approx(3 / 8)
    assert r.flip_probability == pytest.approx(50.0) and r.top5_distance == pytest.approx(1.0)
    assert not any("zipf_distance left empty" in n for n in notes)


def test_frame_sequences_and_units_that_are_not_frames(tmp_path):
    starts, lengths = frame_sequences(["a.mp4#00", "a.mp4#01", "a.mp4 b.mp4#00", "b.mp4#00", "b.mp4#01"])
    assert starts.tolist() == [0, 2, 3] and lengths.tolist() == [2, 1, 2]
    with pytest.raises(ValueError, match="not an ImageNet-P frame path"):
        frame_sequences(["a.mp4#00", "b.JPEG"])
    with pytest.raises(ValueError, match="not contiguous"):
        frame_sequences(["a.mp4#00", "b.mp4#00", "a.mp4#01"])
    with pytest.raises(ValueError, match="numbered 0, 1"):
        frame_sequences(["a.mp4#00", "a.mp4#02"])
    store = Store(tmp_path / "out")
    add_unit(store, "m.x", "imagenet-p.rotate.1", {"n0/a.mp4": [[1, 2, 3, 4, 5]] * 3})
    add_unit(store, "m.y", "imagenet-p.rotate.1", {"n0/a.JPEG": [[1, 2, 3, 4, 5]]}, frames=False)
    table, notes = stability_table(store, units_frame(store))
    assert table.model.tolist() == ["m.x"] and table.flip_probability.iloc[0] == 0.0
    assert ("stability m.y imagenet-p.rotate.1: left out, 'n0/a.JPEG' is not an ImageNet-P frame "
            "path (<video>#<frame index>)") in notes
    empty, _ = stability_table(store, units_frame(store).iloc[0:0])
    assert empty.empty and list(empty.columns) == STABILITY_COLUMNS


def test_flip_rate_plot_draws_each_models_flip_probabilities(hand_store, tmp_path):
    table, _ = stability_table(hand_store, units_frame(hand_store))
    fig = flip_rate_figure(table[table.difficulty == 1])
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"m.a", "m.b"}
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["gaussian_noise", "rotate"]
    np.testing.assert_allclose(lines["m.a"].get_ydata(), [100 * 2 / 3, 100 * 3 / 8])
    assert np.isnan(lines["m.b"].get_ydata()[0]) and lines["m.b"].get_ydata()[1] == pytest.approx(50)
    paths = plot_flip_rates(table, tmp_path / "plots")
    assert [p.name for p in paths] == ["flip_probability_imagenet-p_d1.png", "flip_probability_imagenet-p_d1.svg",
                                       "flip_probability_imagenet-p_d2.png", "flip_probability_imagenet-p_d2.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ET.parse(paths[1]).getroot().tag.endswith("svg")
    assert plot_flip_rates(table.iloc[0:0], tmp_path / "none") == []


def test_the_table_module_imports_no_matplotlib_and_leaves_the_backend_alone(tmp_path):
    code = ("import sys, robustness.report.stability as s; "
            "assert 'matplotlib' not in sys.modules, 'stability imported matplotlib'; "
            "import pandas as pd, matplotlib; "
            "t = pd.DataFrame({'model': ['m'], 'group': ['imagenet-p'], 'difficulty': [1], "
            "'perturbation': ['rotate'], 'flip_probability': [5.0]}); "
            "s.plot_flip_rates(t, sys.argv[1]); import matplotlib.pyplot; "
            "assert matplotlib.get_backend().lower() == 'svg', matplotlib.get_backend()")
    env = {**os.environ, "MPLBACKEND": "svg"}  # the user's choice; plotting must not override it
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env)
    assert (tmp_path / "flip_probability_imagenet-p_d1.png").is_file()


# ---------------------------------------------------------------- through the engine


def reference_flip_prob(predictions, noise: bool, difficulty: int) -> float:
    """``flip_prob`` of ImageNet-P/test.py."""
    result = 0.0
    step = 1 if noise else difficulty
    for vid in predictions:
        flips = []
        for i in range(step):
            prev = vid[i]
            for pred in vid[i::step][1:]:
                flips.append(int(prev != pred))
                if not noise:
                    prev = pred
        result += np.mean(flips) / len(predictions)
    return result


def reference_zipf(ranks, noise: bool, difficulty: int) -> float:
    """``ranking_dist(..., mode='zipf')`` of ImageNet-P/test.py (``ranks``: rankdata ordinal)."""
    recip = 1.0 / np.arange(1, 1001)
    result = 0.0
    step = 1 if noise else difficulty
    for vid in ranks:
        dists = []
        for i in range(step):
            perm1 = vid[i]
            inv = np.argsort(perm1)
            for perm2 in vid[i::step][1:]:
                sigma = perm2[inv]
                dists.append(np.sum(np.abs(recip - recip[sigma - 1]) * recip))
                if not noise:
                    inv = np.argsort(perm2)
        result += np.mean(dists) / len(ranks)
    return result


def test_engine_run_on_a_generated_tree_matches_the_reference_metrics(tmp_path):
    pytest.importorskip("av", reason="PyAV (the imagenet-p extra) is not installed")
    import torch
    from dataset_trees import imagenet_p_tree
    from fakes import GrayModel, GrayNet
    from PIL import Image
    from scipy.stats import rankdata

    from corruptions.imagenet_p import read_sequence
    from robustness.engine import EvalConfig, run_evaluation

    data_root = imagenet_p_tree(tmp_path / "data", "rotate,gaussian_noise", "1,2", seed=1)
    sets = ["imagenet-p.rotate.1", "imagenet-p.gaussian_noise.1", "imagenet-p.gaussian_noise.2"]
    config = EvalConfig(batch_size=7, workers=2, device="cpu", precision="fp32", progress=False,
                        checkpoint_every=14, save_logits=True)
    summary = run_evaluation(["gray.a"], sets, tmp_path / "out", data_root=data_root, config=config,
                             load_model=lambda name, weights, device: GrayModel(name),
                             dataset_options={"imagenet-p": {"allow_partial": True}})
    assert summary.ok, summary.failed
    store = Store(tmp_path / "out")
    table, notes = stability_table(store, units_frame(store))

    net = GrayNet()
    for folder, perturbation, difficulties in (("rotate", "rotate", (1, 2)),
                                               ("gaussian_noise", "gaussian_noise", (1,)),
                                               ("gaussian_noise_2", "gaussian_noise", (2,))):
        preds, ranks = [], []
        for video in sorted((data_root / "imagenet-p" / folder).rglob("*.mp4")):
            frames = read_sequence(video)
            x = torch.stack([torch.from_numpy(np.array(Image.fromarray(f).resize((8, 8)))).permute(2, 0, 1)
                             for f in frames]).float() / 255.0
            logits = net(x).numpy()
            preds.append(logits.argmax(axis=1))
            ranks.append(np.stack([rankdata(-z, method="ordinal") for z in logits]).astype(np.int64))
        noise = "noise" in perturbation
        for d in difficulties:
            r = row(table, "gray.a", perturbation, d)
            assert r.n_sequences == 4
            assert r.flip_probability == pytest.approx(100 * reference_flip_prob(preds, noise, d))
            # the other rule gives another value: the comparison tells the rules apart
            assert r.flip_probability != pytest.approx(100 * reference_flip_prob(preds, not noise, d))
            assert r.zipf_distance == pytest.approx(reference_zipf(ranks, noise, d))
    assert len(table) == 4 and table.group.unique().tolist() == ["imagenet-p"]
    assert table.flip_probability.max() > 0  # the sequences do move the predictions
    assert table.mfr.isna().all() and not any("zipf_distance left empty" in n for n in notes)


def test_the_store_report_writes_stability_csv_and_measures_no_gap_on_frames(hand_store, capsys):
    """Frames of one video are not independent images: ImageNet-P sets get no gap, fit, group
    mean or corruption table, only stability.csv (and their calibration rows)."""
    from robustness.cli import main

    out = hand_store.out
    assert main(["report", "--out", str(out)]) == 0
    stability = pd.read_csv(out / "stability.csv")
    expected = stability_table(hand_store, units_frame(hand_store))[0]
    assert len(stability) == len(expected) and set(stability["model"]) == set(expected["model"])
    gaps = pd.read_csv(out / "gaps.csv")
    assert not gaps["shift"].astype(str).str.startswith("imagenet-p").any()
    assert not any(p.name.startswith("corruptions-imagenet-p") for p in out.iterdir())
    assert list((out / "plots").glob("flip_probability_*")), "the flip-rate plot is drawn"
    frames = pd.read_csv(out / "results-imagenet-p.rotate.1.csv")  # accuracy, but no interval
    assert frames["top1"].notna().all() and frames[["top1_low", "top1_high"]].isna().all().all()


def test_a_reference_table_given_on_the_command_line_fills_the_flip_rates(hand_store, tmp_path, capsys):
    """FR = flip probability / the reference's, in percent (mFR needs all 10 perturbations)."""
    from robustness.cli import main

    out = hand_store.out
    reference = tmp_path / "alexnet.csv"
    reference.write_text("# test values\nperturbation,difficulty,flip_probability,top5_distance\n"
                         "gaussian_noise,1,0.5,2.0\nrotate,1,0.25,1.0\n")
    assert main(["report", "--out", str(out), "--no-plots", "--stability-reference", str(reference)]) == 0
    table = pd.read_csv(out / "stability.csv")
    noise = table[(table.model == "m.a") & (table.perturbation == "gaussian_noise") & (table.difficulty == 1)].iloc[0]
    assert noise["fr"] == pytest.approx(100 * noise["flip_probability"] / 100 / 0.5, rel=1e-5)  # 6 digits
    assert noise["t5d_rate"] == pytest.approx(100 * noise["top5_distance"] / 2.0, rel=1e-5)
    reference.write_text("perturbation,difficulty,flip\nrotate,1,0.2\n")
    assert main(["report", "--out", str(out), "--stability-reference", str(reference)]) == 2
    assert "--stability-reference" in capsys.readouterr().err


def test_flip_rates_against_a_model_of_the_same_store(tmp_path, capsys):
    """--stability-baseline-model: the baseline model flips in one of two compared pairs on every
    perturbation (FP 1/2, T5D 15/2); m.full does so on the first five and in both pairs on the
    other five (FP 1, T5D 15): FR 100% or 200%, mFR 150%, mT5D 150%; the baseline's own mFR is
    100%. A group the baseline was not evaluated on gets no rates."""
    from robustness.cli import main

    store = Store(tmp_path / "out")
    a, b = [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]
    half = {"noise": [a, b, a], "other": [a, b, b]}  # one flip of two, by each rule
    full = {"noise": [a, b, b], "other": [a, b, a]}  # two flips of two
    for k, p in enumerate(IMAGENET_P_PERTURBATIONS):
        kind = "noise" if "noise" in p else "other"
        add_unit(store, "m.base", f"imagenet-p.{p}.1", {"n0/a.mp4": half[kind]})
        add_unit(store, "m.full", f"imagenet-p.{p}.1", {"n0/a.mp4": (half if k < 5 else full)[kind]})
    add_unit(store, "m.full", "imagenet-p-inmemory.rotate.1", {"n0/a.JPEG": full["other"]})
    table, notes = stability_table(store, units_frame(store), baseline_model="m.base")
    mine = table[(table.model == "m.full") & (table.group == "imagenet-p")].set_index("perturbation")
    assert mine.fr.tolist() == pytest.approx([100.0] * 5 + [200.0] * 5)
    assert mine.t5d_rate.tolist() == pytest.approx([100.0] * 5 + [200.0] * 5)
    assert mine.mfr.tolist() == pytest.approx([150.0] * 10)
    assert mine.mt5d.tolist() == pytest.approx([150.0] * 10)
    assert set(mine.normalised_by) == {"m.base (this store)"}
    base = table[table.model == "m.base"]
    assert base.mfr.tolist() == pytest.approx([100.0] * 10) and base.fr.tolist() == pytest.approx([100.0] * 10)
    other_group = row(table[table.group == "imagenet-p-inmemory"], "m.full", "rotate", 1)
    assert np.isnan(other_group.fr) and other_group.normalised_by == ""
    assert ("stability: no values of m.base (this store) at difficulty 1 (imagenet-p-inmemory): "
            "fr, t5d_rate, mfr and mt5d left empty") in notes

    out = store.out
    assert main(["report", "--out", str(out), "--no-plots", "--stability-baseline-model", "m.base"]) == 0
    written = pd.read_csv(out / "stability.csv", keep_default_na=False)
    assert set(written.loc[written.group == "imagenet-p", "normalised_by"]) == {"m.base (this store)"}
    assert main(["report", "--out", str(out), "--no-plots", "--stability-baseline-model", "m"]) == 2
    assert "--stability-baseline-model m:" in capsys.readouterr().err  # m.base or m.full: ambiguous
    capsys.readouterr()
    assert main(["report", "--out", str(out), "--no-plots", "--stability-baseline-model", "alexnet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--stability-baseline-model alexnet" in err and "m.base" in err
    reference = tmp_path / "alexnet.csv"
    reference.write_text("perturbation,difficulty,flip_probability,top5_distance\nrotate,1,0.25,1.0\n")
    assert main(["report", "--out", str(out), "--no-plots", "--stability-baseline-model", "m.base",
                 "--stability-reference", str(reference)]) == 2
    assert "not both" in capsys.readouterr().err


def test_a_torchvision_name_without_its_weights_member_names_the_baseline(tmp_path):
    """tv:alexnet is tv:alexnet.IMAGENET1K_V1 in the store (the enum's DEFAULT member)."""
    store = Store(tmp_path / "out")
    a, b = [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]
    add_unit(store, "tv:alexnet.IMAGENET1K_V1", "imagenet-p.rotate.1", {"n0/a.mp4": [a, b, a, a, a]})
    add_unit(store, "m.x", "imagenet-p.rotate.1", {"n0/a.mp4": [a, b, a, b, a]})
    table, _ = stability_table(store, units_frame(store), baseline_model="tv:alexnet")
    mine = row(table, "m.x", "rotate", 1)
    assert mine.flip_probability == pytest.approx(100.0) and mine.fr == pytest.approx(200.0)  # 4/4 vs 2/4
    assert mine.normalised_by == "tv:alexnet.IMAGENET1K_V1 (this store)"
