"""Fixtures of the report tests: the analysis of a demo-kind store (``demo_kind_store``)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pandas as pd
import pytest
from browser_support import require_chromium
from demo_kind_store import DEMO_MODELS, build_demo_kind_store

from robustness.report.analysis import Analysis, AnalysisOptions, report_from_store
from robustness.store import Store


@dataclass
class DemoKindReport:
    store: Store
    acc: pd.DataFrame
    result: Analysis
    options: AnalysisOptions


@pytest.fixture(scope="session")
def demo_kind_report(tmp_path_factory) -> DemoKindReport:
    """The analysis of a demo-kind store (seed 0), fitted on the untuned models like the demo."""
    store = build_demo_kind_store(tmp_path_factory.mktemp("demo-kind"), seed=0)
    untuned = ",".join(m for m, (*_, tuned) in DEMO_MODELS.items() if not tuned)
    options = AnalysisOptions(fit_models=untuned, n_bootstrap=300, n_resamples=200)
    acc, result = report_from_store(store, options)
    return DemoKindReport(store, acc, result, options)


@pytest.fixture(scope="session")
def demo_kind_html(demo_kind_report, tmp_path_factory):
    """The HTML report of the demo-kind store: (folder, the report it was built from)."""
    from robustness.report.html import write_html_from_store

    out = tmp_path_factory.mktemp("demo-kind-html") / "html"
    r = demo_kind_report
    write_html_from_store(r.store, out, r.acc, r.result, r.options)
    return out


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by selenium, logging the pages' console messages."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1400", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()
