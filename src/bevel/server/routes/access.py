"""Users, service accounts and API keys: an admin's business."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from bevel.errors import ConfigError
from bevel.server.auth.keys import ADMIN, ROLES
from bevel.server.auth.store import ApiKeyRecord, AuthStore, UserRecord
from bevel.server.routes import LIMIT, OFFSET, Page, ok, page, route, state_of

router = APIRouter(tags=["access"])


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    kind: str = Field("user", description="user or service (an account for a CI job, a bot)")


class UserChange(BaseModel):
    role: str | None = None
    disabled: bool | None = None


class NewKey(BaseModel):
    user: str = Field(min_length=1, max_length=80)
    label: str = Field("", max_length=255)
    expires_in_days: float | None = Field(90, gt=0, le=3650, description="null: never")


class CreatedKey(BaseModel):
    key: str = Field(description="the API key: shown this once, stored only hashed")
    record: ApiKeyRecord


def _auth(request: Request) -> AuthStore:
    auth = state_of(request).auth
    if auth is None:
        raise ConfigError(
            "this server runs without auth (--no-auth): it has no users or keys",
            hint="start it with auth (bevel server init-admin, then bevel server start)",
        )
    return auth


@route(router, "GET", "/users", role=ADMIN, response_model=Page[UserRecord])
def list_users(request: Request, limit: int = LIMIT, offset: int = OFFSET) -> Response:
    return page(_auth(request).list_users(), offset=offset, limit=limit)


@route(router, "POST", "/users", role=ADMIN, status_code=201, response_model=UserRecord)
def create_user(body: NewUser, request: Request) -> Response:
    user = _auth(request).create_user(
        body.name, role=body.role, kind=body.kind, now=datetime.now(UTC)
    )
    return ok(user, 201)


@route(router, "PATCH", "/users/{name}", role=ADMIN, response_model=UserRecord)
def update_user(name: str, body: UserChange, request: Request) -> Response:
    disabled: datetime | bool | None = False
    if body.disabled is not None:
        disabled = datetime.now(UTC) if body.disabled else None
    return ok(_auth(request).update_user(name, role=body.role, disabled=disabled))


@route(router, "GET", "/api-keys", role=ADMIN, response_model=Page[ApiKeyRecord])
def list_keys(
    request: Request,
    user: str | None = Query(None, max_length=80),
    limit: int = LIMIT,
    offset: int = OFFSET,
) -> Response:
    return page(_auth(request).list_keys(user), offset=offset, limit=limit)


@route(router, "POST", "/api-keys", role=ADMIN, status_code=201, response_model=CreatedKey)
def create_key(body: NewKey, request: Request) -> Response:
    now = datetime.now(UTC)
    expires = None if body.expires_in_days is None else now + timedelta(days=body.expires_in_days)
    key, record = _auth(request).create_key(body.user, label=body.label, now=now, expires=expires)
    return ok({"key": key, "record": record}, 201)


@route(router, "DELETE", "/api-keys/{key_id}", role=ADMIN, response_model=ApiKeyRecord)
def revoke_key(key_id: str, request: Request) -> Response:
    """Revoke a key: the next request with it is refused."""
    return ok(_auth(request).revoke_key(key_id, now=datetime.now(UTC)))
