"""A page of an HTML report checked in headless Chromium (``PageCheck``, from
``Browser.check``), imported by name (``from browser_pages import ...``, never
``from conftest import ...``: with another suite's conftest collected in the same run,
``conftest`` may be that one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bevel.testing.browser import screenshot_dir


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
