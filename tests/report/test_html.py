"""The HTML report folder without a browser: what it holds, that it needs no network, and that
its leaderboard numbers are the store's and the analysis tables' (expectations from the unit
counts and scipy, not from the HTML code)."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from demo_kind_store import DEMO_MODELS
from scipy import stats

from robustness.report.html import (
    Provenance,
    build_leaderboard,
    model_page_name,
    weights_tag,
)
from robustness.report.tables import units_frame

MF = "imagenetv2-matched-frequency"


class _Collector(HTMLParser):
    """Every tag with its attributes, and the text of the report-data script."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self._in_data = False
        self.data = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._in_data = attrs.get("id") == "report-data"

    def handle_endtag(self, tag):
        self._in_data = False

    def handle_data(self, data):
        if self._in_data:
            self.data += data


def _parse(path):
    parser = _Collector()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_folder_holds_index_model_pages_and_local_assets(demo_kind_html):
    assert (demo_kind_html / "index.html").is_file()
    pages = sorted(p.name for p in (demo_kind_html / "models").iterdir())
    assert pages == sorted(model_page_name(m) for m in DEMO_MODELS)
    for page in [demo_kind_html / "index.html", *(demo_kind_html / "models").iterdir()]:
        parsed = _parse(page)
        refs = [a.get("src") or a.get("href") for t, a in parsed.tags
                if t in ("script", "link") and (a.get("src") or a.get("href"))]
        assert refs, page
        for ref in refs:
            assert "://" not in ref and not ref.startswith("//"), (page, ref)
            assert (page.parent / ref).resolve().is_file(), (page, ref)
        json.loads(parsed.data)  # the inline data parse


