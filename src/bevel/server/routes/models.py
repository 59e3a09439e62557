"""The model control plane: models, versions, stages and the audit log.

Reading is a viewer's right; registering versions, updating them and moving them between
stages needs an editor (promotion is a write that production depends on: the server checks the
key's role, and the audit log records the key's account as the actor).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from bevel.metadata.records import (
    ModelArtifactLink,
    ModelRecord,
    ModelStage,
    ModelStageEvent,
    ModelVersionRecord,
)
from bevel.server.auth.guard import authorize
from bevel.server.auth.keys import EDITOR, VIEWER
from bevel.server.auth.store import Principal
from bevel.server.routes import LIMIT, OFFSET, Page, ok, page, route, state_of

router = APIRouter(tags=["models"])
_ALL = Query(1000, ge=1, le=1000, description="page size (at most 1000)")


class VersionUpdate(BaseModel):
    metadata: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    artifacts: list[ModelArtifactLink] = []


class StageMove(BaseModel):
    stage: ModelStage | None
    actor: str
    reason: str = ""
    at: datetime


@route(router, "GET", "/models", role=VIEWER, response_model=Page[ModelRecord])
def list_models(request: Request, limit: int = _ALL, offset: int = OFFSET) -> Response:
    """Every model with its version count, latest number and stage holders."""
    return page(state_of(request).store.list_models(), offset=offset, limit=limit)


@route(router, "POST", "/model-versions", role=EDITOR, response_model=ModelVersionRecord)
def create_model_version(version: ModelVersionRecord, request: Request) -> Response:
    """Register a version (numbered by the store; one per run and model)."""
    return ok(state_of(request).store.create_model_version(version))


@route(router, "POST", "/model-versions/{version_id}", role=EDITOR,
       response_model=ModelVersionRecord)  # fmt: skip
def update_model_version(version_id: str, body: VersionUpdate, request: Request) -> Response:
    """Merge metadata and metrics into a version and link artifacts."""
    store = state_of(request).store
    return ok(
        store.update_model_version(
            version_id, metadata=body.metadata, metrics=body.metrics,
            artifacts=tuple(body.artifacts),
        )
    )  # fmt: skip


@route(router, "GET", "/models/{model}/versions", role=VIEWER,
       response_model=Page[ModelVersionRecord])  # fmt: skip
def list_model_versions(
    model: str,
    request: Request,
    stage: ModelStage | None = None,
    limit: int = LIMIT,
    offset: int = OFFSET,
) -> Response:
    """Versions of a model, newest first."""
    found = state_of(request).store.list_model_versions(
        model, stage=stage, limit=limit + 1, offset=offset
    )
    return page(found, offset=offset, limit=limit, more=len(found) > limit)


@route(router, "GET", "/models/{model}/versions/{ref}", role=VIEWER,
       response_model=ModelVersionRecord)  # fmt: skip
def get_model_version(model: str, ref: str, request: Request) -> Response:
    """A version by number, name, ``latest`` or stage."""
    return ok(state_of(request).store.get_model_version(model, ref))


@route(router, "POST", "/models/{model}/versions/{number}/stage", role=EDITOR,
       response_model=list[ModelStageEvent])  # fmt: skip
def set_model_stage(
    model: str,
    number: int,
    body: StageMove,
    request: Request,
    principal: Annotated[Principal, Depends(authorize)],
) -> Response:
    """Move a version to a stage (the holder is archived); the audit entries written. With
    auth, the audit log names the key's account; the client's own name for itself is kept as a
    note (``"alice (client: run churn-12)"``), never as the actor."""
    state = state_of(request)
    actor = body.actor
    if state.auth is not None:
        claimed = body.actor.strip()
        actor = (
            principal.name
            if claimed in ("", principal.name)
            else (f"{principal.name} (client: {claimed})")
        )
    events = state.store.set_model_stage(
        model, number, body.stage, actor=actor, reason=body.reason, at=body.at
    )
    return ok(events)


@route(router, "GET", "/models/{model}/events", role=VIEWER,
       response_model=list[ModelStageEvent])  # fmt: skip
def model_events(model: str, request: Request, limit: int = Query(0, ge=0, le=100_000)) -> Response:
    """The audit log, oldest first (``limit``: only the newest entries)."""
    return ok(state_of(request).store.model_events(model, limit=limit))
