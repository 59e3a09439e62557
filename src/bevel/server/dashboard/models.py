"""``/models`` and ``/models/{name}``: the model registry. Every model with its latest version
and stage holders; a model's versions (stage, metrics, the run that built it, linked
artifacts) and its append-only audit log (who moved which version from where to where, when,
why). Editors move versions between stages from the page; the POST is an editor route, so the
server's guard refuses a viewer whatever the page shows (the form is not even drawn for one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bevel.errors import ConfigError, NotFound
from bevel.metadata.records import ModelStage
from bevel.server.auth.keys import EDITOR, VIEWER, allows
from bevel.server.dashboard.forms import field, form
from bevel.server.dashboard.render import html
from bevel.server.routes import route, state_of

router = APIRouter(tags=["dashboard"], include_in_schema=False)
NONE = "none"  # the form's value for "out of every stage"


@route(router, "GET", "/models", role=VIEWER)
def models_page(request: Request) -> Response:
    return html(request, "models.html", models=state_of(request).store.list_models())


@route(router, "GET", "/models/{name}", role=VIEWER)
def model_page(request: Request, name: str) -> Response:
    store = state_of(request).store
    versions = store.list_model_versions(name, limit=0)
    record = next((m for m in store.list_models() if m.name == name), None)
    if record is None:
        raise NotFound(f"no model {name!r}", hint="the models page lists them: /models")
    events = list(reversed(store.model_events(name)))  # newest first
    runs = {}
    for v in versions:
        if v.run_id and v.run_id not in runs:
            try:
                runs[v.run_id] = store.get_run(v.run_id).name
            except NotFound:  # a deleted run: shown as its id
                runs[v.run_id] = v.run_id[:8]
    principal = getattr(request.state, "principal", None)
    can_edit = principal is not None and allows(principal.role, EDITOR)
    keys = sorted({k for v in versions for k in v.metrics})
    return html(
        request, "model.html", model=record, versions=versions, events=events, runs=runs,
        metric_keys=keys, can_edit=can_edit, stages=[s.value for s in ModelStage], none=NONE,
        done=request.query_params.get("moved"),
    )  # fmt: skip


@route(router, "POST", "/models/{name}/versions/{number}/stage", role=EDITOR)
async def move_stage(request: Request, name: str, number: int) -> Response:
    """Move a version to a stage (an editor's form post); the audit log names the account."""
    from starlette.concurrency import run_in_threadpool

    fields = await form(request)
    wanted = field(fields, "stage")
    if wanted != NONE and wanted not in {s.value for s in ModelStage}:
        raise ConfigError(
            f"unknown stage {wanted!r}",
            hint=f"one of {', '.join(s.value for s in ModelStage)}, or {NONE}",
        )
    stage = None if wanted == NONE else ModelStage(wanted)
    reason = field(fields, "reason")[:500]
    state = state_of(request)
    principal = getattr(request.state, "principal", None)
    actor = principal.name if state.auth is not None and principal else "dashboard (local)"
    await run_in_threadpool(
        state.store.set_model_stage, name, number, stage,
        actor=actor, reason=reason, at=datetime.now(UTC),
    )  # fmt: skip
    return RedirectResponse(f"/models/{quote(name, safe='')}?moved={number}", status_code=303)