def test_nothing_in_the_folder_loads_from_a_network(demo_kind_html):
    """No script or stylesheet address, import or fetch points off the machine. (The Vega-Lite
    specs name their JSON schema by URL; it is an identifier, never fetched.)"""
    pattern = re.compile(r"""(src|href)\s*=\s*["']https?://|@import\s+url\(\s*["']?https?://""")
    for path in demo_kind_html.rglob("*"):
        if path.is_file():
            assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_folder_is_small(demo_kind_html):
    size = sum(p.stat().st_size for p in demo_kind_html.rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024


def _cp(k, n):
    low = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return 100 * low, 100 * high


def test_leaderboard_cells_are_the_stores_and_the_tables_numbers(demo_kind_report):
    r = demo_kind_report
    board = build_leaderboard(r.acc, r.result, r.options, r.acc[["model"]].drop_duplicates(),
                              Provenance("robustness report", {}))
    keys = [c.key for c in board.columns]
    assert keys[:7] == ["model", "family", "kind", "training", "params", "img_size", "weights"]
    assert {"imagenet:top1", f"{MF}:top1", f"{MF}:gap", f"{MF}:er"} <= set(keys)
    assert "mce" not in keys  # 2 of the 15 corruptions: no mCE, no column
    # set-group members are summarised by their mean, not one column each
    assert not any(k.startswith("imagenet-c.") for k in keys)
    assert "imagenet-c (mean):top1" in keys
    rows = {row["model"]: row for row in board.rows}
    assert sorted(rows) == sorted(DEMO_MODELS)
    acc = r.acc.set_index(["model", "test_set"])
    gaps = r.result.gaps.set_index(["model", "shift"])
    er = r.result.effective_robustness
    er = er[(er["scale"] == r.options.plot_scale) & (er["shift"] == MF)].set_index("model")
    for model, row in rows.items():
        k, n = int(acc.loc[(model, MF), "k1"]), int(acc.loc[(model, MF), "n"])
        cell = row[f"{MF}:top1"]
        assert cell.value == pytest.approx(100 * k / n)
        assert (cell.low, cell.high) == pytest.approx(_cp(k, n), abs=1e-6)
        gap = row[f"{MF}:gap"]
        k0, n0 = int(acc.loc[(model, "imagenet"), "k1"]), int(acc.loc[(model, "imagenet"), "n"])
        assert gap.value == pytest.approx(100 * k / n - 100 * k0 / n0)
        assert (gap.low, gap.high) == pytest.approx(
            tuple(gaps.loc[(model, MF), ["gap_low", "gap_high"]]))
        assert row[f"{MF}:er"].value == pytest.approx(er.loc[model, "er"])


def test_leaderboard_shows_the_corruption_tables_mce(demo_kind_report):
    r = demo_kind_report
    corruptions = r.result.corruptions.copy()
    mce = {m: 50.0 + i for i, m in enumerate(sorted(DEMO_MODELS))}
    corruptions["mce"] = corruptions["model"].map(mce)
    result = dataclasses.replace(r.result, corruptions=corruptions)
    board = build_leaderboard(r.acc, result, r.options, r.acc[["model"]].drop_duplicates(),
                              Provenance("robustness report", {}))
    assert board.columns[-1].key == "mce"
    assert {row["model"]: row["mce"].value for row in board.rows} == mce


def test_leaderboard_names_each_numbers_unit(demo_kind_report):
    r = demo_kind_report
    frame = units_frame(r.store)
    provenance = Provenance("robustness report --out X", {"numpy": "1"},
                            frame[["model", "test_set", "key"]])
    board = build_leaderboard(r.acc, r.result, r.options, frame, provenance)
    row = next(row for row in board.rows if row["model"] == "demo-deit")
    expected = frame[(frame["model"] == "demo-deit") & (frame["test_set"] == MF)]["key"].iloc[0]
    assert expected in row[f"{MF}:top1"].provenance
    base_key = frame[(frame["model"] == "demo-deit")
                     & (frame["test_set"] == "imagenet")]["key"].iloc[0]
    assert expected in row[f"{MF}:gap"].provenance and base_key in row[f"{MF}:gap"].provenance
    assert row["family"] == "deit" and row["kind"] == "vit" and row["training"] == "imagenet-trained"
    assert row["params"].value == pytest.approx(0.3) and row["img_size"].value == 64


def test_index_holds_one_line_chart_per_shift_with_every_model(demo_kind_html, demo_kind_report):
    data = json.loads(_parse(demo_kind_html / "index.html").data)
    charts = data["charts"]
    assert {"line-imagenetv2-matched-frequency", "line-imagenet-c-mean", "heatmap"} <= set(charts)
    spec = charts["line-imagenetv2-matched-frequency"]
    rows = [row for values in spec["datasets"].values() for row in values if "model" in row]
    assert sorted(row["model"] for row in rows) == sorted(DEMO_MODELS)
    left_out = sorted(row["model"] for row in rows if row["fit"] == "left out of the fit")
    assert left_out == sorted(m for m, (*_, tuned) in DEMO_MODELS.items() if tuned)
    heat = [row for values in charts["heatmap"]["datasets"].values() for row in values]
    c = demo_kind_report.result.corruptions
    for row in heat:
        cell = c[(c["corruption"] == row["corruption"]) & (c["severity"] == row["severity"])]
        assert row["error"] == pytest.approx(cell["error"].mean())
        assert row["models"] == cell["model"].nunique()
    assert len(heat) == len(c.groupby(["corruption", "severity"]))


def test_every_chart_has_a_how_to_read_panel(demo_kind_html):
    for page in [demo_kind_html / "index.html", *(demo_kind_html / "models").iterdir()]:
        parsed = _parse(page)
        charts = [a for t, a in parsed.tags if "data-chart" in a]
        panels = [a for t, a in parsed.tags if t == "details" and a.get("class") == "howto"]
        assert charts and len(panels) >= len(charts), page


@pytest.mark.parametrize(("model", "source", "tag"), [
    ("resnet50.a1_in1k", "timm", "a1_in1k"),
    ("tv:resnet50.IMAGENET1K_V2", "torchvision", "IMAGENET1K_V2"),
    ("demo-resnet", "local-dir", "local-dir"),
    ("vit_base_patch16_clip_224.openai", None, "openai"),
])
def test_weights_tag(model, source, tag):
    assert weights_tag(model, source) == tag


def test_model_page_names_are_safe_file_names():
    assert model_page_name("tv:resnet50.IMAGENET1K_V2") == "tv_resnet50.IMAGENET1K_V2.html"
    assert model_page_name("a/b c") == "a_b_c.html"
    assert np.unique([model_page_name(m) for m in DEMO_MODELS]).size == len(DEMO_MODELS)


def test_report_command_writes_the_html_folder_only_when_asked(tmp_path, capsys):
    from demo_kind_store import build_demo_kind_store

    from robustness.cli import main

    store = build_demo_kind_store(tmp_path / "out", seed=5, corruptions=False)
    args = ["report", "--out", str(store.out), "--bootstrap", "50", "--resamples", "50"]
    assert main(args) == 0
    assert not (store.out / "html").exists()
    assert main([*args, "--html"]) == 0
    assert (store.out / "html" / "index.html").is_file()
    assert str(store.out / "html" / "index.html") in capsys.readouterr().out
    page = (store.out / "html" / "index.html").read_text(encoding="utf-8")
    command = f"robustness report --out {store.out} --resamples 50"  # the command, as provenance
    assert command in page and "--bootstrap 50" in page
