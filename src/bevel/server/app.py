"""The bevel server's app factory: ``create_app(config)`` -> a FastAPI app.

Layout (each piece its own module, so pages and endpoints can be added without touching the
others)::

    app.py            create_app: store, auth, middleware, error handlers, routers, reaper
    config.py         ServerConfig (the `bevel server start` options, checked)
    state.py          ServerState on app.state.bevel: config, SqlMetadataStore, AuthStore
    auth/             roles and keys, users and keys in the database, the guard
    security.py       headers (CSP...), request size limit, access log
    errors.py         bevel errors -> status codes + bodies the REST store turns back into errors
    routes/           one APIRouter per area under /api/v1, every route declaring its role
    reaper.py         records dead runs as failed, on a timer
    artifacts.py      reads visualizations from whichever artifact store holds them

A dashboard (or any other set of pages) is one more router: ``create_app(config,
routers=[(dashboard_router, "")])``, or ``app.include_router(...)`` on the app returned. Its
routes declare their role with :func:`bevel.server.routes.route` like the API's (the guard
refuses routes that do not), may set their own Content-Security-Policy header (the middleware
keeps it), and read the store through :func:`bevel.server.state.server_state`.

Example::

    app = create_app(ServerConfig(db_url="sqlite:///.bevel/metadata.db", auth=False))
    uvicorn.run(app, host="127.0.0.1", port=8237)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

import bevel
from bevel._dataclass import dataclass
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server import errors
from bevel.server.admin import ENV_ADMIN_KEY, admin_from_env
from bevel.server.artifacts import ArtifactReader
from bevel.server.auth.guard import ROLE_KEY, authorize
from bevel.server.auth.store import AuthStore
from bevel.server.config import ServerConfig
from bevel.server.reaper import Reaper
from bevel.server.routes import access, artifacts, definitions, meta, models, runs, viz
from bevel.server.security import SecurityMiddleware
from bevel.server.state import ServerState
from bevel.settings import load_settings

API_PREFIX = "/api/v1"
#: The API's routers, mounted under API_PREFIX.
ROUTERS: tuple[APIRouter, ...] = (
    meta.router,
    runs.router,
    artifacts.router,
    viz.router,
    definitions.router,
    models.router,
    access.router,
)


def create_app(
    config: ServerConfig,
    *,
    store: SqlMetadataStore | None = None,
    routers: Sequence[tuple[APIRouter, str]] = (),
) -> FastAPI:
    """The server's ASGI app over ``config.db_url`` (or ``store``); ``routers`` are more
    ``(router, prefix)`` pairs to mount (pages), guarded like the API."""
    config.check()
    store = store or SqlMetadataStore(config.db_url, name="server")
    env_key = os.environ.get(ENV_ADMIN_KEY)
    if config.auth and env_key:
        admin_from_env(store, env_key)
    reader = ArtifactReader(store, load_settings(create=False), config.artifact_roots)
    state = ServerState(
        config=config, store=store, auth=AuthStore(store) if config.auth else None, artifacts=reader
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reaper = Reaper(store, config.reap_every) if config.reap_every > 0 else None
        if reaper is not None:
            reaper.start()
        app.state.reaper = reaper
        try:
            yield
        finally:
            if reaper is not None:
                reaper.stop()
            store.close()

    app = FastAPI(
        title="bevel server",
        version=bevel.__version__,
        description="Runs, steps, artifacts, lineage, metrics and stack definitions of a bevel "
        "metadata store. Every endpoint but /api/v1/health needs an API key "
        "(`Authorization: Bearer bvl_...`); each declares the role it needs in x-bevel-role.",
        dependencies=[Depends(authorize)],
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served behind auth by routes.meta
    )
    app.state.bevel = state
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    for router, prefix in routers:
        app.include_router(router, prefix=prefix)
    _add_security_scheme(app)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityMiddleware, max_body=config.max_body, log_requests=config.access_log)
    return app


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    role: str | None  # None: declares none (the guard refuses it)


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every API route of ``app`` (method, full path, declared role), included routers
    flattened: what the role-enforcement tests walk."""
    found: list[RouteInfo] = []

    def walk(routes: Iterable[Any]) -> None:
        for route in routes:
            nested = getattr(route, "effective_candidates", None)  # FastAPI >= 0.16x
            if callable(nested):
                walk(nested())
                continue
            methods = getattr(route, "methods", None)
            if not methods or getattr(route, "endpoint", None) is None:
                continue
            extra = getattr(route, "openapi_extra", None) or {}
            for method in sorted(methods - {"HEAD"}):
                found.append(RouteInfo(method, route.path, extra.get(ROLE_KEY)))

    walk(app.routes)
    return found


def _add_security_scheme(app: FastAPI) -> None:
    """Declare the bearer key in the OpenAPI schema (clients and fuzzers read it there)."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = original()
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {})["apiKey"] = {
                "type": "http", "scheme": "bearer", "description": "a bevel API key (bvl_...)",
            }  # fmt: skip
            schema["security"] = [{"apiKey": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
