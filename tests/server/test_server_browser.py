"""Hostile visualization HTML in a real Chromium: its scripts run, but in an opaque origin, so
they cannot read the user's cookie or storage, or call the API as the user."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from bevel.metadata.records import StepCompletion
from bevel.metadata.rest.store import RestMetadataStore
from bevel.server.auth.guard import COOKIE
from bevel.testing.browser import chromium
from bevel.testing.records import done, make_artifact, make_run, make_step
from bevel.testing.servers import BevelServer

HOSTILE = """<!doctype html><html><body><p>a report</p><script>
const out = {origin: self.origin};
try { out.cookie = document.cookie; } catch (e) { out.cookie = "blocked: " + e.name; }
try { localStorage.setItem("k", "v"); out.storage = "open"; }
catch (e) { out.storage = "blocked: " + e.name; }
fetch("/api/v1/runs", {credentials: "include"})
  .then(r => r.text().then(t => { out.api = r.status + " " + t.slice(0, 80); }))
  .catch(e => { out.api = "blocked: " + e.name; })
  .finally(() => { document.title = JSON.stringify(out); });
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_hostile_html_runs_in_an_opaque_origin(
    bevel_srv: BevelServer, bevel_home: Path, monkeypatch: pytest.MonkeyPatch,
    invoke: Callable[..., Result], tmp_path: Path, browser: Any,
) -> None:  # fmt: skip
    bevel_srv.reset()
    editor = bevel_srv.new_key("editor")
    monkeypatch.setenv("BEVEL_STORE_URL", bevel_srv.url)
    monkeypatch.setenv("BEVEL_API_KEY", editor)
    root = tmp_path / "files"
    (root / "viz" / "ab").mkdir(parents=True)
    (root / "viz" / "ab" / "page.html").write_text(HOSTILE)
    assert invoke("component", "register", "artifact_store", "files", "--flavor", "local",
                  "--path", str(root)).exit_code == 0  # fmt: skip
    store = RestMetadataStore(bevel_srv.url, api_key=editor)
    run = make_run()
    store.create_run(run)
    step_run = make_step(run, "s")
    store.start_step_run(step_run)
    art = make_artifact(f"{run.pipeline}.s.output", producer_step_run_id=step_run.id,
                        run_id=run.id, visualizations={"page": f"{root}/viz/ab/page.html"})  # fmt: skip
    (recorded,) = store.finish_step_run(StepCompletion(step_run=done(step_run), outputs=(art,)))

    context = browser.new_context()
    context.add_cookies([{"name": COOKIE, "value": bevel_srv.new_key("viewer"),
                          "url": bevel_srv.url, "httpOnly": True, "sameSite": "Strict"}])  # fmt: skip
    page = context.new_page()
    url = f"{bevel_srv.url}/api/v1/artifacts/{recorded.id}/visualizations/page"
    response = page.goto(url)
    assert response is not None and response.status == 200  # the cookie authenticated it
    page.wait_for_function("document.title.startsWith('{')", timeout=15_000)
    seen = json.loads(page.title())
    assert seen["origin"] == "null", seen  # sandboxed without allow-same-origin
    assert seen["cookie"].startswith("blocked"), seen
    assert seen["storage"].startswith("blocked"), seen
    assert seen["api"].startswith("blocked"), seen  # connect-src 'none', and no credentials
    assert "a report" in page.content()
    context.close()
