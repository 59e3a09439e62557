"""The dashboard's pages and fragments through the FastAPI test client, over runs recorded
for real: what they show, that filters, sort and pages are in the URL and the SQL, that polls
answer 304 while nothing changed, and the security rules every page keeps (CSP, no inline
script or style, login for a server with auth)."""

from __future__ import annotations

import re

from dashboard_helpers import Recorded, blocked_by_csp
from fastapi.testclient import TestClient

from bevel.server.dashboard import create_dashboard_app
from bevel.server.dashboard.render import PAGE_CSP


def page_urls(recorded: Recorded) -> list[str]:
    good, bad = recorded.good, recorded.bad
    return ["/runs", "/runs?status=failed&sort=name", f"/runs/{good.id}", f"/runs/{bad.id}",
            f"/runs/{bad.id}/steps/check", f"/runs/{good.id}/steps/train",
            f"/runs/{good.id}/steps/train[2]", "/runs/nonexistent-run",
            f"/compare?runs={good.id}&runs={bad.id}", f"/artifacts/{recorded.hostile.id}",
            "/models", "/models/churn", "/pipelines", "/stacks", "/login"]  # fmt: skip


def test_every_page_has_the_csp_and_nothing_inline_it_would_block(
    client: TestClient, recorded: Recorded
) -> None:
    for url in page_urls(recorded):
        answer = client.get(url)
        assert answer.status_code in (200, 404), (url, answer.text[:300])
        assert answer.headers["content-security-policy"] == PAGE_CSP, url
        assert "'unsafe-inline'" not in PAGE_CSP and "'unsafe-eval'" not in PAGE_CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-type"].startswith("text/html")
        assert blocked_by_csp(answer.text) == [], url
        # every script and stylesheet is one the package ships
        for ref in re.findall(r'(?:src|href)="(/static/[^"?]+)', answer.text):
            assert client.get(ref).status_code == 200, (url, ref)


def test_the_runs_list_shows_status_counts_and_links(
    client: TestClient, recorded: Recorded
) -> None:
    body = client.get("/runs").text
    good, bad = recorded.good, recorded.bad
    assert body.index(bad.name) < body.index(good.name)  # newest first
    assert f'href="/runs/{good.id}"' in body
    row = body[body.index(f'data-run-id="{bad.id}"') :].split("</tr>")[0]
    assert 'data-status="failed"' in row
    assert "1 failed" in row and "5 cached" in row and "1 completed" in row
    assert 'name="runs"' in row and 'form="compare-form"' in row  # selectable for compare


def test_filters_sort_and_pages_are_in_the_url(client: TestClient, recorded: Recorded) -> None:
    failed = client.get("/runs?status=failed").text
    assert recorded.bad.name in failed and recorded.good.name not in failed
    assert '<option value="failed" selected>' in failed  # the form shows the filter in use
    named = client.get(f"/runs?q={recorded.good.name[-6:].upper()}").text
    assert recorded.good.name in named and recorded.bad.name not in named
    assert "No run matches these filters" in client.get("/runs?pipeline=nope").text
    oldest = client.get("/runs?sort=created").text
    assert oldest.index(recorded.good.name) < oldest.index(recorded.bad.name)
    first = client.get("/runs?per=1").text
    second = client.get("/runs?per=1&page=2").text
    assert recorded.bad.name in first and recorded.good.name not in first
    assert recorded.good.name in second and recorded.bad.name not in second
    assert 'href="/runs?per=1&amp;page=2"' in first and 'rel="next"' in first
    assert 'rel="next"' in second and 'rel="prev"' in second
    last = client.get("/runs?per=1&page=3").text  # the third run (the hostile report's)
    assert 'rel="next"' not in last and 'rel="prev"' in last
    # sort links keep the filters and flip the direction of the active column
    assert 'href="/runs?status=failed&amp;sort=-name"' in client.get("/runs?status=failed").text
    assert 'href="/runs?sort=name"' in client.get("/runs?sort=-name").text


def test_bad_filters_get_an_error_page_with_a_hint(client: TestClient) -> None:
    answer = client.get("/runs?sort=password")
    assert answer.status_code == 400
    assert "cannot be sorted by" in answer.text and "hint:" in answer.text
    answer = client.get("/runs?status=exploded")
    assert answer.status_code == 400 and "unknown run status" in answer.text
    missing = client.get("/runs/nonexistent-run")
    assert missing.status_code == 404 and "bevel runs list" in missing.text


