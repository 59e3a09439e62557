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

from bevel.metadata.base import RunFilter
from bevel.metadata.records import RunStatus
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.dashboard import create_dashboard_app
from conftest import LiveServer, Recorded, Watched, serve

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
    assert page.locator("table.runs tbody tr").count() == 2
    assert page.locator(f"tr[data-run-id='{recorded.bad.id}'] .badge").inner_text() == "failed"
    watched.shot("runs")

    # filters apply in place (htmx) and land in the URL; the page is not reloaded
    page.evaluate("window.__kept = 'same page'")
    page.select_option("select[name=status]", "failed")
    page.wait_for_url("**/runs?*status=failed*")
    page.wait_for_function("() => document.querySelectorAll('table.runs tbody tr').length === 1")
    assert page.evaluate("window.__kept") == "same page"
    page.select_option("select[name=status]", "")
    page.wait_for_function("() => document.querySelectorAll('table.runs tbody tr').length === 2")
    # two selected rows enable Compare
    assert page.locator("#compare-button").is_disabled()
    for box in page.locator("input[form=compare-form]").all():
        box.check()
    assert page.locator("#compare-button").is_enabled()
    assert "2 selected" in page.locator("#selected-count").inner_text()

    page.click(f"text={recorded.bad.name}")
    page.wait_for_selector("svg.dag-svg g.node")
    nodes = page.locator("svg.dag-svg g.node")
    assert nodes.count() == 4
    assert "s-failed" in (page.locator("g.node[data-step=check]").get_attribute("class") or "")
    assert "s-cached" in (page.locator("g.node[data-step=seeds]").get_attribute("class") or "")
    assert "3/3 done" in (page.locator("g.node[data-step=train]").text_content() or "")
    assert page.locator("path.edge").count() == 3
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
