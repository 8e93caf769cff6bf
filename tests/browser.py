"""Debian's headless Chromium, driven with Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

#: Debian's chromium package puts its browser here (``.ci/run`` installs it as root).
CHROMIUM = os.environ.get("SSTRANSFER_CHROMIUM", "/usr/bin/chromium")
#: Headless and quiet: no sandbox (CI runs as root), no network of its own, no updates.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> str:
    """The Chromium executable; without one the test fails on CI (``$CI`` set), else skips."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path is None:
        message = f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextmanager
def browser_page(*, locale: str = "zh-CN", width: int = 1280, height: int = 900,
                 accept_downloads: bool = True, args: tuple[str, ...] = ()) -> Iterator[Any]:
    """A fresh page of a headless Chromium; closed (browser and all) when the block ends."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=[*ARGS, *args],
                                    headless=True)
        try:
            context = browser.new_context(locale=locale, accept_downloads=accept_downloads,
                                          viewport={"width": width, "height": height})
            yield context.new_page()
        finally:
            browser.close()
