"""The HTML report: one folder with an ``index.html`` that opens from disk, offline.

``robustness report --html`` (and ``robustness demo``) write ``OUT/html/``::

    index.html          leaderboard (sortable, filterable by family and training kind), per shift the
                        accuracy-on-the-line chart, the corruption heatmap, provenance
    models/<model>.html per model: gap bars and per-severity error curves
    assets/vega.js      Vega, Vega-Lite and vega-embed in one classic script (vl-convert's bundle)
    assets/report.js    draws the charts, sorts and filters the leaderboard
    assets/report.css

Charts are Vega-Lite specs built with altair from the same analysis objects the CSV tables and
static plots come from (:mod:`robustness.report.views`); each page carries its specs and data
inline as JSON. Nothing is fetched: scripts load with ``<script src>`` relative to the page,
which browsers allow from ``file://`` (ES modules would not be).

Units: everything shown is percent (top-1, intervals) or percentage points (gaps, effective
robustness); the chart data hold fractions only on the transformed axes.
"""

from __future__ import annotations

import html
import json
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from ..stats.fits import transform
from ..stats.intervals import clopper_pearson
from ..store import Store
from .analysis import (
    IMAGENET_C,
    Analysis,
    AnalysisOptions,
    group_member,
    with_group_means,
)
from .plots import PERCENT_TICKS, line_band
from .tables import models_table, units_frame
from .views import LineView, line_views, model_kinds

#: packages whose versions every page names (read from installed metadata; nothing imported)
VERSION_PACKAGES = ("robustness-harness", "torch", "timm", "numpy", "scipy", "pandas",
                    "matplotlib", "altair", "vl-convert-python")
ASSETS = ("report.js", "report.css")
VEGA_ASSET = "vega.js"
CHART_WIDTH, CHART_HEIGHT = 460, 400


# ---------------------------------------------------------------- facts shown


@dataclass(frozen=True)
class Provenance:
    """Where the numbers come from: the command, the package versions, the store's units
    (``units``: one row per unit with ``model, test_set, key``, optionally ``weights_sha256``
    and ``finished_at``)."""

    command: str
    versions: dict[str, str]
    units: pd.DataFrame = field(default_factory=pd.DataFrame)

    def unit_key(self, model: str, test_set: str) -> str | None:
        """The store key of the unit behind (model, test set), or None (published tables)."""
        if self.units.empty:
            return None
        rows = self.units[(self.units["model"] == model) & (self.units["test_set"] == test_set)]
        return str(rows["key"].iloc[0]) if len(rows) else None

    def describe(self, model: str, *test_sets: str) -> str:
        """``units/<model>/<set>/<key>`` of each set, or a note that none is stored."""
        parts = []
        for test_set in test_sets:
            key = self.unit_key(model, test_set)
            parts.append(f"unit {model} on {test_set}: {key}" if key
                         else f"{model} on {test_set}: no stored unit (published table)")
        return "; ".join(parts)


def package_versions(names: Sequence[str] = VERSION_PACKAGES) -> dict[str, str]:
    """Installed versions (``not installed`` when absent), read without importing anything."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        import vl_convert

        out["vega"] = vl_convert.get_vega_version()
        out["vega-embed"] = vl_convert.get_vega_embed_version()
    except ImportError:
        pass
    return out


def current_command() -> str:
    """The command line of this process, shell-quoted (``robustness report --out ...``)."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("robustness", "__main__.py", "cli.py")):
        argv[0] = "robustness"
    return shlex.join(argv)


def weights_tag(model: str, source: str | None) -> str:
    """The weights tag of a model name: timm's ``arch.tag`` -> ``tag``, torchvision's
    ``tv:arch.WEIGHTS`` -> ``WEIGHTS``; otherwise the model source (``local-dir``, ...)."""
    name = model.split(":", 1)[-1]
    if "." in name and source not in ("local-dir",):
        return name.split(".", 1)[1]
    return source or ""


def clopper_pearson_percent(k: float, n: float) -> tuple[float, float]:
    """95% Clopper-Pearson interval of k/n in percent; NaNs when k or n is unknown."""
    if not (np.isfinite(k) and np.isfinite(n)) or n <= 0:
        return (np.nan, np.nan)
    ci = clopper_pearson(int(round(k)), int(n))
    return 100.0 * float(ci.low), 100.0 * float(ci.high)


