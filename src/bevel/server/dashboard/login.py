"""``/login`` and ``/logout``: the dashboard's session is an API key in the HttpOnly,
SameSite=Strict ``bevel_api_key`` cookie (the one the guard reads), set after the key is
checked; scripts never see it. A server without auth (``bevel dashboard``) needs no login."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bevel.server.auth.guard import COOKIE
from bevel.server.auth.keys import PUBLIC
from bevel.server.dashboard.forms import field, form, safe_next, same_origin
from bevel.server.dashboard.render import html
from bevel.server.routes import route, state_of

router = APIRouter(tags=["dashboard"], include_in_schema=False)
SESSION_S = 8 * 3600


@route(router, "GET", "/login", role=PUBLIC)
def login_page(request: Request, next: str = "/runs") -> Response:
    if state_of(request).auth is None:
        return RedirectResponse(safe_next(next), status_code=303)
    return html(request, "login.html", next=safe_next(next), problem=None)


@route(router, "POST", "/login", role=PUBLIC)
async def login(request: Request) -> Response:
    fields = await form(request)
    target = safe_next(field(fields, "next", "/runs"))
    auth = state_of(request).auth
    if auth is None:
        return RedirectResponse(target, status_code=303)
    key = field(fields, "key")
    principal, why = await run_in_threadpool(auth.authenticate, key, now=datetime.now(UTC))
    if principal is None:
        return html(request, "login.html", status=401, next=target, problem=why)
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        COOKIE, key, httponly=True, samesite="strict", path="/", max_age=SESSION_S,
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return answer


@route(router, "POST", "/logout", role=PUBLIC)
def logout(request: Request) -> Response:
    same_origin(request)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return answer
