"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven through selenium. Skipped with the reason where they are missing,
failed instead under ``CI``.

Expected numbers come from the store's counts and scipy's beta quantiles, and from the CSV-bound
analysis tables, never from the page itself.

``ROBUSTNESS_SCREENSHOT=docs/img/html-report.png`` (with ``ROBUSTNESS_SCREENSHOT_PAGE`` naming
an ``index.html``, e.g. ``results/demo/html/index.html``) makes
:func:`test_screenshot_for_the_readme` write the README's screenshot.
"""

from __future__ import annotations

import os
import shutil
import struct
import time

import browser_support
import numpy as np
import pytest
from browser_support import require_chromium
from scipy import stats

pytestmark = pytest.mark.browser
MF = "imagenetv2-matched-frequency"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _open(browser, path, timeout=20.0):
    """Load a page from disk and wait until report.js says every chart is drawn."""
    browser.get_log("browser")  # drop messages of earlier pages
    browser.get(path.resolve().as_uri())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if browser.execute_script("return document.body.getAttribute('data-charts-ready')"):
            return
        time.sleep(0.05)
    raise AssertionError(f"charts not drawn within {timeout} s: {browser.get_log('browser')}")


def _severe(browser):
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _row_models(browser, visible_only=False):
    rows = browser.find_elements("css selector", "#leaderboard tbody tr")
    return [r.get_attribute("data-model") for r in rows if not visible_only or r.is_displayed()]


def test_missing_browser_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setattr(browser_support, "chromium_unavailable_reason", lambda: "no chromium on PATH")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set.*no chromium"):
        require_chromium()
    monkeypatch.setattr(browser_support, "chromium_unavailable_reason", lambda: None)
    require_chromium()  # available: neither skips nor fails


def test_pages_load_offline_without_console_errors(browser, demo_kind_html, demo_kind_report):
    _open(browser, demo_kind_html / "index.html")
    assert _severe(browser) == []
    charts = browser.find_elements("css selector", "[data-chart]")
    assert charts and all(c.get_attribute("data-rendered") == "true" for c in charts)
    assert browser.find_elements("css selector", "[data-chart] svg")
    scripts = [s.get_attribute("src") for s in browser.find_elements("css selector", "script[src]")]
    assert scripts and all(s.startswith("file://") for s in scripts)  # nothing from a network
    links = {a.text: a.get_attribute("href")
             for a in browser.find_elements("css selector", "#leaderboard tbody a")}
    assert sorted(links) == sorted(demo_kind_report.acc["model"].unique())
    for model in sorted(links)[:2]:
        _open(browser, demo_kind_html / "models" / links[model].rsplit("/", 1)[1])
        assert _severe(browser) == []
        assert browser.find_element("tag name", "h1").text == model


def test_leaderboard_sorts_by_a_clicked_column(browser, demo_kind_html, demo_kind_report):
    _open(browser, demo_kind_html / "index.html")
    gaps = demo_kind_report.result.gaps
    gaps = gaps[gaps["shift"] == MF].set_index("model")["gap"]
    header = browser.find_element("css selector", f'th[data-column="{MF}:gap"]')
    header.click()  # first click: largest first
    assert _row_models(browser) == list(gaps.sort_values(ascending=False).index)
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert _row_models(browser) == list(gaps.sort_values(ascending=True).index)
    browser.find_element("css selector", 'th[data-column="model"]').click()
    assert _row_models(browser) == sorted(gaps.index, reverse=True)


def test_filter_hides_a_family_and_a_training_kind(browser, demo_kind_html, demo_kind_report):
    _open(browser, demo_kind_html / "index.html")
    all_models = sorted(demo_kind_report.acc["model"].unique())
    convnexts = {m for m in all_models if m.startswith("demo-convnext")}
    box = browser.find_element("css selector", 'input[data-filter="family"][value="convnext"]')
    box.click()
    assert sorted(_row_models(browser, visible_only=True)) == sorted(set(all_models) - convnexts)
    box.click()
    assert sorted(_row_models(browser, visible_only=True)) == all_models
    kind = browser.find_element("css selector", 'input[data-filter="training"]')
    kind.click()  # the only training kind of the fixture: every row goes
    assert _row_models(browser, visible_only=True) == []
    kind.click()
    assert sorted(_row_models(browser, visible_only=True)) == all_models


def _cp_text(k: int, n: int) -> str:
    """'x.x% [lo%, hi%]' from scipy's beta quantiles (the Clopper-Pearson definition)."""
    low = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return f"{100 * k / n:.1f}% [{100 * low:.1f}%, {100 * high:.1f}%]"


def test_hovering_a_point_shows_its_model_and_numbers(browser, demo_kind_html, demo_kind_report):
    from selenium.webdriver.common.action_chains import ActionChains

    _open(browser, demo_kind_html / "index.html")
    r = demo_kind_report
    model = "demo-resnet"
    chart = browser.find_element("css selector", f'#line-{MF.replace(".", "-")}')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", chart)
    points = [p for p in chart.find_elements("css selector", "g.mark-symbol path")
              if f"model: {model}" in (p.get_attribute("aria-label") or "")]
    assert len(points) == 1, "one point per model, labelled with its model"
    ActionChains(browser).move_to_element(points[0]).perform()
    tooltip = browser.find_element("id", "vg-tooltip-element")
    deadline = time.monotonic() + 5
    while "visible" not in (tooltip.get_attribute("class") or "") and time.monotonic() < deadline:
        time.sleep(0.05)
    text = tooltip.text
    acc = r.acc.set_index(["model", "test_set"])
    base, shift = acc.loc[(model, "imagenet")], acc.loc[(model, MF)]
    er = r.result.effective_robustness
    er = er[(er["model"] == model) & (er["shift"] == MF) & (er["scale"] == "probit")]["er"]
    assert model in text
    assert _cp_text(int(base["k1"]), int(base["n"])) in text
    assert _cp_text(int(shift["k1"]), int(shift["n"])) in text
    assert f"{float(er.iloc[0]):+.1f} points" in text
    for other in sorted(set(r.acc["model"]) - {model}):
        assert other not in text


def test_screenshot_for_the_readme(browser, demo_kind_html, tmp_path):
    """A screenshot of the report's first screen (the demo's with ROBUSTNESS_SCREENSHOT_PAGE):
    a PNG of the window's size, not blank, taken after the charts are drawn."""
    from pathlib import Path

    page = Path(os.environ.get("ROBUSTNESS_SCREENSHOT_PAGE") or demo_kind_html / "index.html")
    _open(browser, page)
    assert _severe(browser) == []
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])
    viewport = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    assert [width, height] == viewport
    from PIL import Image

    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # text and charts, not an empty page
    target = os.environ.get("ROBUSTNESS_SCREENSHOT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
