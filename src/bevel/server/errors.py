"""How errors leave the server: a bevel error keeps its class, text and hint, with a status
code saying what the caller can do (404 not found, 409 a state that refuses it, 400 bad input,
401/403 access, 503 try again). Anything else is a bug: 500, with the traceback in the server's
log and not in the answer. Outside /api/, an app with ``app.state.page_error`` (the dashboard)
answers bevel errors with that instead: a login redirect or an HTML error page."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bevel.errors import (
    AccessDenied,
    BevelError,
    ConfigError,
    MetadataError,
    NotFound,
    StatusConflict,
    TransientError,
)
from bevel.metadata.rest.codec import encode_error

log = logging.getLogger("bevel.server")


def status_of(err: BevelError) -> int:
    if isinstance(err, AccessDenied):
        return err.status
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, StatusConflict):
        return 409
    if isinstance(err, TransientError):  # the database is restarting, locked...: retry
        return 503
    if isinstance(err, MetadataError):
        return 409
    if isinstance(err, ConfigError | ValueError):
        return 400
    return 400


def error_response(status: int, body: Mapping[str, object]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": dict(body)}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(BevelError)
    async def bevel_error(request: Request, err: BevelError) -> Response:
        # pages (the dashboard) answer in HTML: a login redirect, an error page
        page_error = getattr(request.app.state, "page_error", None)
        if page_error is not None and not request.url.path.startswith("/api/"):
            answer: Response = page_error(request, err, status_of(err))
            return answer
        return error_response(status_of(err), encode_error(err))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = []
        for item in err.errors()[:20]:
            where = ".".join(str(p) for p in item.get("loc", ()))
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        body = encode_error(ConfigError("invalid request: " + "; ".join(problems)))
        return error_response(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        kind = "NotFound" if err.status_code == 404 else "MetadataError"
        body = {"type": kind, "message": str(err.detail), "hint": None, "where": None}
        return error_response(err.status_code, body)

    @app.exception_handler(Exception)
    async def bug(request: Request, err: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=err)
        body = {
            "type": "MetadataError",
            "message": f"the bevel server failed on {request.method} {request.url.path} "
            f"({type(err).__name__}); its log has the details",
            "hint": None,
            "where": None,
        }
        return error_response(500, body)
