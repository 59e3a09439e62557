"""Middleware every response goes through: security headers, the request size limit, the
access log.

- Headers: a restrictive Content-Security-Policy on every response (``default-src 'none'`` for
  the API; a page or a visualization sets its own, which is then kept), ``nosniff``, no
  referrer, no framing by other sites.
- Size: a body larger than ``max_body`` is refused with 413, whether its Content-Length says so
  up front or a chunked body grows past it; the server never buffers more than the limit.
- Access log (logger ``bevel.server.access``): method, path (never the query string), status,
  who, milliseconds. Keys are never logged: they travel in a header or a cookie, neither of
  which is logged, and a ``?api_key=`` query is not accepted anywhere.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
}
access_log = logging.getLogger("bevel.server.access")


class SecurityMiddleware:
    """Security headers, the body size limit and the access log, as one ASGI middleware."""

    def __init__(self, app: ASGIApp, *, max_body: int, log_requests: bool = True) -> None:
        self.app = app
        self.max_body = max_body
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _refuse(send, 413, f"the request body ({declared} bytes) is larger than "
                          f"this server accepts ({self.max_body} bytes)")  # fmt: skip
            self._log(scope, 413, started)
            return
        seen = 0
        status = 500
        sent_start = False
        refused = False

        async def limited_receive() -> Message:
            # Past the limit: answer 413 at once and tell the app the client left, so it stops
            # reading (raising here would reach the app as a body it could not parse: a 400).
            nonlocal seen, refused, status
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body and not sent_start:
                    refused, status = True, 413
                    await _refuse(send, 413, f"the request body is larger than this server "
                                  f"accepts ({self.max_body} bytes)")  # fmt: skip
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status, sent_start
            if refused:
                return  # the 413 has been sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                sent_start = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", API_CSP.encode()))
                if b"x-frame-options" not in present:
                    headers.append((b"x-frame-options", b"DENY"))
                headers.extend((k, v) for k, v in _HEADERS.items() if k not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception:
            if not refused:
                raise
        finally:
            self._log(scope, status, started)

    def _log(self, scope: Scope, status: int, started: float) -> None:
        if not self.log_requests:
            return
        state = scope.get("state") or {}
        principal = state.get("principal") if isinstance(state, dict) else None
        who = getattr(principal, "name", "-")
        access_log.info(
            "%s %s %d %s %.1fms", scope.get("method"), scope.get("path"), status, who,
            (time.perf_counter() - started) * 1000,
        )  # fmt: skip


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": {"type": "ConfigError", "message": message, "hint": None,
                                 "where": None}}).encode()  # fmt: skip
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"content-security-policy", API_CSP.encode()), (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
