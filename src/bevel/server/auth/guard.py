"""The app-wide dependency that authenticates every request and checks the route's role.

Fail closed: a route that declares no role is refused to everyone (``tests/server`` also walks
the route table and calls every endpoint with no key, a viewer's, a revoked and an expired
one). Keys come in ``Authorization: Bearer <key>`` (the REST store, curl) or, for the
dashboard's pages, the ``bevel_api_key`` cookie (HttpOnly, SameSite=Strict). Keys are never
accepted in a query string, where proxies and access logs would keep them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from bevel.errors import AccessDenied
from bevel.server.auth import keys
from bevel.server.auth.store import Principal
from bevel.server.state import server_state

ROLE_KEY = "x-bevel-role"
COOKIE = "bevel_api_key"
#: Who a server started with ``--no-auth`` (loopback only) takes every request to be from.
ANONYMOUS = Principal("anonymous", keys.ADMIN, "user", None)
_NOBODY = Principal("public", keys.VIEWER, "user", None)


def route_role(request: Request) -> str | None:
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    role = extra.get(ROLE_KEY)
    return role if isinstance(role, str) else None


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def authorize(request: Request) -> Principal:
    """Who is calling, if they may call this route; else AccessDenied (401 or 403)."""
    needed = route_role(request)
    if needed is None or (needed != keys.PUBLIC and needed not in keys.ROLES):
        raise AccessDenied(
            f"{request.method} {request.url.path} declares no role, so nobody may call it",
            status=403,
            hint="a server bug: every route must declare the role it needs",
        )
    if needed == keys.PUBLIC:
        return _NOBODY
    state = server_state(request)
    if state.auth is None:
        request.state.principal = ANONYMOUS
        return ANONYMOUS
    key = presented_key(request)
    if key is None:
        raise AccessDenied("no API key was sent", status=401)
    principal, why = state.auth.authenticate(key, now=datetime.now(UTC))
    if principal is None:
        raise AccessDenied(why, status=401)
    if not keys.allows(principal.role, needed):
        raise AccessDenied(
            f"{principal.name!r} has the role {principal.role}, and "
            f"{request.method} {request.url.path} needs {needed}",
            status=403,
        )
    request.state.principal = principal
    return principal