@dataclass(frozen=True)
class Cell:
    """One leaderboard number: ``value`` (percent or points; NaN when absent) with its
    optional 95% interval and the provenance shown on hover."""

    value: float
    low: float = np.nan
    high: float = np.nan
    provenance: str = ""
    signed: bool = False  # a difference (gap, ER): print the sign and colour it

    def text(self) -> str:
        if not np.isfinite(self.value):
            return ""
        fmt = "{:+.1f}" if self.signed else "{:.1f}"
        out = html.escape(fmt.format(self.value))
        if np.isfinite(self.low) and np.isfinite(self.high):
            out += f' <span class="ci">[{self.low:.1f}, {self.high:.1f}]</span>'
        return out


@dataclass(frozen=True)
class Column:
    """A leaderboard column: its header, the set it belongs to, what it holds."""

    key: str
    title: str
    test_set: str | None = None
    numeric: bool = True


@dataclass
class Leaderboard:
    """One row per model: metadata (text) and cells (numbers), in ``columns`` order."""

    columns: list[Column]
    rows: list[dict[str, object]]


def leaderboard_sets(acc: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(baselines, shifts) shown as leaderboard columns: every set but single members of a
    set group (their group mean stands for them), baselines first (``imagenet`` first)."""
    acc_c, _ = with_group_means(acc)
    sets = [s for s in acc_c["test_set"].unique() if group_member(s) is None]
    bases = set(acc_c["baseline"].dropna())
    baselines = sorted((s for s in sets if s in bases or not isinstance(
        acc_c.loc[acc_c["test_set"] == s, "baseline"].iloc[0], str)),
        key=lambda s: (s != "imagenet", s))
    shifts = sorted(s for s in sets if s not in baselines)
    return baselines, shifts


#: accuracy-frame columns that are not extra metrics
_STANDARD = {"model", "test_set", "baseline", "top1", "n", "k1", "family", "kind"}


def extra_metrics(acc: pd.DataFrame) -> list[str]:
    """Numeric per-(model, set) columns of the accuracy frame beyond top-1 (calibration and
    other "beyond accuracy" metrics, where a table provides them)."""
    return [c for c in acc.columns if c not in _STANDARD
            and pd.api.types.is_numeric_dtype(acc[c]) and acc[c].notna().any()]


def build_leaderboard(acc: pd.DataFrame, result: Analysis, options: AnalysisOptions,
                      models: pd.DataFrame, provenance: Provenance) -> Leaderboard:
    """The leaderboard's columns and rows from the accuracy frame and the analysis tables.

    ``models`` has one row per model (``model`` and, where known, ``family``, ``kind``,
    ``source``, ``param_count``, ``img_size``, ``weights``, ``weights_sha256``).
    """
    acc_c, _ = with_group_means(acc)
    baselines, shifts = leaderboard_sets(acc)
    metrics = extra_metrics(acc)
    kinds = model_kinds(acc, result)
    er = result.effective_robustness
    er = er[er["scale"] == options.plot_scale] if not er.empty else er
    gaps = result.gaps
    columns = [Column("model", "model", numeric=False), Column("family", "family", numeric=False),
               Column("kind", "kind", numeric=False), Column("training", "training", numeric=False),
               Column("params", "params (M)"),
               Column("img_size", "input (px)"), Column("weights", "weights", numeric=False)]
    for s in baselines + shifts:
        columns.append(Column(f"{s}:top1", f"{s} top-1 (%)", s))
        if s in shifts:
            columns.append(Column(f"{s}:gap", f"{s} gap (points)", s))
            columns.append(Column(f"{s}:er", f"{s} ER ({options.plot_scale}, points)", s))
        columns += [Column(f"{s}:{m}", f"{s} {m}", s) for m in metrics]
    has_mce = not result.corruptions.empty and result.corruptions["mce"].notna().any()
    if has_mce:
        columns.append(Column("mce", "ImageNet-C mCE"))
    meta = models.drop_duplicates("model").set_index("model") if not models.empty else None
    rows = []
    for model in sorted(acc_c["model"].unique()):
        info = meta.loc[model] if meta is not None and model in meta.index else pd.Series(dtype=object)
        mine = acc_c[acc_c["model"] == model].set_index("test_set")
        row: dict[str, object] = {
            "model": model,
            "family": str(info.get("family") or "other"),
            "kind": str(info.get("kind") or "unknown"),
            "training": kinds.get(model) or str(info.get("training") or "imagenet-trained"),
            "params": Cell(float(info.get("param_count", np.nan))),
            "img_size": Cell(float(info.get("img_size", np.nan))),
            "weights": weights_tag(model, info.get("source")),
            "weights_title": f"{info.get('weights', '')} sha256 {info.get('weights_sha256', '')}",
        }
        for s in baselines + shifts:
            if s not in mine.index:
                continue
            r = mine.loc[s]
            low, high = clopper_pearson_percent(r.get("k1", np.nan), r.get("n", np.nan))
            row[f"{s}:top1"] = Cell(float(r["top1"]), low, high, provenance.describe(model, s))
            for m in metrics:
                row[f"{s}:{m}"] = Cell(float(r[m]), provenance=provenance.describe(model, s))
            if s not in shifts:
                continue
            g = gaps[(gaps["model"] == model) & (gaps["shift"] == s)] if not gaps.empty else gaps
            base = str(r["baseline"])
            if len(g):
                g = g.iloc[0]
                row[f"{s}:gap"] = Cell(float(g["gap"]), float(g["gap_low"]), float(g["gap_high"]),
                                       f"gaps.csv ({g['method']}); "
                                       + provenance.describe(model, base, s), signed=True)
            e = er[(er["model"] == model) & (er["shift"] == s)] if not er.empty else er
            if len(e):
                e = e.iloc[0]
                row[f"{s}:er"] = Cell(float(e["er"]), provenance=(
                    f"effective_robustness.csv: {options.plot_scale} line fitted on "
                    f"{e['baseline_fit_set']}; " + provenance.describe(model, base, s)),
                    signed=True)
        if has_mce:
            c = result.corruptions[result.corruptions["model"] == model]
            if len(c) and np.isfinite(c["mce"].iloc[0]):
                row["mce"] = Cell(float(c["mce"].iloc[0]), provenance=(
                    "corruptions.csv: AlexNet-normalised mean CE over the 15 x 5 "
                    f"{IMAGENET_C.title} sets of {model} (units under units/{model}/)"))
        rows.append(row)
    filled = [c for c in columns if not c.numeric or c.key in ("params", "img_size") or any(
        isinstance(r.get(c.key), Cell) and np.isfinite(r[c.key].value) for r in rows)]
    return Leaderboard(filled, rows)


# ---------------------------------------------------------------- charts (Vega-Lite)


def _label_expr(scale: str) -> str:
    """Vega expression printing an axis value on ``scale`` as the accuracy in percent."""
    inverse = {"probit": "cumulativeNormal(datum.value)",
               "logit": "1 / (1 + exp(-datum.value))",
               "linear": "datum.value"}[scale]
    return f"format(100 * {inverse}, '.0f') + '%'"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def line_chart_data(view: LineView, provenance: Provenance) -> pd.DataFrame:
    """One row per model of an accuracy-on-the-line chart: transformed coordinates and
    interval ends (for the axes) and the hover texts (percent, points)."""
    x_ci = clopper_pearson(np.round(view.acc_orig * view.n_orig), view.n_orig)
    y_ci = clopper_pearson(np.round(view.acc_new * view.n_new), view.n_new)
    t = lambda a: transform(np.asarray(a, dtype=float), view.scale)  # noqa: E731
    return pd.DataFrame({
        "model": list(view.models),
        "x": t(view.acc_orig), "y": t(view.acc_new),
        "x_low": t(x_ci.low), "x_high": t(x_ci.high),
        "y_low": t(y_ci.low), "y_high": t(y_ci.high),
        "fit": ["in the fit" if f else "left out of the fit" for f in view.in_fit],
        "kind": list(view.kinds) if view.kinds else ["all"] * len(view.models),
        "baseline_text": [f"{_pct(a)} [{_pct(lo)}, {_pct(hi)}]" for a, lo, hi
                          in zip(view.acc_orig, x_ci.low, x_ci.high, strict=True)],
        "shift_text": [f"{_pct(a)} [{_pct(lo)}, {_pct(hi)}]" for a, lo, hi
                       in zip(view.acc_new, y_ci.low, y_ci.high, strict=True)],
        "er_text": [f"{e:+.1f} points" if np.isfinite(e) else "" for e in view.er],
        "units": [provenance.describe(m, view.baseline, view.shift) for m in view.models],
    })


def line_chart_spec(view: LineView, provenance: Provenance) -> dict:
    """Accuracy on the line, interactive: points with both Clopper-Pearson intervals (hover:
    model, both accuracies with intervals, effective robustness, units), the fitted line,
    its bootstrap band where defined (:func:`plots.line_band`) and y = x; axes in percent."""
    import altair as alt

    points = line_chart_data(view, provenance)
    acc = np.concatenate([view.acc_orig, view.acc_new])
    lo, hi = max(acc.min() - 0.05, 0.005), min(acc.max() + 0.03, 0.995)
    grid = np.linspace(lo, hi, 120)
    t = lambda a: transform(np.asarray(a, dtype=float), view.scale)  # noqa: E731
    lines = pd.DataFrame({"x": t(grid), "diagonal": t(grid), "fit": t(view.fit.predict(grid))})
    domain = [float(t(lo)), float(t(hi))]
    ticks = [float(v) for v in t([p for p in PERCENT_TICKS if lo <= p <= hi])]
    x_axis = alt.Axis(values=ticks, labelExpr=_label_expr(view.scale), grid=True,
                      title=f"{view.baseline} top-1 ({view.scale} scale)")
    y_axis = alt.Axis(values=ticks, labelExpr=_label_expr(view.scale), grid=True,
                      title=f"{view.shift} top-1 ({view.scale} scale)")
    x_scale = alt.Scale(domain=domain, nice=False, zero=False)
    y_scale = alt.Scale(domain=domain, nice=False, zero=False)
    x = alt.X("x:Q", scale=x_scale, axis=x_axis)
    y = alt.Y("y:Q", scale=y_scale, axis=y_axis)
    base_lines = alt.Chart(lines)
    layers = [
        base_lines.mark_line(color="grey", strokeDash=[4, 3], strokeWidth=1, clip=True).encode(
            x=x, y=alt.Y("diagonal:Q", scale=y_scale, axis=y_axis)),
        base_lines.mark_line(color="#d62728", clip=True).encode(
            x=x, y=alt.Y("fit:Q", scale=y_scale, axis=y_axis)),
    ]
    if view.fit.bootstrap_slopes is not None:
        band_low, band_high, defined = line_band(view.fit, view.acc_orig, view.acc_new,
                                                 view.in_fit, grid)
        if defined.any():
            band = pd.DataFrame({"x": t(grid[defined]), "low": t(band_low[defined]),
                                 "high": t(band_high[defined])})
            layers.insert(0, alt.Chart(band).mark_area(color="#d62728", opacity=0.18,
                                                       clip=True).encode(
                x=x, y=alt.Y("low:Q", scale=y_scale, axis=y_axis), y2="high:Q"))
    colour = alt.Color("fit:N", title="line", scale=alt.Scale(
        domain=["in the fit", "left out of the fit"], range=["#1f77b4", "#ff7f0e"]))
    marks = {"x": x, "y": y, "color": colour}
    if view.kinds:
        marks["shape"] = alt.Shape("kind:N", title="kind")
    tooltip = [alt.Tooltip("model:N", title="model"),
               alt.Tooltip("baseline_text:N", title=f"{view.baseline} top-1 [95% CI]"),
               alt.Tooltip("shift_text:N", title=f"{view.shift} top-1 [95% CI]"),
               alt.Tooltip("er_text:N", title="effective robustness"),
               alt.Tooltip("fit:N", title="line"), alt.Tooltip("kind:N", title="kind"),
               alt.Tooltip("units:N", title="provenance")]
    base_points = alt.Chart(points)
    layers += [
        base_points.mark_rule(strokeWidth=1, clip=True).encode(
            x=alt.X("x_low:Q", scale=x_scale, axis=x_axis), x2="x_high:Q", y=y, color=colour),
        base_points.mark_rule(strokeWidth=1, clip=True).encode(
            x=x, y=alt.Y("y_low:Q", scale=y_scale, axis=y_axis), y2="y_high:Q", color=colour),
        base_points.mark_point(size=70, filled=True, opacity=1, clip=True).encode(
            tooltip=tooltip, **marks),
    ]
    chart = alt.layer(*layers).properties(
        width=CHART_WIDTH, height=CHART_HEIGHT,
        title=f"{view.shift} against {view.baseline}: slope {view.fit.slope:.2f}, "
              f"R² {view.fit.r_squared:.3f}, fitted on {int(view.in_fit.sum())} model(s)")
    return chart.to_dict()


def heatmap_spec(table: pd.DataFrame, title: str) -> dict:
    """Corruption x severity heatmap of top-1 error (percent), with the number of models per
    cell on hover. ``table`` has ``model, corruption, severity, error`` (corruptions.csv rows)."""
    import altair as alt

    cells = (table.groupby(["corruption", "severity"], as_index=False)
             .agg(error=("error", "mean"), models=("model", "nunique")))
    cells["error_text"] = [f"{e:.1f}%" for e in cells["error"]]
    base = alt.Chart(cells).encode(
        x=alt.X("severity:O", title="severity"),
        y=alt.Y("corruption:N", title=None))
    rect = base.mark_rect().encode(
        color=alt.Color("error:Q", title="top-1 error (%)",
                        scale=alt.Scale(scheme="viridis", domain=[0, 100])),
        tooltip=[alt.Tooltip("corruption:N"), alt.Tooltip("severity:O"),
                 alt.Tooltip("error_text:N", title="mean top-1 error"),
                 alt.Tooltip("models:Q", title="models")])
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("error:Q", format=".0f"),
        color=alt.condition("datum.error < 60", alt.value("white"), alt.value("black")))
    return (rect + text).properties(width=260, height=max(120, 18 * cells["corruption"].nunique()),
                                    title=title).to_dict()


def gap_bars_spec(gaps: pd.DataFrame, title: str) -> dict:
    """One model's gaps (points) per shift with their 95% intervals. ``gaps``: gaps.csv rows."""
    import altair as alt

    data = gaps[["shift", "baseline", "gap", "gap_low", "gap_high", "method"]].copy()
    data["text"] = [f"{g:+.1f} [{lo:+.1f}, {hi:+.1f}] points" for g, lo, hi
                    in zip(data["gap"], data["gap_low"], data["gap_high"], strict=True)]
    base = alt.Chart(data).encode(y=alt.Y("shift:N", title=None, sort=None))
    bars = base.mark_bar(color="#1f77b4", opacity=0.8).encode(
        x=alt.X("gap:Q", title="gap: shift top-1 minus baseline top-1 (points)"),
        tooltip=[alt.Tooltip("shift:N"), alt.Tooltip("baseline:N"),
                 alt.Tooltip("text:N", title="gap [95% CI]"), alt.Tooltip("method:N")])
    whiskers = base.mark_rule(color="black").encode(x="gap_low:Q", x2="gap_high:Q")
    return (bars + whiskers).properties(width=420, height=max(80, 22 * len(data)),
                                        title=title).to_dict()


def severity_curves_spec(table: pd.DataFrame, title: str) -> dict:
    """One model's top-1 error (percent) against severity, one line per corruption, and its
    clean error as a dashed rule. ``table``: that model's corruptions.csv rows."""
    import altair as alt

    data = table[["corruption", "severity", "error"]].copy()
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("severity:O", title="severity"),
        y=alt.Y("error:Q", title="top-1 error (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("corruption:N", legend=alt.Legend(columns=2, symbolLimit=0)),
        tooltip=[alt.Tooltip("corruption:N"), alt.Tooltip("severity:O"),
                 alt.Tooltip("error:Q", title="top-1 error (%)", format=".1f")])
    layers = [lines]
    clean = table["clean_error"].dropna() if "clean_error" in table.columns else pd.Series()
    if len(clean):
        layers.append(alt.Chart(pd.DataFrame({"clean": [float(clean.iloc[0])]}))
                      .mark_rule(strokeDash=[4, 3], color="grey")
                      .encode(y="clean:Q", tooltip=[alt.Tooltip("clean:Q", format=".1f",
                                                                title="clean error (%)")]))
    return alt.layer(*layers).properties(width=420, height=300, title=title).to_dict()


# ---------------------------------------------------------------- pages


HOWTO = {
    "leaderboard": (
        "One row per model. Top-1 is percent with its 95% Clopper-Pearson interval; a gap is "
        "the shifted set's top-1 minus its baseline's, in points (negative: accuracy fell) with "
        "its 95% interval (paired bootstrap on shared images, Newcombe otherwise); ER is the "
        "effective robustness, the distance above the line fitted across models (points; "
        "positive: more robust than its baseline accuracy predicts); mCE is ImageNet-C's "
        "AlexNet-normalised corruption error (lower is better; ResNet-50: 76.7). Click a column "
        "to sort; untick a family or training kind to hide its rows; hover a number for where it comes "
        "from (the store unit keys)."),
    "line": (
        "Each point is a model: its top-1 on the baseline (x) and on the shifted set (y), on "
        "{scale} axes labelled in percent, with 95% Clopper-Pearson bars. The red line is fitted "
        "on the filled blue points; orange points were left out of the fit (--fit-models) and "
        "are shown against it. The shaded band is the 95% bootstrap band over models, drawn "
        "only over the fitted models' range and from resamples of at least 3 distinct models "
        "(elsewhere it is undefined). Points below the line lose more than their accuracy "
        "predicts; the dashed y = x is no loss at all. Hover a point for its numbers."),
    "heatmap": (
        "Top-1 error (percent) per corruption and severity, the mean over the models shown. "
        "Rows that darken to yellow quickly are corruptions the models handle badly; hover a "
        "cell for its value and how many models it averages."),
    "gaps": (
        "The model's gap on each shifted set (points; negative: accuracy fell) with its 95% "
        "interval. An interval that excludes 0 is a fall the test-set size can resolve."),
    "severity": (
        "The model's top-1 error (percent) on each corruption as the severity grows (1 to 5); "
        "the dashed line is its clean error. Steep curves are the corruptions it is least "
        "robust to."),
}


def _howto(key: str, **values: str) -> str:
    return (f'<details class="howto"><summary>How to read this</summary>'
            f"<p>{html.escape(HOWTO[key].format(**values))}</p></details>")


def model_page_name(model: str) -> str:
    """File name of a model's page under ``models/`` (safe characters only)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", model).strip("_") + ".html"


def _json_script(data: dict) -> str:
    text = json.dumps(data, allow_nan=False, default=_json_default).replace("</", "<\\/")
    return f'<script id="report-data" type="application/json">{text}</script>'


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _page(title: str, body: str, data: dict, root: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        f'<link rel="stylesheet" href="{root}assets/report.css">'
        f'<script src="{root}assets/{VEGA_ASSET}"></script>'
        f'<script src="{root}assets/report.js"></script>'
        f"</head><body>\n{body}\n{_json_script(data)}\n</body></html>\n")


def _cell_html(value: object, column: Column, row: dict) -> str:
    if column.key == "model":
        name = str(value)
        return (f'<td class="text" data-value="{html.escape(name)}"><a href="models/'
                f'{html.escape(model_page_name(name))}">{html.escape(name)}</a></td>')
    if column.key == "weights":
        return (f'<td class="text" data-value="{html.escape(str(value))}" '
                f'title="{html.escape(str(row.get("weights_title", "")))}">'
                f"{html.escape(str(value))}</td>")
    if not column.numeric:
        return f'<td class="text" data-value="{html.escape(str(value))}">{html.escape(str(value))}</td>'
    if not isinstance(value, Cell) or not np.isfinite(value.value):
        return '<td data-value=""></td>'
    cls = ""
    if value.signed:
        cls = ' class="neg"' if value.value < 0 else ' class="pos"'
    text = value.text() if column.key not in ("img_size",) else f"{value.value:.0f}"
    if column.key == "params":
        text = f"{value.value:.2f}"
    return (f'<td{cls} data-value="{value.value:.6g}" title="{html.escape(value.provenance)}">'
            f"{text}</td>")


def leaderboard_html(board: Leaderboard) -> str:
    """The leaderboard table with its family and training filters."""
    filters = []
    for what in ("family", "training"):
        values = sorted({str(r[what]) for r in board.rows})
        boxes = "".join(
            f'<label><input type="checkbox" checked data-filter="{what}" '
            f'value="{html.escape(v)}"> {html.escape(v)}</label>' for v in values)
        filters.append(f"<fieldset><legend>{what}</legend>{boxes}</fieldset>")
    head = "".join(
        f'<th class="{"text" if not c.numeric else "num"}" data-column="{html.escape(c.key)}" '
        f'scope="col">{html.escape(c.title)}</th>' for c in board.columns)
    body = []
    for row in board.rows:
        cells = "".join(_cell_html(row.get(c.key), c, row) for c in board.columns)
        body.append(f'<tr data-model="{html.escape(str(row["model"]))}" '
                    f'data-family="{html.escape(str(row["family"]))}" '
                    f'data-training="{html.escape(str(row["training"]))}">{cells}</tr>')
    return (f'<div class="filters">{"".join(filters)}</div><div class="table-wrap">'
            f'<table id="leaderboard" class="leaderboard"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def provenance_html(provenance: Provenance, notes: Sequence[str]) -> str:
    """The command, the package versions, the notes and the store's units."""
    versions = ", ".join(f"{html.escape(k)} {html.escape(v)}"
                         for k, v in provenance.versions.items())
    parts = [f"<p>Command: <code>{html.escape(provenance.command)}</code></p>",
             f"<p>Versions: {versions}</p>"]
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f"<details><summary>Notes ({len(notes)}): what was skipped and why"
                     f"</summary><ul>{items}</ul></details>")
    if not provenance.units.empty:
        cols = [c for c in ("model", "test_set", "key", "weights_sha256", "finished_at")
                if c in provenance.units.columns]
        rows = "".join("<tr>" + "".join(f"<td class=\"text\">{html.escape(str(v))}</td>"
                                        for v in r) + "</tr>"
                       for r in provenance.units[cols].itertuples(index=False))
        head = "".join(f"<th class=\"text\">{c}</th>" for c in cols)
        parts.append(f"<details><summary>Store units ({len(provenance.units)}): every number "
                     "above is computed from these per-image records (units/&lt;model&gt;/"
                     "&lt;set&gt;/&lt;key&gt;)</summary><div class=\"table-wrap\"><table "
                     f"class=\"leaderboard\"><thead><tr>{head}</tr></thead><tbody>{rows}"
                     "</tbody></table></div></details>")
    return '<section class="provenance"><h2>Provenance</h2>' + "".join(parts) + "</section>"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


