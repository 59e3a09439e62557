"""Artifacts, lineage, metadata, metrics across runs, pipelines, and what records reference."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bevel.errors import ConfigError
from bevel.metadata.base import ArtifactFilter
from bevel.metadata.records import ArtifactRecord, LineageEdge, PipelineRecord
from bevel.server.auth.keys import EDITOR, VIEWER
from bevel.server.routes import LIMIT, OFFSET, Page, ok, page, route, state_of
from bevel.server.schemas import (
    LatestMetricsQuery,
    MetadataEntries,
    MetadataQuery,
    ReferencesAnswer,
    ReferencesQuery,
)

router = APIRouter(tags=["artifacts"])
ENTITIES = ("run", "step_run", "artifact")


@route(router, "GET", "/artifacts", role=VIEWER, response_model=Page[ArtifactRecord])
def list_artifacts(
    request: Request,
    name: str | None = Query(None, max_length=255, description="every version of one name"),
    run_id: str | None = Query(None, max_length=64),
    content_hash: str | None = Query(None, max_length=128),
    limit: int = LIMIT,
    offset: int = OFFSET,
) -> Response:
    """Artifacts, newest first, filtered in the database."""
    flt = ArtifactFilter(
        name=name, run_id=run_id, content_hash=content_hash, limit=limit + 1, offset=offset
    )
    found = state_of(request).store.list_artifacts(flt)
    return page(found, offset=offset, limit=limit, more=len(found) > limit)


@route(router, "GET", "/artifacts/{ref}", role=VIEWER, response_model=ArtifactRecord)
def get_artifact(ref: str, request: Request) -> Response:
    """By id, ``name:version``, unique id prefix (6+ characters) or name (latest version)."""
    return ok(state_of(request).store.get_artifact(ref))


@route(router, "GET", "/lineage", role=VIEWER, response_model=list[LineageEdge])
def lineage(
    request: Request,
    step_run_id: str | None = Query(None, max_length=64),
    artifact_id: str | None = Query(None, max_length=64),
) -> Response:
    """Edges touching a step run or an artifact (both: the edges between them)."""
    if step_run_id is None and artifact_id is None:
        raise ConfigError("lineage needs step_run_id or artifact_id")
    store = state_of(request).store
    return ok(store.lineage(step_run_id=step_run_id, artifact_id=artifact_id))


@route(router, "POST", "/references", role=VIEWER, response_model=ReferencesAnswer)
def references(body: ReferencesQuery, request: Request) -> Response:
    """Artifact uris recorded under ``prefix`` (only among ``uris`` when given) and every run
    id: what garbage collection must keep."""
    refs = state_of(request).store.references(body.prefix, body.uris)
    return ok({"uris": sorted(refs.uris), "run_ids": sorted(refs.run_ids)})


@route(router, "POST", "/metadata", role=EDITOR, status_code=204)
def log_metadata(body: MetadataEntries, request: Request) -> Response:
    """Record metadata entries (a key logged again replaces its value)."""
    state_of(request).store.log_metadata(body.entries)
    return ok(None, 204)


@route(router, "GET", "/metadata/{entity}/{entity_id}", role=VIEWER, response_model=dict[str, Any])
def get_metadata(entity: str, entity_id: str, request: Request) -> Response:
    return ok(state_of(request).store.get_metadata(_entity(entity), entity_id))


@route(
    router, "POST", "/metadata/query", role=VIEWER, response_model=dict[str, dict[str, Any]]
)  # fmt: skip
def metadata_of(body: MetadataQuery, request: Request) -> Response:
    """Metadata of many entities of one kind, in one query."""
    if not body.ids:
        return ok({})
    return ok(state_of(request).store.metadata_of(_entity(body.entity), body.ids))


@route(
    router, "POST", "/metrics/latest", role=VIEWER, response_model=dict[str, dict[str, float]]
)  # fmt: skip
def latest_metrics(body: LatestMetricsQuery, request: Request) -> Response:
    """The last value of each metric of many runs, in one query."""
    if not body.run_ids or (body.keys is not None and not body.keys):
        return ok({})
    return ok(state_of(request).store.latest_metrics(body.run_ids, body.keys))


@route(router, "GET", "/pipelines", role=VIEWER, response_model=Page[PipelineRecord])
def list_pipelines(request: Request, limit: int = LIMIT, offset: int = OFFSET) -> Response:
    return page(state_of(request).store.list_pipelines(), offset=offset, limit=limit)


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise ConfigError(
            f"unknown metadata entity {entity!r}", hint=f"one of: {', '.join(ENTITIES)}"
        )
    return entity
