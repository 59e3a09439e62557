"""Rendering pages: the Jinja2 environment (autoescaped), display filters, the page CSP, and
answers with an ETag (a poll that finds nothing new gets 304 and no body)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import bevel
from bevel.client.format import duration
from bevel.errors import BevelError
from bevel.metadata.rest.codec import encode

if TYPE_CHECKING:
    import jinja2

#: Pages load scripts, styles and images from this origin only; no inline script or style
#: (the islands are ES modules, data travels in <script type="application/json">);
#: visualizations are framed from this origin in sandboxed iframes; nothing frames the pages.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"}


@cache
def environment() -> jinja2.Environment:
    import jinja2

    from bevel.server.dashboard.static import static_url

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bevel.server.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(duration=duration, when=when, short=short_id, compact=compact, number=number)
    env.globals.update(static=static_url, version=bevel.__version__, qs=query_string)
    return env


def html(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context``; a request from htmx (``HX-Request``) for a page
    that has a fragment gets the fragment only (``context["fragment"]``)."""
    name = template
    fragment = context.pop("fragment", None)
    headers = request.headers
    if (
        fragment
        and headers.get("hx-request")
        and not (headers.get("hx-boosted") or headers.get("hx-history-restore-request"))
    ):
        name = fragment
    principal = getattr(request.state, "principal", None)
    state = request.app.state.bevel
    body = environment().get_template(name).render(
        request=request, path=request.url.path, user=principal,
        auth=state.auth is not None, **context,
    )  # fmt: skip
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def json_etag(request: Request, value: Any) -> Response:
    """``value`` as JSON with a strong ETag; 304 when the client already has it."""
    body = json.dumps(encode(value), separators=(",", ":"), sort_keys=True).encode()
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def page_error(request: Request, err: BevelError, status: int) -> Response:
    """A bevel error on a page: to /login when no (valid) key was presented, else an error
    page saying what went wrong and the hint (the API answers JSON instead)."""
    if status == 401 and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return html(request, "error.html", status=status, error=err, status_code=status)


# --- filters -------------------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    """A time as ``2024-05-01 12:00:03`` UTC (the title attribute carries the ISO form)."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def short_id(value: str | None) -> str:
    return (value or "")[:8]


def compact(value: Any, limit: int = 120) -> str:
    """A JSON value on one line, cut at ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(encode(value), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def query_string(base: dict[str, Any], **changes: Any) -> str:
    """``base`` (the page's query) with ``changes``, empty values dropped: ``?a=1&b=2``."""
    merged = {**base, **changes}
    pairs = [(k, v) for k, v in merged.items() if v not in (None, "", [])]
    return "?" + urlencode(pairs, doseq=True) if pairs else "?"