def index_page(board: Leaderboard, views: Sequence[LineView], result: Analysis,
               provenance: Provenance) -> str:
    """``index.html``: leaderboard, one accuracy-on-the-line chart per shift, the heatmap."""
    charts: dict[str, dict] = {}
    sections = ["<h1>Robustness report</h1>",
                "<nav><a href=\"#leaderboard-section\">leaderboard</a>"
                "<a href=\"#lines\">accuracy on the line</a>"
                + ("<a href=\"#corruptions\">corruptions</a>" if not result.corruptions.empty
                   else "") + "<a href=\"#provenance\">provenance</a></nav>",
                '<h2 id="leaderboard-section">Leaderboard</h2>', _howto("leaderboard"),
                leaderboard_html(board)]
    if views:
        sections.append('<h2 id="lines">Accuracy on the line</h2>')
    for view in views:
        chart_id = f"line-{_slug(view.shift)}"
        charts[chart_id] = line_chart_spec(view, provenance)
        sections.append(f'<h3>{html.escape(view.shift)} against {html.escape(view.baseline)}'
                        f'</h3>{_howto("line", scale=view.scale)}'
                        f'<div class="chart" id="{chart_id}" data-chart="{chart_id}"></div>')
    if not result.corruptions.empty:
        charts["heatmap"] = heatmap_spec(
            result.corruptions, f"{IMAGENET_C.title}: mean of "
                                f"{result.corruptions['model'].nunique()} model(s)")
        sections += ['<h2 id="corruptions">Corruptions</h2>', _howto("heatmap"),
                     '<div class="chart" id="heatmap" data-chart="heatmap"></div>']
    sections.append(f'<div id="provenance">{provenance_html(provenance, result.notes)}</div>')
    return _page("Robustness report", "\n".join(sections), {"charts": charts}, "")


