"""Visualizations through the server, from a local and an S3 artifact store, served so that
hostile HTML cannot script the server's origin, and never from outside a store's viz/ folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from server_http import send

from bevel import pipeline, run_pipeline, step
from bevel.materializers import Materializer
from bevel.metadata.records import StepCompletion
from bevel.metadata.rest.store import RestMetadataStore
from bevel.server.artifacts import safe_relative
from bevel.testing.records import done, make_artifact, make_run, make_step
from bevel.testing.servers import BevelServer, S3Server

HOSTILE = "<script>document.title = 'pwned:' + document.cookie</script><p>report</p>"


@dataclass
class Report:
    text: str


class ReportMaterializer(Materializer):
    def save(self, obj: Report, directory: str) -> None:
        Path(directory, "report.txt").write_text(obj.text)

    def load(self, directory: str, type_: type | None) -> Report:
        return Report(Path(directory, "report.txt").read_text())

    def visualizations(self, obj: Report) -> dict[str, str]:
        return {"page": f"<html><body>{obj.text}{HOSTILE}</body></html>", "notes": "# Notes\n"}


@step(materializers={"output": ReportMaterializer})
def report(text: str = "hello") -> Report:
    return Report(text)


@pipeline
def reporting(text: str = "hello"):
    report(text)


@pytest.fixture
def editor(bevel_home: Path, bevel_srv: BevelServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """This project's definitions live on the server, sealed with the team's secrets key (the
    server opens credentials with it to read the artifact stores)."""
    bevel_srv.reset()
    key = bevel_srv.new_key("editor")
    monkeypatch.setenv("BEVEL_STORE_URL", bevel_srv.url)
    monkeypatch.setenv("BEVEL_API_KEY", key)
    monkeypatch.setenv("BEVEL_SECRETS_KEY", bevel_srv.secrets_key)
    return key


def _viz_url(srv: BevelServer, artifact_id: str, name: str) -> str:
    return f"{srv.url}/api/v1/artifacts/{artifact_id}/visualizations/{name}"


def _run_and_fetch(srv: BevelServer, stack: str, key: str, text: str) -> tuple[Any, ...]:
    run = run_pipeline(reporting, params={"text": text}, stack=stack)
    art = run.steps["report"].output
    assert set(art.visualizations) == {"page", "notes"}
    page = send(_viz_url(srv, art.id, "page"), key=key)
    notes = send(_viz_url(srv, art.id, "notes"), key=key)
    return page, notes


def test_visualizations_of_a_local_store_through_the_server(
    bevel_srv: BevelServer, editor: str, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    files = tmp_path / "team-files"
    assert invoke("component", "register", "artifact_store", "files", "--flavor", "local",
                  "--path", str(files)).exit_code == 0  # fmt: skip
    assert invoke("stack", "register", "with-files", "-a", "files").exit_code == 0
    viewer = bevel_srv.new_key("viewer")
    (status, headers, body), (md_status, md_headers, md) = _run_and_fetch(
        bevel_srv, "with-files", viewer, "local-report"
    )
    assert status == 200 and "local-report" in body
    assert headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts;") and "allow-same-origin" not in csp
    assert "default-src 'none'" in csp and headers["x-content-type-options"] == "nosniff"
    assert md_status == 200 and md == "# Notes\n"
    assert md_headers["content-type"].startswith("text/markdown")
    assert send(_viz_url(bevel_srv, "nothing-here", "page"), key=viewer)[0] == 404
    missing = send(_viz_url(bevel_srv, _last_artifact(bevel_srv), "nope"), key=viewer)
    assert missing[0] == 404 and "its visualizations: notes, page" in missing[2]["error"]["hint"]


@pytest.mark.servers
def test_visualizations_of_an_s3_store_through_the_server(
    bevel_srv: BevelServer, editor: str, invoke: Callable[..., Result], s3: S3Server
) -> None:
    bucket = s3.new_bucket()
    made = invoke(
        "component", "register", "artifact_store", "team-s3", "--flavor", "s3",
        "--path", f"s3://{bucket}/artifacts", "--endpoint-url", s3.endpoint_url,
        "--key", "testing", "--secret", "testing", "--region", "us-east-1",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert invoke("stack", "register", "on-s3", "-a", "team-s3").exit_code == 0
    (status, headers, body), (md_status, _, md) = _run_and_fetch(
        bevel_srv, "on-s3", editor, "s3-report"
    )
    assert status == 200 and "s3-report" in body, body
    assert headers["content-security-policy"].startswith("sandbox allow-scripts;")
    assert md_status == 200 and md == "# Notes\n"


def _last_artifact(srv: BevelServer) -> str:
    return str(srv.call("GET", "/artifacts?limit=1")["items"][0]["id"])


def _forge(store: RestMetadataStore, uri: str) -> str:
    """Record an artifact whose visualization points at ``uri`` (as a malicious editor could)."""
    run = make_run()
    store.create_run(run)
    step_run = make_step(run, "s")
    store.start_step_run(step_run)
    art = make_artifact(
        f"{run.pipeline}.s.output", producer_step_run_id=step_run.id, run_id=run.id,
        visualizations={"page": uri},
    )  # fmt: skip
    completion = StepCompletion(step_run=done(step_run), outputs=(art,))
    return store.finish_step_run(completion)[0].id


@pytest.mark.parametrize(
    "forged",
    [
        "/etc/passwd",
        "{root}/viz/../../../../etc/passwd",
        "{root}/data/ab/abcdef/secret.txt",
        "{root}/viz/ab%2f..%2f..%2fetc/passwd",
        "{root}/viz/x/../../../etc/hostname",
        "{root}/../outside/viz/a/b.html",
    ],
)
def test_forged_uris_are_refused(
    bevel_srv: BevelServer, editor: str, invoke: Callable[..., Result], tmp_path: Path,
    forged: str,
) -> None:  # fmt: skip
    root = tmp_path / "files"
    (root / "data" / "ab" / "abcdef").mkdir(parents=True)
    (root / "data" / "ab" / "abcdef" / "secret.txt").write_text("the secret bytes")
    (tmp_path / "outside" / "viz" / "a").mkdir(parents=True)
    (tmp_path / "outside" / "viz" / "a" / "b.html").write_text("outside the store")
    assert invoke("component", "register", "artifact_store", "files", "--flavor", "local",
                  "--path", str(root)).exit_code == 0  # fmt: skip
    store = RestMetadataStore(bevel_srv.url, api_key=editor)
    artifact_id = _forge(store, forged.format(root=root))
    status, _, body = send(_viz_url(bevel_srv, artifact_id, "page"), key=editor)
    assert status in (400, 404), (status, body)
    text = str(body)
    assert "root:" not in text and "secret bytes" not in text and "outside the store" not in text


def test_a_symlink_out_of_the_store_is_refused(
    bevel_srv: BevelServer, editor: str, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    root = tmp_path / "files"
    (root / "viz" / "ab").mkdir(parents=True)
    (tmp_path / "private.html").write_text("private bytes")
    (root / "viz" / "ab" / "page.html").symlink_to(tmp_path / "private.html")
    assert invoke("component", "register", "artifact_store", "files", "--flavor", "local",
                  "--path", str(root)).exit_code == 0  # fmt: skip
    store = RestMetadataStore(bevel_srv.url, api_key=editor)
    artifact_id = _forge(store, f"{root}/viz/ab/page.html")
    status, _, body = send(_viz_url(bevel_srv, artifact_id, "page"), key=editor)
    assert status == 400 and "outside the store" in body["error"]["message"]
    assert "private bytes" not in str(body)


def test_a_store_the_server_cannot_read_says_what_to_do(
    bevel_srv: BevelServer, editor: str
) -> None:
    store = RestMetadataStore(bevel_srv.url, api_key=editor)
    artifact_id = _forge(store, "s3://no-such-bucket/viz/ab/page.html")
    status, _, body = send(_viz_url(bevel_srv, artifact_id, "page"), key=editor)
    assert status == 404
    assert "cannot read the artifact store" in body["error"]["message"]
    assert "bevel artifacts show" in body["error"]["hint"]


@pytest.mark.parametrize("rel", ["viz/ab/x.html", "viz/a-b/c_d.e.md"])
def test_plain_viz_paths_are_accepted(rel: str) -> None:
    assert safe_relative(rel) == rel
