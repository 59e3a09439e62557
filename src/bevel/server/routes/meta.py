"""Health, version, who am I, and the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

import bevel
from bevel.metadata.sql.revision import HEAD
from bevel.server.auth.guard import authorize
from bevel.server.auth.keys import PUBLIC, VIEWER
from bevel.server.auth.store import Principal
from bevel.server.routes import ok, route, state_of

router = APIRouter(tags=["server"])
API_VERSION = "v1"


class Health(BaseModel):
    status: str


class Version(BaseModel):
    bevel: str
    api: str
    schema_revision: str
    auth: bool


class WhoAmI(BaseModel):
    name: str
    role: str
    kind: str
    key_id: str | None = None


@route(router, "GET", "/health", role=PUBLIC, response_model=Health)
def health() -> Response:
    """Whether the server answers (no auth, nothing about the data)."""
    return ok({"status": "ok"})


@route(router, "GET", "/version", role=VIEWER, response_model=Version)
def version(request: Request) -> Response:
    """The server's bevel version, API version, database schema revision and auth mode."""
    auth = state_of(request).auth is not None
    return ok({"bevel": bevel.__version__, "api": API_VERSION, "schema_revision": HEAD,
               "auth": auth})  # fmt: skip


@route(router, "GET", "/whoami", role=VIEWER, response_model=WhoAmI)
def whoami(principal: Annotated[Principal, Depends(authorize)]) -> Response:
    """The account the presented key belongs to (``bevel login`` checks a key with it)."""
    return ok(principal)


@route(router, "GET", "/openapi.json", role=VIEWER, include_in_schema=False)
def openapi(request: Request) -> Any:
    """The OpenAPI schema (behind auth like everything but health)."""
    return request.app.openapi()
