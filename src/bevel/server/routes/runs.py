"""Runs and step runs: everything a run writes, and the reads of one run."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bevel.errors import ConfigError
from bevel.metadata.base import RUN_SORTS, RunFilter, StepDetails, StepIO, check_run_sort
from bevel.metadata.records import (
    ArtifactRecord,
    MetricRecord,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepRunRecord,
)
from bevel.server.auth.keys import EDITOR, VIEWER
from bevel.server.routes import LIMIT, OFFSET, Page, ok, page, route, state_of
from bevel.server.schemas import (
    CacheAnswer,
    FinishRun,
    Heartbeat,
    IdList,
    Ids,
    PreviousAnswer,
    StaleRuns,
    Uris,
)

router = APIRouter(tags=["runs"])
_SORT_HELP = f"one of {', '.join(RUN_SORTS)}; - first: descending"
_BIG_LIMIT = Query(1000, ge=1, le=10_000, description="page size (at most 10000)")


@route(router, "POST", "/runs", role=EDITOR, status_code=201, response_model=RunRecord)
def create_run(run: RunRecord, request: Request) -> Response:
    """Record a new run (RUNNING). 400 if its name is taken."""
    return ok(state_of(request).store.create_run(run), 201)


@route(router, "GET", "/runs", role=VIEWER, response_model=Page[RunRecord])
def list_runs(
    request: Request,
    pipeline: str | None = Query(None, max_length=255),
    status: RunStatus | None = None,
    name: str | None = Query(None, max_length=255, description="part of the run name"),
    sort: str = Query("-created", max_length=40, description=_SORT_HELP),
    limit: int = LIMIT,
    offset: int = OFFSET,
) -> Response:
    """Runs, newest first unless ``sort`` says otherwise, filtered in the database (one
    query)."""
    check_run_sort(sort)
    flt = RunFilter(
        pipeline=pipeline, status=status, name=name, limit=limit + 1, offset=offset, sort=sort
    )
    runs = state_of(request).store.list_runs(flt)
    return page(runs, offset=offset, limit=limit, more=len(runs) > limit)


@route(router, "POST", "/runs/stale", role=EDITOR, response_model=IdList)
def mark_stale_runs(body: StaleRuns, request: Request) -> Response:
    """Mark RUNNING runs silent since ``older_than`` as failed (the reaper's write)."""
    ids = state_of(request).store.mark_stale_runs(
        body.older_than, run_ids=body.run_ids, reason=body.reason
    )
    return ok({"ids": ids})


@route(router, "GET", "/runs/{ref}", role=VIEWER, response_model=RunRecord)
def get_run(ref: str, request: Request) -> Response:
    """A run by id, unique id prefix (6+ characters) or name."""
    return ok(state_of(request).store.get_run(ref))


@route(router, "DELETE", "/runs/{run_id}", role=EDITOR, response_model=Uris)
def delete_run(run_id: str, request: Request, force: bool = False) -> Response:
    """Delete a run's records; the artifact uris nothing references any more."""
    return ok({"uris": state_of(request).store.delete_run(run_id, force=force)})


@route(router, "POST", "/runs/{run_id}/finish", role=EDITOR, status_code=204)
def finish_run(run_id: str, body: FinishRun, request: Request) -> Response:
    """End a RUNNING run (409 if it has ended already)."""
    state_of(request).store.finish_run(run_id, body.status, ended=body.ended, error=body.error)
    return ok(None, 204)


@route(router, "POST", "/runs/{run_id}/heartbeat", role=EDITOR, status_code=204)
def heartbeat(run_id: str, body: Heartbeat, request: Request) -> Response:
    """The run's driver is alive (409 once the run has ended)."""
    state_of(request).store.heartbeat(run_id, body.at)
    return ok(None, 204)


@route(router, "GET", "/runs/{run_id}/step-runs", role=VIEWER, response_model=Page[StepRunRecord])
def step_runs(
    run_id: str, request: Request, limit: int = _BIG_LIMIT, offset: int = OFFSET
) -> Response:
    """A run's step runs, in start order."""
    return page(state_of(request).store.step_runs(run_id), offset=offset, limit=limit)


@route(router, "GET", "/runs/{run_id}/step-io", role=VIEWER, response_model=StepIO)
def step_io(run_id: str, request: Request) -> Response:
    """Inputs and outputs of every step run of a run."""
    return ok(state_of(request).store.step_io(run_id))


@route(router, "GET", "/runs/{run_id}/metrics", role=VIEWER, response_model=Page[MetricRecord])
def metrics(
    run_id: str, request: Request, limit: int = _BIG_LIMIT, offset: int = OFFSET
) -> Response:
    """Every point of every metric of a run, in the order they were logged."""
    return page(state_of(request).store.metrics(run_id), offset=offset, limit=limit)


@route(router, "POST", "/step-runs", role=EDITOR, status_code=204)
def start_step_run(step_run: StepRunRecord, request: Request) -> Response:
    """Record a step run starting (RUNNING), only into a RUNNING run."""
    state_of(request).store.start_step_run(step_run)
    return ok(None, 204)


@route(
    router, "POST", "/step-runs/{step_run_id}/completion", role=EDITOR,
    response_model=list[ArtifactRecord],
)  # fmt: skip
def finish_step_run(step_run_id: str, completion: StepCompletion, request: Request) -> Response:
    """A step's whole outcome (status, outputs, lineage, metrics, metadata) in ONE transaction;
    the new artifacts with their versions."""
    if completion.step_run.id != step_run_id:
        raise ConfigError(
            f"the completion is for step run {completion.step_run.id!r}, not {step_run_id!r}"
        )
    return ok(state_of(request).store.finish_step_run(completion))


@route(router, "POST", "/step-runs/details", role=VIEWER, response_model=StepDetails)
def step_details(body: Ids, request: Request) -> Response:
    """Step runs with their inputs, outputs, metrics and pipelines (a read sent as POST: the
    ids may be many)."""
    return ok(state_of(request).store.step_details(body.ids))


@route(router, "GET", "/step-runs/{step_run_id}", role=VIEWER, response_model=StepRunRecord)
def get_step_run(step_run_id: str, request: Request) -> Response:
    return ok(state_of(request).store.get_step_run(step_run_id))


@route(router, "GET", "/cache/{cache_key}", role=VIEWER, response_model=CacheAnswer)
def find_cached(cache_key: str, request: Request) -> Response:
    """The newest completed step run with this cache key and its outputs (``hit`` null: none)."""
    return ok({"hit": state_of(request).store.find_cached(cache_key)})


@route(
    router, "GET", "/pipelines/{pipeline}/steps/{step_id}/previous", role=VIEWER,
    response_model=PreviousAnswer,
)  # fmt: skip
def previous_step_run(pipeline: str, step_id: str, before: datetime, request: Request) -> Response:
    """The latest completed or cached run of this step before ``before`` (``bevel runs
    explain`` compares against it)."""
    found = state_of(request).store.previous_step_run(pipeline, step_id, before)
    return ok({"step_run": found})
