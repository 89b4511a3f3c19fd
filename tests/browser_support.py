"""Whether the browser tests can run: selenium and Debian's headless Chromium (its own module,
not a conftest, so that tests can patch it by name)."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None: they need selenium (the dev extra) and
    Debian's ``chromium`` and ``chromium-driver`` (``make system-deps``)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for program, package in (("chromium", "chromium"), ("chromedriver", "chromium-driver")):
        if shutil.which(program) is None:
            return f"no {program} on PATH (make system-deps installs Debian's {package})"
    return None


def require_chromium() -> None:
    """Skip with the reason when the browser is missing; fail instead when ``CI`` is set."""
    reason = chromium_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and headless Chromium is required: {reason}")
    pytest.skip(reason)