def model_page(model: str, row: dict, result: Analysis, provenance: Provenance) -> str:
    """``models/<model>.html``: metadata, gap bars and per-severity error curves."""
    charts: dict[str, dict] = {}
    params = row.get("params")
    facts = [f"family {html.escape(str(row['family']))}", f"kind {html.escape(str(row['kind']))}",
             f"weights {html.escape(str(row['weights']))}"]
    if isinstance(params, Cell) and np.isfinite(params.value):
        facts.append(f"{params.value:.2f} M parameters")
    size = row.get("img_size")
    if isinstance(size, Cell) and np.isfinite(size.value):
        facts.append(f"input {size.value:.0f} px")
    sections = ['<p><a href="../index.html">&larr; report</a></p>',
                f"<h1>{html.escape(model)}</h1>", f"<p>{'; '.join(facts)}</p>",
                f"<p class=\"provenance\">{html.escape(str(row.get('weights_title', '')))}</p>"]
    gaps = result.gaps[result.gaps["model"] == model] if not result.gaps.empty else result.gaps
    gaps = gaps[[group_member(s) is None for s in gaps["shift"]]] if len(gaps) else gaps
    if len(gaps):
        charts["gaps"] = gap_bars_spec(gaps, f"{model}: accuracy gaps")
        sections += ["<h2>Gaps</h2>", _howto("gaps"),
                     '<div class="chart" id="gaps" data-chart="gaps"></div>']
    tables = [("corruptions", result.corruptions, IMAGENET_C.title)]
    tables += [(f"corruptions-{_slug(n)}", t, n) for n, t in result.group_corruptions.items()]
    for chart_id, table, title in tables:
        mine = table[table["model"] == model] if not table.empty else table
        if mine.empty:
            continue
        charts[chart_id] = severity_curves_spec(mine, f"{model}: {title} error by severity")
        sections += [f"<h2>{html.escape(title)}</h2>", _howto("severity"),
                     f'<div class="chart" id="{chart_id}" data-chart="{chart_id}"></div>']
    units = provenance.units
    mine = units[units["model"] == model] if not units.empty else units
    sections.append(provenance_html(Provenance(provenance.command, provenance.versions, mine),
                                    []))
    return _page(f"{model}: robustness report", "\n".join(sections), {"charts": charts}, "../")


