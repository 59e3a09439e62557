"""What the dashboard tests share, imported by name (``from dashboard_helpers import ...``,
never ``from conftest import ...``: with another suite's conftest collected in the same run,
``conftest`` may be that one): the recorded project, a live server, a watched page, the CSP
check and a hostile report."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from bevel.server.config import ServerConfig
from bevel.testing.browser import screenshot_dir

HOSTILE = """<!doctype html><html><body><p>a hostile report</p><script>
const out = {origin: self.origin};
try { out.cookie = document.cookie; } catch (e) { out.cookie = "blocked: " + e.name; }
try { out.parent = window.parent.document.title; } catch (e) { out.parent = "blocked: " + e.name; }
try { localStorage.setItem("k", "v"); out.storage = "open"; } catch (e) { out.storage = "blocked: " + e.name; }
fetch("/api/v1/runs", {credentials: "include"})
  .then(r => r.text().then(t => { out.api = r.status + " " + t.slice(0, 80); }))
  .catch(e => { out.api = "blocked: " + e.name; })
  .finally(() => { document.title = JSON.stringify(out); });
</script></body></html>"""


@dataclass
class Recorded:
    """A project folder with runs: ``good`` (completed), ``bad`` (its ``check`` step failed;
    ``seeds`` and ``train`` cached from ``good``), the model ``churn`` with a version built by
    each (v1 in production), and ``hostile``: an artifact whose HTML visualization tries to
    read the cookie, the parent page and the API."""

    root: Path
    home: Path
    good: Any  # RunView
    bad: Any
    hostile: Any = None  # ArtifactRecord

    def config(self, **kw: Any) -> ServerConfig:
        from bevel.settings import load_settings

        settings = load_settings(create=False)
        return ServerConfig(db_url=settings.database_url, reap_every=0, access_log=False,
                            artifact_roots=(str(settings.artifacts_path),), **kw)  # fmt: skip


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


class Inline(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, style
    attributes and elements, event-handler attributes, javascript: links."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.in_script: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and not found.get("src") and found.get("type") != "application/json":
            self.blocked.append(f"inline <script> {found}")
        if tag == "style":
            self.blocked.append("<style> element")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=...>")
            if name in ("href", "src") and (value or "").strip().lower().startswith("javascript:"):
                self.blocked.append(f"<{tag} {name}=javascript:>")


def blocked_by_csp(body: str) -> list[str]:
    parser = Inline()
    parser.feed(body)
    return parser.blocked
