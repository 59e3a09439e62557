"""Headless Chromium for the HTML reports: Debian's /usr/bin/chromium driven by Playwright (never
``playwright install``), one browser per test module
(module scope: Playwright's sync API allows one instance at a time, and other suites, e.g.
tests/server, start their own). Every page is opened from a file with the
network cut off (any request that is not ``file:`` or ``data:`` is recorded and aborted), and a
full-page screenshot is kept in ``$BEVEL_SCREENSHOTS`` (default: a folder in the temp dir).
In CI (``CI`` set) a missing Chromium or Playwright fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("BEVEL_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def screenshot_dir() -> Path:
    folder = Path(
        os.environ.get("BEVEL_SCREENSHOTS") or Path(tempfile.gettempdir(), "bevel-screenshots")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class PageCheck:
    """What a page did in the browser."""

    console: list[str] = field(default_factory=list)  # console errors and warnings
    errors: list[str] = field(default_factory=list)  # uncaught page errors
    requests: list[str] = field(default_factory=list)  # network requests (all blocked)
    screenshot: Path | None = None
    text: str = ""
    images: int = 0  # <img> elements that decoded
    broken_images: int = 0
    svgs: int = 0


class Browser:
    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def check(self, html_file: Path, name: str, width: int = 1280) -> PageCheck:
        result = PageCheck()
        page = self.browser.new_page(viewport={"width": width, "height": 900})
        page.on(
            "console",
            lambda m: (
                result.console.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: result.errors.append(str(e)))

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(("file:", "data:")):
                r.continue_()
            else:
                result.requests.append(url)
                r.abort()

        page.route("**/*", route)
        try:
            page.goto(html_file.resolve().as_uri(), wait_until="load")
            result.text = page.inner_text("body")
            result.images = page.evaluate(
                "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length"
            )
            result.broken_images = page.evaluate(
                "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"
            )
            result.svgs = page.evaluate("document.querySelectorAll('svg').length")
            result.screenshot = screenshot_dir() / f"{name}.png"
            page.screenshot(path=str(result.screenshot), full_page=True)
        finally:
            page.close()
        return result


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    missing = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    if not missing and not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if missing:
        if IN_CI:
            pytest.fail(f"{missing} [CI is set: browser tests must run]", pytrace=False)
        pytest.skip(missing)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield Browser(browser)
        finally:
            browser.close()
