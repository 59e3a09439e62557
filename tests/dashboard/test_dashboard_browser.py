"""The dashboard in real headless Chromium, over runs recorded for real: the runs list, a run's
DAG and a step's log, and a running run followed live until it ends, all without a console
error, a failed request or a request to anywhere but the server. Screenshots are kept in
``$BEVEL_SCREENSHOTS`` (default: the temp dir's bevel-screenshots/)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import LiveServer, Recorded, Watched, serve

from bevel.metadata.base import ArtifactFilter, RunFilter
from bevel.metadata.records import RunStatus
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.dashboard import create_dashboard_app

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def server(recorded: Recorded) -> Iterator[LiveServer]:
    yield from serve(create_dashboard_app(recorded.config(auth=False)))


def test_runs_list_then_a_run_its_dag_and_a_steps_log(
    browser: Any, server: LiveServer, recorded: Recorded
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(f"{server.url}/runs")
    assert page.locator("table.runs tbody tr").count() == 3
    assert page.locator(f"tr[data-run-id='{recorded.bad.id}'] .badge").inner_text() == "failed"
    watched.shot("runs")

    # filters apply in place (htmx) and land in the URL; the page is not reloaded
    page.evaluate("window.__kept = 'same page'")
    page.select_option("select[name=status]", "failed")
    page.wait_for_url("**/runs?*status=failed*")
    page.wait_for_function("() => document.querySelectorAll('table.runs tbody tr').length === 1")
    assert page.evaluate("window.__kept") == "same page"
    page.select_option("select[name=status]", "")
    page.wait_for_function("() => document.querySelectorAll('table.runs tbody tr').length === 3")
    # two selected rows enable Compare
    assert page.locator("#compare-button").is_disabled()
    for run in (recorded.good, recorded.bad):
        page.check(f"input[form=compare-form][value='{run.id}']")
    assert page.locator("#compare-button").is_enabled()
    assert "2 selected" in page.locator("#selected-count").inner_text()

    page.click(f"text={recorded.bad.name}")
    page.wait_for_selector("svg.dag-svg g.node")
    nodes = page.locator("svg.dag-svg g.node")
    assert nodes.count() == 5
    assert "s-failed" in (page.locator("g.node[data-step=check]").get_attribute("class") or "")
    assert "s-cached" in (page.locator("g.node[data-step=seeds]").get_attribute("class") or "")
    assert "3/3 done" in (page.locator("g.node[data-step=train]").text_content() or "")
    assert page.locator("path.edge").count() == 4
    # the failed step is focused: its panel shows the error and the hint
    panel = page.locator("#step-panel")
    assert "score 6.0 is above the limit 0.1" in panel.inner_text()
    assert "raise --limit" in panel.inner_text()
    assert "selected" in (page.locator("g.node[data-step=check]").get_attribute("class") or "")
    watched.shot("run-failed-step")

    # a click on a node opens its panel (own URL) with its log, shown as text
    page.click("g.node[data-step=score]")
    page.wait_for_selector("#step-panel .panel-head[data-step-id=score]")
    page.wait_for_function(
        "() => document.querySelector('#log').textContent.includes('scored 6.0')"
    )
    assert page.url.endswith(f"/runs/{recorded.bad.id}/steps/score")
    assert page.locator("#log b").count() == 0  # "<b>" in a log is text, never markup
    assert "<b>not html</b>" in page.locator("#log").inner_text()
    assert "accuracy" in panel.inner_text()
    watched.shot("run-step-log")
    # the cached step's badge leads to the run that produced its outputs
    page.click("table.steps a.cache-badge")
    page.wait_for_selector("#step-panel .panel-head[data-step-id=seeds]")
    assert recorded.good.name in page.locator("h1").inner_text()
    page.wait_for_function(
        "() => document.querySelector('#log').textContent.includes('making 3 seeds')"
    )
    assert watched.problems == []
    context.close()


def _start_slow_run(recorded: Recorded, flag: Path) -> subprocess.Popen[bytes]:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import pipelines; "
            "from bevel.api import run_pipeline; "
            "run_pipeline(pipelines.slow, params={'flag': sys.argv[2]})")  # fmt: skip
    env = {**os.environ, "BEVEL_HOME": str(recorded.home)}
    env.pop("BEVEL_STORE_URL", None)
    return subprocess.Popen([sys.executable, "-c", code, str(HERE), str(flag)],
                            cwd=recorded.root, env=env)  # fmt: skip


def _wait_running(recorded: Recorded, proc: subprocess.Popen[bytes]) -> Any:
    store = SqlMetadataStore(f"sqlite:///{recorded.home / 'metadata.db'}")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the run's process ended early"
            runs = store.list_runs(RunFilter(pipeline="slow", status=RunStatus.RUNNING))
            if runs and any(s.step_id == "wait_for" for s in store.step_runs(runs[0].id)):
                return runs[0]
            time.sleep(0.1)
        raise AssertionError("the slow run did not reach its waiting step")
    finally:
        store.close()


def test_a_running_run_is_followed_live_without_a_reload(
    browser: Any, server: LiveServer, recorded: Recorded, tmp_path: Path
) -> None:
    flag = tmp_path / "release"
    proc = _start_slow_run(recorded, flag)
    try:
        run = _wait_running(recorded, proc)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        runs_tab = Watched(context, server.url)
        runs_tab.page.goto(f"{server.url}/runs")
        row = runs_tab.page.locator(f"tr[data-run-id='{run.id}']")
        assert row.locator(".badge").inner_text() == "running"
        run_tab = Watched(context, server.url)
        page = run_tab.page
        page.goto(f"{server.url}/runs/{run.id}/steps/wait_for")
        page.wait_for_selector("g.node[data-step=wait_for].s-running")
        page.wait_for_function(
            "() => document.querySelector('#log').textContent.includes('waiting for the flag')"
        )
        run_tab.shot("run-live-running")
        for tab in (runs_tab, run_tab):
            tab.page.evaluate("window.__kept = 'same page'")

        flag.touch()
        assert proc.wait(60) == 0
        page.wait_for_selector("g.node[data-step=wait_for].s-completed", timeout=20_000)
        page.wait_for_function(
            "() => document.querySelector('[data-live=run-status]').textContent === 'completed'"
        )
        page.wait_for_function("() => document.querySelector('#log').textContent.includes('released')",
                               timeout=20_000)  # fmt: skip
        runs_tab.page.wait_for_function(
            f"() => document.querySelector(\"tr[data-run-id='{run.id}'] .badge\").textContent === 'completed'",
            timeout=20_000,
        )
        for tab in (runs_tab, run_tab):
            assert tab.page.evaluate("window.__kept") == "same page"  # updated in place
        run_tab.shot("run-live-completed")
        assert runs_tab.problems == [] and run_tab.problems == []
        context.close()
    finally:
        if proc.poll() is None:
            flag.touch()
            proc.wait(30)


def test_compare_two_runs_and_open_an_artifacts_visualizations(
    browser: Any, server: LiveServer, recorded: Recorded
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(f"{server.url}/runs")
    for run in (recorded.good, recorded.bad):
        page.check(f"input[form=compare-form][value='{run.id}']")
    page.click("#compare-button")
    page.wait_for_url("**/compare?runs=*")
    page.wait_for_selector(".chart-box .uplot canvas")
    assert page.locator("tr[data-param=n]").is_visible()
    page.check("#diff-only")
    assert not page.locator("tr[data-param=n]").is_visible()  # the same in both: hidden
    assert page.locator("tr[data-param=lr]").is_visible()
    assert "diff=1" in page.url  # the view state is in the URL
    watched.shot("compare")

    store = SqlMetadataStore(f"sqlite:///{recorded.home / 'metadata.db'}")
    try:
        (table,) = store.list_artifacts(
            ArtifactFilter(name="experiment.table.output", run_id=recorded.good.id)
        )
    finally:
        store.close()
    page.goto(f"{server.url}/artifacts/{table.id}")
    frame = page.frame_locator("details.viz[open] iframe")
    frame.locator("text=4 rows").or_(frame.locator("text=3 rows")).first.wait_for()
    assert page.locator("details.viz iframe").first.get_attribute("sandbox") == "allow-scripts"
    page.click("details.viz:not([open]) summary")  # the second one loads when opened
    page.frame_locator("details.viz iframe").nth(1).locator("body").wait_for()
    watched.shot("artifact")
    assert watched.problems == []
    context.close()


def test_hostile_html_in_an_artifact_cannot_reach_the_dashboard(
    browser: Any, server: LiveServer, recorded: Recorded
) -> None:
    import json

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_cookies([{"name": "bevel_api_key", "value": "bvl_secret_of_the_user",
                          "url": server.url, "httpOnly": False, "sameSite": "Strict"}])  # fmt: skip
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(f"{server.url}/artifacts/{recorded.hostile.id}")
    deadline = time.monotonic() + 20
    seen: dict[str, str] = {}
    while time.monotonic() < deadline and not seen:
        for frame in page.frames:
            if "/view/report" in frame.url and frame.title().startswith("{"):
                seen = json.loads(frame.title())
        time.sleep(0.1)
    assert seen, "the report's script did not run"
    assert seen["origin"] == "null", seen  # an opaque origin: not the dashboard's
    assert seen["cookie"].startswith("blocked"), seen  # not even a script-visible cookie
    assert seen["parent"].startswith("blocked"), seen  # cannot read the dashboard's page
    assert seen["storage"].startswith("blocked"), seen
    assert seen["api"].startswith("blocked"), seen  # no request as the user
    assert "a hostile report" in page.frame_locator("iframe").locator("p").inner_text()
    watched.shot("artifact-hostile")
    # the only complaints come from inside the frame (its blocked fetch), none from the page
    assert all(
        "Refused to connect" in p or "/api/v1/runs" in p or "Fetch API" in p
        for p in watched.problems
    ), watched.problems
    context.close()


@pytest.fixture(scope="module")
def secured_server(recorded: Recorded) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    from datetime import UTC, datetime

    from bevel.server.auth.store import AuthStore

    config = recorded.config(auth=True)
    store = SqlMetadataStore(config.db_url, name="server")
    auth = AuthStore(store)
    keys = {}
    for role in ("viewer", "editor"):
        auth.create_user(f"browser-{role}", role=role, kind="user", now=datetime.now(UTC))
        keys[role] = auth.create_key(f"browser-{role}", label="", now=datetime.now(UTC),
                                     expires=None)[0]  # fmt: skip
    for live in serve(create_dashboard_app(config, store=store)):
        yield live, keys


def _sign_in(browser: Any, server: LiveServer, key: str) -> tuple[Any, Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(f"{server.url}/models/churn")
    page.wait_for_url("**/login?next=*")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url("**/models/churn")
    return context, watched


def test_an_editor_promotes_a_model_and_a_viewer_cannot(
    browser: Any, secured_server: tuple[LiveServer, dict[str, str]]
) -> None:
    server, keys = secured_server
    context, editor = _sign_in(browser, server, keys["editor"])
    page = editor.page
    row = page.locator("tr[data-version='2']")
    row.locator("select[name=stage]").select_option("staging")
    row.locator("input[name=reason]").fill("better accuracy")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/models/churn?moved=2")
    assert page.locator("tr[data-version='2'] [data-stage]").inner_text() == "staging"
    audit = page.locator("table.audit tbody tr").first.inner_text()
    assert "browser-editor" in audit and "better accuracy" in audit
    editor.shot("model-promoted")
    assert editor.problems == []
    context.close()

    context, viewer = _sign_in(browser, server, keys["viewer"])
    page = viewer.page
    assert page.locator("form.inline-form").count() == 0  # nothing to press
    status = page.evaluate("""() => fetch("/models/churn/versions/1/stage", {
        method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
        body: "stage=archived&reason=forged"}).then(r => r.status)""")
    assert status == 403  # the server refuses, whatever the page shows
    page.reload()
    assert page.locator("tr[data-version='1'] [data-stage]").inner_text() == "production"
    assert "forged" not in page.locator("table.audit").inner_text()
    viewer.shot("model-viewer")
    assert [p for p in viewer.problems if "403" not in p] == []
    context.close()


def test_a_big_graph_is_laid_out_in_a_worker_and_drawn_whole(
    browser: Any, server: LiveServer, recorded: Recorded
) -> None:
    """400 steps (above the worker threshold of 300): a wide fan-in, laid out off the main
    thread; every node drawn, the failed one focused, no console error."""
    from dataclasses import replace

    from bevel.metadata.records import RunStatus, StepCompletion, StepStatus
    from bevel.testing.records import done, make_run, make_step

    steps = [{"id": "source", "name": "source", "inputs": {}, "after": []}]
    steps += [{"id": f"part_{i}", "name": "part", "inputs": {"x": {"step": "source", "output": "output"}},
               "after": []} for i in range(398)]  # fmt: skip
    steps += [{"id": "merge", "name": "merge", "after": [f"part_{i}" for i in range(398)],
               "inputs": {}}]  # fmt: skip
    store = SqlMetadataStore(f"sqlite:///{recorded.home / 'metadata.db'}")
    try:
        run = store.create_run(replace(make_run("wide"), plan={"pipeline": "wide", "steps": steps}))
        for i, sid in enumerate(["source", "part_0", "part_1"]):
            step = make_step(run, sid, at=i)
            store.start_step_run(step)
            status = StepStatus.FAILED if sid == "part_1" else StepStatus.COMPLETED
            store.finish_step_run(StepCompletion(step_run=replace(done(step, status),
                                                                  error="boom" if status is StepStatus.FAILED else None)))  # fmt: skip
        store.finish_run(
            run.id, RunStatus.FAILED, ended=run.created, error="step(s) failed: part_1"
        )
    finally:
        store.close()
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    watched = Watched(context, server.url)
    page = watched.page
    page.goto(f"{server.url}/runs/{run.id}")
    page.wait_for_function("() => document.querySelectorAll('svg.dag-svg g.node').length === 400",
                           timeout=60_000)  # fmt: skip
    assert page.locator("path.edge").count() == 398 * 2
    assert "s-failed" in (page.locator("g.node[data-step=part_1]").get_attribute("class") or "")
    assert "selected" in (page.locator("g.node[data-step=part_1]").get_attribute("class") or "")
    assert page.locator("g.node.s-pending").count() == 397
    watched.shot("run-400-steps")
    assert watched.problems == []
    context.close()
