"""The REST API's routers, one module per area, all under ``/api/v1``.

Every route is declared with :func:`route`, which records the role it needs where the guard
(:mod:`bevel.server.auth.guard`) and the OpenAPI schema (``x-bevel-role``) see it. Handlers are
plain ``def`` functions (FastAPI runs them in its thread pool: the store is synchronous) that
return :func:`ok`, a JSON response written with the REST store's codec: the declared
``response_model`` documents the shape in the schema without a second serialisation.

Adding a module: write an ``APIRouter``, declare each route with :func:`route`, and list it in
:data:`bevel.server.app.ROUTERS` (or pass it to ``create_app(routers=...)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from bevel.metadata.rest.codec import encode
from bevel.server.auth.guard import ROLE_KEY
from bevel.server.state import ServerState, server_state

T = TypeVar("T")
MAX_PAGE = 1000


def route(
    router: APIRouter, method: str, path: str, *, role: str, **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@route(router, "GET", "/runs", role="viewer", response_model=...)``."""
    extra = {**kwargs.pop("openapi_extra", {}), ROLE_KEY: role}
    return router.api_route(path, methods=[method], openapi_extra=extra, **kwargs)


def ok(value: Any, status: int = 200) -> Response:
    """``value`` (records, lists, dicts of them) as JSON."""
    if status == 204:
        return Response(status_code=204)
    body = json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)
    return Response(body.encode(), status_code=status, media_type="application/json")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``next_offset`` is where the next page starts (null: the last)."""

    items: list[T]
    next_offset: int | None = None


def page(items: Sequence[Any], *, offset: int, limit: int, more: bool | None = None) -> Response:
    """A page of ``items``: either the whole list sliced here (``more`` None), or a page the
    store already cut (``more``: whether one item beyond it was found)."""
    if more is None:
        chunk = list(items[offset : offset + limit])
        more = offset + limit < len(items)
    else:
        chunk = list(items[:limit])
    nxt = offset + len(chunk) if more else None
    return ok({"items": chunk, "next_offset": nxt})


LIMIT = Query(50, ge=1, le=MAX_PAGE, description="page size (at most 1000)")
OFFSET = Query(0, ge=0, le=10**9, description="where the page starts")


def state_of(request: Request) -> ServerState:
    return server_state(request)
