"""Headless Chromium for tests: Debian's ``/usr/bin/chromium`` (or ``$BEVEL_CHROMIUM``) driven
by Playwright with ``executable_path`` (never ``playwright install``), with every host but
127.0.0.1 unresolvable. Playwright's sync API allows one instance at a time, so callers hold one
per test module. In CI (``CI`` set) a missing Chromium or Playwright fails the tests instead of
skipping them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    """Where screenshots are kept: ``$BEVEL_SCREENSHOTS``, else a folder in the temp dir."""
    folder = Path(
        os.environ.get("BEVEL_SCREENSHOTS") or Path(tempfile.gettempdir(), "bevel-screenshots")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched Playwright ``Browser``; skips the test (fails it in CI) when Playwright or
    Chromium is missing."""
    import pytest

    missing = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    if not missing and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if missing:
        if IN_CI:
            pytest.fail(f"{missing} [CI is set: browser tests must run]", pytrace=False)
        pytest.skip(missing)
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()
