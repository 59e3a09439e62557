"""Health, version, who am I, and the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

import bevel
from bevel.metadata.sql.revision import HEAD
from bevel.server.auth.guard import COOKIE, authorize, presented_key
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


@route(router, "POST", "/session", role=VIEWER, response_model=WhoAmI)
def open_session(request: Request, principal: Annotated[Principal, Depends(authorize)]) -> Response:
    """Keep the presented key in an HttpOnly, SameSite=Strict cookie, so that the browser's
    pages (the dashboard) are authenticated without scripts ever holding the key."""
    answer = ok(principal)
    key = presented_key(request)
    if key and state_of(request).auth is not None:
        answer.set_cookie(
            COOKIE, key, httponly=True, samesite="strict", path="/",
            secure=request.url.scheme == "https", max_age=8 * 3600,
        )  # fmt: skip
    return answer


@route(router, "DELETE", "/session", role=VIEWER, status_code=204)
def close_session() -> Response:
    """Forget the session cookie (log out of the dashboard)."""
    answer = ok(None, 204)
    answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return answer


@route(router, "GET", "/openapi.json", role=VIEWER, include_in_schema=False)
def openapi(request: Request) -> Any:
    """The OpenAPI schema (behind auth like everything but health)."""
    return request.app.openapi()
