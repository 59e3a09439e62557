"""The web dashboard: server-rendered pages (Jinja2) over the server's store, with htmx for
navigation and three small ES-module islands (the DAG, metric charts, the log tail).

Layout::

    render.py    the Jinja2 environment, filters, the page CSP, ETag answers
    static.py    /static/...: the package's CSS, JS and vendored files (vendor/MANIFEST.json)
    login.py     /login, /logout: an API key kept in the HttpOnly session cookie
    views.py     what the pages show, shaped from records (counts, DAG nodes, durations)
    runs.py      /runs: the runs list (filters, sort and pages in SQL; live status)
    run.py       /runs/{ref}: a run, its DAG, a step's panel, logs
    compare.py   /compare?runs=...: 2-10 runs side by side, metric charts
    artifacts.py /artifacts/{ref}: an artifact, its sandboxed visualizations, lineage
    models.py    /models: versions, stages, the audit log; promotion (editors)
    definitions.py  /pipelines (latest statuses), /stacks (components, credentials masked)
    templates/   the pages and their fragments
    static/      app.css, js/*.js (our islands), vendor/ (htmx, dagre, uPlot + licences)

Every route declares its role like the API's (viewer for pages, editor for writes), so the
server's guard checks it; an unauthenticated page request is sent to /login instead of
answered with JSON (:func:`page_error`). Pages carry :data:`bevel.server.dashboard.render.PAGE_CSP`:
scripts and styles only from this origin, no inline code.

Use :func:`create_dashboard_app` (what ``bevel server start`` and ``bevel dashboard`` run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

    from bevel.metadata.sql.store import SqlMetadataStore
    from bevel.server.config import ServerConfig


def dashboard_routers() -> list[tuple[APIRouter, str]]:
    """The dashboard's routers, for ``create_app(config, routers=...)``."""
    from bevel.server.dashboard import (
        artifacts,
        compare,
        definitions,
        login,
        models,
        run,
        runs,
        static,
    )

    modules = (static, login, runs, run, compare, artifacts, models, definitions)
    return [(m.router, "") for m in modules]


def create_dashboard_app(config: ServerConfig, *, store: SqlMetadataStore | None = None) -> FastAPI:
    """The server's app with the dashboard mounted at ``/`` (the API stays under /api/v1)."""
    from bevel.server.app import create_app
    from bevel.server.dashboard.render import page_error

    app = create_app(config, store=store, routers=dashboard_routers())
    app.state.page_error = page_error
    return app