def test_htmx_gets_only_the_table_fragment(client: TestClient) -> None:
    fragment = client.get("/runs?status=failed", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<table") and "<html" not in fragment
    restore = client.get("/runs", headers={"HX-Request": "true",
                                           "HX-History-Restore-Request": "true"}).text  # fmt: skip
    assert "<html" in restore  # htmx restoring history wants the whole page


def test_the_run_page_shows_the_graph_the_counts_and_the_failed_step(
    client: TestClient, recorded: Recorded
) -> None:
    bad = recorded.bad
    body = client.get(f"/runs/{bad.id}").text
    graph = re.search(r'<script type="application/json" id="dag-data">(.*?)</script>', body, re.S)
    assert graph is not None
    import json

    data = json.loads(graph.group(1))
    nodes = {n["id"]: n for n in data["nodes"]}
    assert set(nodes) == {"seeds", "train", "table", "score", "check"}
    assert sorted(map(tuple, data["edges"])) == [("score", "check"), ("seeds", "train"),
                                                 ("train", "score"), ("train", "table")]  # fmt: skip
    assert nodes["check"]["status"] == "failed"
    assert nodes["seeds"]["status"] == "cached"
    assert nodes["seeds"]["cached_from"] == recorded.good.name
    assert nodes["train"]["total"] == 3 and nodes["train"]["counts"] == {"cached": 3}
    # the failed step is focused: its panel is open with the error and its hint
    panel = body[body.index('id="step-panel"') :]
    assert 'data-step-id="check"' in panel
    assert "score 6.0 is above the limit 0.1" in panel and "raise --limit" in panel
    assert "Traceback" in panel
    # the cache badge links the step (and run) that produced the reused outputs
    assert f'href="/runs/{recorded.good.id}/steps/seeds"' in body
    assert "1 failed" in body and "5 cached" in body


def test_a_step_panel_shows_params_io_metrics_cache_and_log(
    client: TestClient, recorded: Recorded
) -> None:
    bad = recorded.bad
    panel = client.get(f"/runs/{bad.id}/steps/score",
                       headers={"HX-Request": "true", "HX-Target": "step-panel"}).text  # fmt: skip
    assert "<html" not in panel and 'data-step-id="score"' in panel
    assert "lr" in panel and "0.2" in panel  # parameters
    assert "experiment.train[0].output:1" in panel  # inputs, linked
    assert "experiment.score.output:" in panel  # outputs
    assert "accuracy" in panel and "loss" in panel  # metrics
    assert "differs from the previous run" in panel and "params" in panel  # cache explained
    assert f'data-url="/runs/{bad.id}/steps/score/log"' in panel
    cached = client.get(f"/runs/{bad.id}/steps/seeds").text
    assert "its outputs were reused from step" in cached and recorded.good.name in cached
    group = client.get(f"/runs/{recorded.good.id}/steps/train").text
    assert group.count('href="/runs/' + recorded.good.id + "/steps/train%5B") == 3
    instance = client.get(f"/runs/{recorded.good.id}/steps/train[1]").text
    assert 'data-step-id="train[1]"' in instance and "seed" in instance
    missing = client.get(f"/runs/{bad.id}/steps/nope")
    assert (
        missing.status_code == 404
        and "its steps: seeds, train, table, score, check" in missing.text
    )


def test_the_log_is_read_by_offset_and_escaped_by_the_page(
    client: TestClient, recorded: Recorded
) -> None:
    url = f"/runs/{recorded.good.id}/steps/score/log"
    whole = client.get(url).json()
    assert whole["text"] == "<b>not html</b> scored 3.0\n" and not whole["running"]
    assert whole["offset"] == whole["size"] == len(whole["text"].encode())
    rest = client.get(url, params={"offset": 7}).json()
    assert rest["text"] == whole["text"][7:] and rest["start"] == 7
    tail = client.get(url, params={"offset": -5}).json()
    assert tail["text"] == "3.0\n"[-5:] or tail["text"] == whole["text"][-5:]
    assert client.get(url, params={"offset": whole["size"]}).json()["text"] == ""
    # a cached step shows the producing run's log
    cached = client.get(f"/runs/{recorded.bad.id}/steps/seeds/log").json()
    assert cached["text"] == "making 3 seeds\n"
    download = client.get(f"/runs/{recorded.good.id}/steps/score/log.txt")
    assert (
        download.text == whole["text"] and "attachment" in download.headers["content-disposition"]
    )


def test_polls_answer_304_while_nothing_changed(client: TestClient, recorded: Recorded) -> None:
    first = client.get(f"/live/runs/{recorded.good.id}")
    assert first.status_code == 200 and first.json()["status"] == "completed"
    again = client.get(
        f"/live/runs/{recorded.good.id}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    ids = f"{recorded.good.id},{recorded.bad.id},0000000000000000000000000000dead"
    many = client.get("/live/runs", params={"ids": ids}).json()
    assert set(many) == {recorded.good.id, recorded.bad.id}  # a deleted run is left out
    assert many[recorded.bad.id]["status"] == "failed"
    assert ["failed", 1] in many[recorded.bad.id]["counts"]


def test_static_files_are_versioned_and_cached(client: TestClient) -> None:
    body = client.get("/runs").text
    versioned = re.search(r'src="(/static/js/app\.js\?v=[0-9a-f]{12})"', body)
    assert versioned is not None
    answer = client.get(versioned.group(1))
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"].startswith("text/javascript")
    plain = client.get("/static/js/app.js")
    assert plain.headers["cache-control"] == "no-cache"
    assert (
        client.get(
            "/static/js/app.js", headers={"If-None-Match": plain.headers["etag"]}
        ).status_code
        == 304
    )
    for bad in ("/static/../__init__.py", "/static/%2e%2e/render.py", "/static/js/nope.js",
                "/static/vendor/MANIFEST.json.bak"):  # fmt: skip
        assert client.get(bad).status_code == 404, bad


# --- a server with auth ----------------------------------------------------------------------


def test_with_auth_pages_send_to_login_and_the_key_becomes_a_cookie(
    secured: tuple[TestClient, dict[str, str]], recorded: Recorded
) -> None:
    client, keys = secured
    client.cookies.clear()
    answer = client.get(f"/runs/{recorded.good.id}?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=%2Fruns%2F{recorded.good.id}%3Fx%3D1"
    login = client.get(answer.headers["location"])
    assert login.status_code == 200 and 'name="key"' in login.text
    assert blocked_by_csp(login.text) == []
    wrong = client.post("/login", data={"key": "bvl_0123456789abcdef_" + "x" * 43, "next": "/runs"})
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text
    assert client.get("/runs", follow_redirects=False).status_code == 303
    done = client.post("/login", data={"key": keys["viewer"], "next": f"/runs/{recorded.good.id}"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/runs/{recorded.good.id}"
    cookie = done.headers["set-cookie"]
    assert "bevel_api_key=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get(f"/runs/{recorded.good.id}")
    assert page.status_code == 200 and "dash-viewer · viewer" in page.text
    # a login that points elsewhere lands on the runs list instead
    away = client.post("/login", data={"key": keys["viewer"], "next": "//evil.example/x"},
                       follow_redirects=False)  # fmt: skip
    assert away.headers["location"] == "/runs"
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and 'bevel_api_key=""' in out.headers["set-cookie"]


def test_a_form_posted_from_another_site_is_refused(
    secured: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = secured
    answer = client.post("/login", data={"key": keys["viewer"]},
                         headers={"Origin": "http://evil.example"}, follow_redirects=False)  # fmt: skip
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_every_dashboard_route_declares_a_role(recorded: Recorded) -> None:
    from bevel.server.app import route_table

    table = route_table(create_dashboard_app(recorded.config(auth=False)))
    pages = [r for r in table if not r.path.startswith("/api/")]
    assert {"/runs", "/runs/{ref}", "/login", "/static/{path:path}"} <= {r.path for r in pages}
    public = {r.path for r in pages if r.role == "public"}
    assert public == {"/static/{path:path}", "/login", "/logout"}
    assert all(r.role in ("viewer", "editor", "public") for r in pages), pages
