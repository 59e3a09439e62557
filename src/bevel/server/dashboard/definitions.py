"""``/pipelines`` and ``/stacks``: what has run, and what it runs on.

Pipelines: each with its run count, last run and a strip of its latest runs' statuses (one
page query per pipeline: teams have tens of pipelines, not thousands). Stacks and components:
every stack with the component chosen for each type, and every component's flavor and
settings with credentials masked (``{{secret.key}}`` references shown, literal and sealed
credentials as ``***``, by :func:`bevel.stack.portable.masked`), plus the stacks that use it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bevel.metadata.base import RunFilter
from bevel.server.auth.keys import VIEWER
from bevel.server.dashboard.render import html
from bevel.server.routes import route, state_of
from bevel.settings import load_settings
from bevel.stack.definitions import Definitions
from bevel.stack.portable import masked

router = APIRouter(tags=["dashboard"], include_in_schema=False)
STRIP = 12  # latest runs shown per pipeline


@route(router, "GET", "/pipelines", role=VIEWER)
def pipelines_page(request: Request) -> Response:
    store = state_of(request).store
    pipelines = store.list_pipelines()
    recent = {p.name: store.list_runs(RunFilter(pipeline=p.name, limit=STRIP)) for p in pipelines}
    return html(request, "pipelines.html", pipelines=pipelines, recent=recent)


@route(router, "GET", "/stacks", role=VIEWER)
def stacks_page(request: Request) -> Response:
    state = state_of(request)
    defs = Definitions(load_settings(create=False), store=state.store)
    stacks = defs.list_stacks()
    components = defs.list_components()
    users: dict[str, list[str]] = {}
    for stack in stacks:
        for name in stack.components.values():
            users.setdefault(name, []).append(stack.name)
    shown = [(c, masked(c), sorted(users.get(c.name, []))) for c in components]
    return html(request, "stacks.html", stacks=stacks, components=shown,
                builtins=set(defs.builtins))  # fmt: skip
