"""Fixtures of the dashboard tests: a project with real recorded runs (``recorded``: the
pipelines of ``pipelines.py`` run for real, once per module), the dashboard app over it, a live
server (uvicorn on 127.0.0.1 in a thread), and headless Chromium (Debian's /usr/bin/chromium
driven by Playwright with ``executable_path``, never ``playwright install``; one browser per
module). In CI a missing Chromium fails the browser tests instead of skipping them."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bevel.server.config import ServerConfig

CHROMIUM = os.environ.get("BEVEL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]  # fmt: skip
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass
class Recorded:
    """A project folder with runs: ``good`` (completed), ``bad`` (its ``check`` step failed;
    ``seeds`` and ``train`` cached from ``good``)."""

    root: Path
    home: Path
    good: Any  # RunView
    bad: Any

    def config(self, **kw: Any) -> ServerConfig:
        from bevel.settings import load_settings

        settings = load_settings(create=False)
        return ServerConfig(db_url=settings.database_url, reap_every=0, access_log=False,
                            artifact_roots=(str(settings.artifacts_path),), **kw)  # fmt: skip


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    import pipelines

    from bevel.api import run_pipeline

    root = tmp_path_factory.mktemp("project")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BEVEL_HOME", str(root / ".bevel"))
        mp.delenv("BEVEL_STORE_URL", raising=False)
        mp.chdir(root)
        good = run_pipeline(pipelines.experiment, params={"n": 3})
        bad = run_pipeline(pipelines.experiment, params={"n": 3, "lr": 0.2, "limit": 0.1},
                           raise_on_failure=False)  # fmt: skip
        yield Recorded(root, root / ".bevel", good, bad)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The dashboard app served by uvicorn on 127.0.0.1 in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve(app: Any) -> Iterator[LiveServer]:
    server = LiveServer(app)
    try:
        yield server
    finally:
        server.stop()


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("BEVEL_SCREENSHOTS") or Path(tempfile.gettempdir(),
                                                              "bevel-screenshots"))  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    if not missing and not (Path(CHROMIUM).exists() or shutil.which("chromium")):
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


class Watched:
    """A page with its console errors and warnings, uncaught errors, failed requests and
    requests to other origins recorded (the tests assert there are none)."""

    def __init__(self, context: Any, origin: str) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)  # fmt: skip
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # (a poll cut short by leaving the page is ERR_ABORTED: not a problem)
        self.page.on("requestfailed", lambda r: self.problems.append(
            f"request failed: {r.url} {r.failure}") if "ERR_ABORTED" not in str(r.failure)
            else None)  # fmt: skip

        def only_here(route: Any) -> None:
            url = route.request.url
            if url.startswith((origin, "data:", "about:")):
                route.continue_()
            else:
                self.problems.append(f"request elsewhere: {url}")
                route.abort()

        self.page.route("**/*", only_here)

    def shot(self, name: str) -> Path:
        path = screenshot_dir() / f"dashboard-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
