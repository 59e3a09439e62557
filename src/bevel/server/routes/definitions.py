"""Stack components, stacks and secrets: the definitions the server keeps for its users.

Reading components and stacks is a viewer's right; writing them, and reading secrets (opaque
Fernet blobs, which the client decrypts with the team's key) needs an editor, since building a
stack to run on needs them.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bevel.errors import ConfigError
from bevel.metadata.records import ComponentRecord, SecretRecord, StackRecord
from bevel.server.auth.keys import EDITOR, VIEWER
from bevel.server.routes import LIMIT, OFFSET, Page, ok, page, route, state_of
from bevel.server.schemas import ComponentConfig, NewStack

router = APIRouter(tags=["definitions"])
_ALL = Query(1000, ge=1, le=1000, description="page size (at most 1000)")


@route(router, "GET", "/components", role=VIEWER, response_model=Page[ComponentRecord])
def list_components(
    request: Request,
    type: str | None = Query(None, max_length=32),
    limit: int = _ALL,
    offset: int = OFFSET,
) -> Response:
    return page(state_of(request).store.list_components(type), offset=offset, limit=limit)


@route(router, "POST", "/components", role=EDITOR, response_model=ComponentRecord)
def create_component(
    component: ComponentRecord, request: Request, replace: bool = False
) -> Response:
    return ok(state_of(request).store.create_component(component, replace=replace))


@route(router, "GET", "/components/{name}", role=VIEWER, response_model=ComponentRecord)
def get_component(name: str, request: Request) -> Response:
    return ok(state_of(request).store.get_component(name))


@route(router, "PUT", "/components/{name}/config", role=EDITOR, response_model=ComponentRecord)
def update_component(name: str, body: ComponentConfig, request: Request) -> Response:
    store = state_of(request).store
    return ok(store.update_component(name, body.config, updated=body.updated))


@route(router, "DELETE", "/components/{name}", role=EDITOR, status_code=204)
def delete_component(name: str, request: Request) -> Response:
    state_of(request).store.delete_component(name)
    return ok(None, 204)


@route(router, "GET", "/components/{name}/stacks", role=VIEWER, response_model=list[str])
def stacks_using(name: str, request: Request) -> Response:
    return ok(state_of(request).store.stacks_using(name))


@route(router, "GET", "/stacks", role=VIEWER, response_model=Page[StackRecord])
def list_stacks(request: Request, limit: int = _ALL, offset: int = OFFSET) -> Response:
    return page(state_of(request).store.list_stacks(), offset=offset, limit=limit)


@route(router, "POST", "/stacks", role=EDITOR, response_model=StackRecord)
def create_stack(body: NewStack, request: Request, replace: bool = False) -> Response:
    store = state_of(request).store
    return ok(store.create_stack(body.stack, replace=replace, require=body.require))


@route(router, "GET", "/stacks/{name}", role=VIEWER, response_model=StackRecord)
def get_stack(name: str, request: Request) -> Response:
    return ok(state_of(request).store.get_stack(name))


@route(router, "DELETE", "/stacks/{name}", role=EDITOR, status_code=204)
def delete_stack(name: str, request: Request) -> Response:
    state_of(request).store.delete_stack(name)
    return ok(None, 204)


@route(router, "GET", "/secrets", role=EDITOR, response_model=Page[SecretRecord])
def list_secrets(request: Request, limit: int = LIMIT, offset: int = OFFSET) -> Response:
    return page(state_of(request).store.list_secrets(), offset=offset, limit=limit)


@route(router, "PUT", "/secrets/{name}", role=EDITOR, status_code=204)
def put_secret(
    name: str, secret: SecretRecord, request: Request, replace: bool = False
) -> Response:
    if secret.name != name:
        raise ConfigError(f"the secret in the body is {secret.name!r}, not {name!r}")
    state_of(request).store.put_secret(secret, replace=replace)
    return ok(None, 204)


@route(router, "GET", "/secrets/{name}", role=EDITOR, response_model=SecretRecord)
def get_secret(name: str, request: Request) -> Response:
    return ok(state_of(request).store.get_secret(name))


@route(router, "DELETE", "/secrets/{name}", role=EDITOR, status_code=204)
def delete_secret(name: str, request: Request) -> Response:
    state_of(request).store.delete_secret(name)
    return ok(None, 204)
