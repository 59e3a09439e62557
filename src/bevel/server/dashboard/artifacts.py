"""``/artifacts/{ref}``: one artifact. What it is (type, materializer, size, hash, metadata),
where it came from and went (the producing step run, the step runs that consumed it, the
producer's own inputs), its visualizations, and how to load it in Python.

Visualizations are never part of the dashboard's own document: each is framed from
``/artifacts/{ref}/view/{name}`` in ``<iframe sandbox="allow-scripts">`` (no
``allow-same-origin``), and that answer carries the API's ``sandbox allow-scripts`` CSP too, so
even opened directly a hostile report runs in an opaque origin: it cannot read the session
cookie, the dashboard's DOM or storage, or call the API as the user. PNG and SVG files are
``<img>`` (an SVG's scripts never run there). Non-HTML kinds (Markdown, CSV, JSON, text) are
rendered by :func:`bevel.viz.kinds.to_fragment` inside the frame (Markdown with raw HTML
escaped).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bevel._dataclass import dataclass
from bevel.errors import BevelError, NotFound
from bevel.metadata.base import ArtifactFilter
from bevel.metadata.records import ArtifactRecord, StepRunRecord
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.auth.keys import VIEWER
from bevel.server.dashboard.render import html
from bevel.server.routes import route, state_of
from bevel.server.routes.viz import VIZ_CSP
from bevel.viz.html import esc, page
from bevel.viz.kinds import KIND_OF_EXTENSION, to_fragment

router = APIRouter(tags=["dashboard"], include_in_schema=False)
_IMAGES = {".png", ".svg"}


@dataclass(frozen=True)
class Viz:
    name: str
    kind: str  # "frame" | "image"
    url: str


@dataclass(frozen=True)
class Use:
    """A step run that produced or consumed the artifact, with its run's name."""

    step_run: StepRunRecord
    run_name: str
    argument: str  # the input's or output's name


def _ext(uri: str) -> str:
    tail = uri.rsplit("/", 1)[-1]
    return "." + tail.rsplit(".", 1)[-1].lower() if "." in tail else ""


def visualizations(artifact: ArtifactRecord) -> list[Viz]:
    found = []
    for name, uri in sorted(artifact.visualizations.items()):
        if _ext(uri) in _IMAGES:
            found.append(
                Viz(name, "image", f"/api/v1/artifacts/{artifact.id}/visualizations/{name}")
            )
        else:
            found.append(Viz(name, "frame", f"/artifacts/{artifact.id}/view/{name}"))
    return found


@route(router, "GET", "/artifacts/{ref}", role=VIEWER)
def artifact_page(request: Request, ref: str) -> Response:
    store = state_of(request).store
    artifact = store.get_artifact(ref)
    edges = store.lineage(artifact_id=artifact.id)
    consumer_ids = [e.step_run_id for e in edges if e.step_run_id != artifact.producer_step_run_id]
    producer_id = artifact.producer_step_run_id
    wanted = sorted(set(consumer_ids) | ({producer_id} if producer_id else set()))
    details = store.step_details(wanted) if wanted else None
    by_id = {s.id: s for s in details.step_runs} if details else {}
    names = _run_names(store, {s.run_id for s in by_id.values()})
    producer = by_id.get(producer_id or "")
    upstream: list[tuple[str, ArtifactRecord]] = []
    if producer is not None and details is not None:
        upstream = sorted(details.io.get(producer.id, {}).get("in", {}).items())
    consumers: list[Use] = []  # steps that read it
    reusers: list[Use] = []  # cached steps that reused it as their output
    for e in edges:
        if e.step_run_id in by_id and e.step_run_id != producer_id:
            use = Use(by_id[e.step_run_id], names.get(by_id[e.step_run_id].run_id, "?"), e.name)
            (consumers if e.direction == "in" else reusers).append(use)
    versions = store.list_artifacts(ArtifactFilter(name=artifact.name, limit=20))
    return html(
        request, "artifact.html", artifact=artifact, vizs=visualizations(artifact),
        producer=Use(producer, names.get(producer.run_id, "?"), artifact.output_name)
        if producer else None, consumers=consumers, reusers=reusers, upstream=upstream, versions=versions,
    )  # fmt: skip


def _run_names(store: SqlMetadataStore, run_ids: set[str]) -> dict[str, str]:
    found = {}
    for run_id in run_ids:
        try:
            found[run_id] = store.get_run(run_id).name
        except NotFound:
            found[run_id] = "a deleted run"
    return found


@route(router, "GET", "/artifacts/{ref}/view/{name}", role=VIEWER)
def view(request: Request, ref: str, name: str) -> Response:
    """One visualization as a document for a sandboxed frame (see the module docstring)."""
    state = state_of(request)
    artifact = state.store.get_artifact(ref)
    uri = artifact.visualizations.get(name)
    if uri is None:
        raise NotFound(f"artifact {artifact.name}:{artifact.version} has no visualization {name!r}",
                       hint=f"its visualizations: {', '.join(sorted(artifact.visualizations)) or 'none'}")  # fmt: skip
    headers = {"Content-Security-Policy": VIZ_CSP, "X-Frame-Options": "SAMEORIGIN",
               "Cache-Control": "private, max-age=3600"}  # fmt: skip
    try:
        data = state.artifacts.read(uri)
    except BevelError as err:  # shown inside the frame, where the picture would be
        body = page(name, [f"<p>{esc(err.message)}</p><p>{esc(err.hint or '')}</p>"])
        return Response(body, status_code=404, media_type="text/html; charset=utf-8",
                        headers=headers)  # fmt: skip
    kind = KIND_OF_EXTENSION.get(_ext(uri), "text")
    body = to_fragment(kind, data, title=name)
    if kind != "html":
        body = page(f"{artifact.name}:{artifact.version} · {name}", [body])
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)
