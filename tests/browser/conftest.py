"""Headless Chromium for the HTML reports: Debian's /usr/bin/chromium driven by Playwright (never
``playwright install``), one browser per test module
(module scope: Playwright's sync API allows one instance at a time, and other suites, e.g.
tests/server, start their own). Every page is opened from a file with the
network cut off (any request that is not ``file:`` or ``data:`` is recorded and aborted), and a
full-page screenshot is kept in ``$BEVEL_SCREENSHOTS`` (default: a folder in the temp dir).
In CI (``CI`` set) a missing Chromium or Playwright fails the tests instead of skipping them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_pages import Browser

from bevel.testing import browser as chromium_support


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_support.chromium() as launched:
        yield Browser(launched)
