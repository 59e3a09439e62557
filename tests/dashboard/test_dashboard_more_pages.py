"""Compare, artifact and model pages through the test client: what they show, the diff-only
rows, metric statistics, sandboxed visualizations, lineage, and promotion refused to viewers
by the server, not only by a hidden button."""

from __future__ import annotations

import json
import re

from dashboard_helpers import Recorded, blocked_by_csp
from fastapi.testclient import TestClient

from bevel.server.dashboard.render import PAGE_CSP
from bevel.server.routes.viz import VIZ_CSP


def _rows(body: str, attr: str) -> dict[str, str]:
    """``<tr class="X" data-ATTR="key">`` -> {key: X}."""
    return {m[2]: m[1] for m in re.finditer(rf'<tr class="(\w+)" data-{attr}="([^"]+)"', body)}


def test_compare_puts_params_metrics_and_steps_side_by_side(
    client: TestClient, recorded: Recorded
) -> None:
    good, bad = recorded.good, recorded.bad
    answer = client.get("/compare", params=[("runs", good.id), ("runs", bad.name)])
    assert answer.status_code == 200, answer.text[:300]
    body = answer.text
    assert answer.headers["content-security-policy"] == PAGE_CSP and blocked_by_csp(body) == []
    assert body.index(good.name) < body.index(bad.name)  # one column per run, in the order given
    params = _rows(body, "param")
    assert params == {"limit": "differs", "lr": "differs", "n": "same"}  # diff-only hides "same"
    metrics = _rows(body, "metric")
    assert set(metrics) == {"accuracy", "loss"}
    # loss was logged 3 times per run: last with min ... max
    loss_row = body[body.index('data-metric="loss"') :].split("</tr>")[0]
    assert "3 points" in loss_row and "0.322581" in loss_row and "0.909091" in loss_row
    data = json.loads(re.search(r'id="compare-data">(.*?)</script>', body, re.S).group(1))  # type: ignore[union-attr]
    assert data["runs"] == [good.name, bad.name]
    assert list(data["metrics"]) == ["loss"]  # a single value is a cell, not a chart
    assert data["metrics"]["loss"][0][0] == [0, 1, 2]
    assert "mapped:</span> 3 completed" in body and "mapped:</span> 3 cached" in body
    assert "uPlot.iife.min.js" in body
    diff_on = client.get("/compare", params=[("runs", good.id), ("runs", bad.id), ("diff", "1")])
    assert 'id="diff-only" checked' in diff_on.text


def test_compare_needs_two_to_ten_runs(client: TestClient, recorded: Recorded) -> None:
    one = client.get("/compare", params={"runs": recorded.good.id})
    assert one.status_code == 400 and "compare needs 2 to 10 runs, not 1" in one.text
    assert "select 2-10 rows" in one.text
    many = client.get("/compare", params=[("runs", f"r{i}") for i in range(11)])
    assert many.status_code == 400
    unknown = client.get("/compare", params=[("runs", recorded.good.id), ("runs", "nope")])
    assert unknown.status_code == 404 and "no run with id or name &#39;nope&#39;" in unknown.text


def test_the_artifact_page_frames_visualizations_in_a_sandbox(
    client: TestClient, recorded: Recorded
) -> None:
    store_art = next(
        a for a in _artifacts(client, recorded) if a["name"] == "experiment.table.output"
    )
    body = client.get(f"/artifacts/{store_art['id']}").text
    assert blocked_by_csp(body) == []
    frames = re.findall(r"<iframe[^>]*>", body)
    assert len(frames) == 2  # preview and statistics
    for frame in frames:
        assert 'sandbox="allow-scripts"' in frame and "allow-same-origin" not in frame
    src = re.search(r'<iframe src="([^"]+)"', body).group(1)  # type: ignore[union-attr]
    view = client.get(src)
    assert view.status_code == 200 and view.headers["content-security-policy"] == VIZ_CSP
    assert view.headers["content-security-policy"].startswith("sandbox allow-scripts;")
    assert "seed" in view.text  # the DataFrame preview
    assert 'Client().get_artifact("' + store_art["id"] + '").load()' in body
    # lineage: made from the mapped train outputs, produced by `table`
    assert "experiment.train[0].output:1" in body
    assert f'href="/runs/{recorded.bad.id}/steps/table"' in body or "table" in body
    assert client.get(f"/artifacts/{store_art['id']}/view/nope").status_code == 404