def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one classic script defining ``window.vegaEmbed``
    (vl-convert's bundle, matched to altair's Vega-Lite version)."""
    import altair as alt
    import vl_convert

    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    known = vl_convert.get_vegalite_versions()
    return vl_convert.javascript_bundle(vl_version=version if version in known else None)


def write_html_report(out: str | Path, acc: pd.DataFrame, result: Analysis,
                      options: AnalysisOptions | None = None,
                      models: pd.DataFrame | None = None,
                      provenance: Provenance | None = None) -> list[Path]:
    """Write the HTML report folder ``out`` (``index.html``, ``models/``, ``assets/``).

    ``models``: one row per model with its metadata (``tables.models_table``); ``provenance``:
    the command, versions and store units (default: this process's command line, the
    installed versions, no units). Returns the paths written.
    """
    opts = options or AnalysisOptions()
    out = Path(out)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    (out / "models").mkdir(exist_ok=True)
    provenance = provenance or Provenance(current_command(), package_versions())
    models = models if models is not None else pd.DataFrame(columns=["model"])
    views, _ = line_views(acc, result, opts)
    board = build_leaderboard(acc, result, opts, models, provenance)
    written = []
    assets = files("robustness.report") / "html_assets"
    for name in ASSETS:
        path = out / "assets" / name
        path.write_text(assets.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8")
        written.append(path)
    bundle = out / "assets" / VEGA_ASSET
    bundle.write_text(vega_bundle(), encoding="utf-8")
    written.append(bundle)
    index = out / "index.html"
    index.write_text(index_page(board, views, result, provenance), encoding="utf-8")
    written.append(index)
    for row in board.rows:
        page = out / "models" / model_page_name(str(row["model"]))
        page.write_text(model_page(str(row["model"]), row, result, provenance), encoding="utf-8")
        written.append(page)
    return written


def write_html_from_store(store: Store, out: str | Path, acc: pd.DataFrame, result: Analysis,
                          options: AnalysisOptions | None = None) -> list[Path]:
    """:func:`write_html_report` for a report from ``store``: model metadata from
    ``models.csv``'s table and every unit's key as provenance."""
    units = units_frame(store)
    columns = [c for c in ("model", "test_set", "key", "weights_sha256", "finished_at")
               if c in units.columns]
    command = (options.command if options is not None else None) or current_command()
    provenance = Provenance(command, package_versions(), units[columns])
    return write_html_report(out, acc, result, options, models_table(units), provenance)


__all__ = ["Provenance", "build_leaderboard", "write_html_from_store", "write_html_report"]