def test_hostile_html_is_only_ever_framed_sandboxed(client: TestClient, recorded: Recorded) -> None:
    art = recorded.hostile
    page = client.get(f"/artifacts/{art.id}").text
    assert "<script>" not in page.split('id="viz-report"')[1].split("</details>")[0]
    view = client.get(f"/artifacts/{art.id}/view/report")
    assert view.headers["content-security-policy"] == VIZ_CSP  # opaque origin even if opened


def test_models_list_versions_stages_and_the_audit_log(
    client: TestClient, recorded: Recorded
) -> None:
    listing = client.get("/models").text
    assert 'href="/models/churn"' in listing and "v1" in listing
    body = client.get("/models/churn").text
    assert blocked_by_csp(body) == []
    assert "first model" in body and "alice" in body  # the audit log
    assert recorded.good.name in body and "0.85" in body  # built by, metrics
    # without auth (bevel dashboard) the local user may move versions
    assert 'action="/models/churn/versions/2/stage"' in body
    assert client.get("/models/nope").status_code == 404


def test_an_editor_promotes_and_a_viewer_is_refused_by_the_server(
    secured: tuple[TestClient, dict[str, str]], recorded: Recorded
) -> None:
    client, keys = secured
    client.cookies.set("bevel_api_key", keys["viewer"])
    page = client.get("/models/churn").text
    assert "/stage" not in page and "needs the editor role" in page  # no form for a viewer
    refused = client.post("/models/churn/versions/2/stage", data={"stage": "staging"},
                          follow_redirects=False)  # fmt: skip
    assert refused.status_code == 403 and "needs editor" in refused.text
    client.cookies.set("bevel_api_key", keys["editor"])
    moved = client.post("/models/churn/versions/2/stage",
                        data={"stage": "staging", "reason": "better accuracy"},
                        follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303 and moved.headers["location"] == "/models/churn?moved=2"
    after = client.get(moved.headers["location"]).text
    assert "Version 2 moved" in after
    row = after[after.index('data-version="2"') :].split("</tr>")[0]
    assert "staging" in row
    log = after[after.index("Audit log") :]
    assert "dash-editor" in log and "better accuracy" in log  # the account, never a claim
    bad = client.post("/models/churn/versions/2/stage", data={"stage": "prod"})
    assert bad.status_code == 400 and "unknown stage" in bad.text
    client.cookies.clear()


def _artifacts(client: TestClient, recorded: Recorded) -> list[dict[str, str]]:
    return list(client.get("/api/v1/artifacts", params={"limit": 100}).json()["items"])


def test_pipelines_show_their_latest_runs(client: TestClient, recorded: Recorded) -> None:
    body = client.get("/pipelines").text
    assert blocked_by_csp(body) == []
    row = body[body.index('data-pipeline="experiment"') :].split("</tr>")[0]
    assert 'href="/runs?pipeline=experiment"' in row
    assert row.index(recorded.bad.id) < row.index(recorded.good.id)  # newest first
    assert "tick s-failed" in row and "tick s-completed" in row


def test_stacks_and_components_with_credentials_masked(
    client: TestClient, recorded: Recorded
) -> None:
    from datetime import UTC, datetime

    from bevel.metadata.records import ComponentRecord, StackRecord
    from bevel.metadata.sql.store import SqlMetadataStore

    store = SqlMetadataStore(recorded.config().db_url)
    now = datetime.now(UTC)
    try:
        store.create_component(ComponentRecord(
            name="lake", type="artifact_store", flavor="s3", created=now, updated=now,
            config={"path": "s3://team-bucket/bevel", "key": "AKIAEXAMPLEKEY0001",
                    "secret": "wJalrXUtnFEMI-do-not-show", "endpoint_url": "http://127.0.0.1:9000"},
        ), replace=True)  # fmt: skip
        store.create_stack(StackRecord("team", {"artifact_store": "lake", "orchestrator": "local",
                                                "metadata_store": "home-metadata"}, now),
                           replace=True)  # fmt: skip
    finally:
        store.close()
    body = client.get("/stacks").text
    assert blocked_by_csp(body) == []
    assert "wJalrXUtnFEMI-do-not-show" not in body and "AKIAEXAMPLEKEY0001" not in body
    lake = body[body.index('data-component="lake"') :].split("</section>")[0]
    assert "s3://team-bucket/bevel" in lake and "***" in lake and "Used by: team" in lake
    team = body[body.index('data-stack="team"') :].split("</tr>")[0]
    assert 'href="#component-lake"' in team
    assert 'data-stack="default"' in body  # the built-in stack is listed too
