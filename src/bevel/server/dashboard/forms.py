"""Form posts from the dashboard's pages: the urlencoded body, and the same-origin check.

The session cookie is SameSite=Strict, so another site cannot make the browser send it with a
post; a post whose ``Origin`` names another site is refused anyway (defence in depth, and it
covers the login form, which has no cookie yet).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from bevel.errors import AccessDenied, ConfigError

MAX_FORM = 64 * 1024


async def form(request: Request) -> dict[str, list[str]]:
    """The posted form's fields (each a list: a field may repeat); refused from another origin."""
    same_origin(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ConfigError(f"expected a form post, got {kind or 'no content type'}")
    body = await request.body()
    if len(body) > MAX_FORM:
        raise ConfigError("the form is too large")
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        if referer is None:
            return  # a non-browser client (curl, tests): the cookie rules still apply
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(referer))
    ours = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    if origin.rstrip("/") != ours:
        raise AccessDenied(f"refusing a form posted from {origin} to {ours}", status=403)


def field(fields: dict[str, list[str]], name: str, default: str = "") -> str:
    values = fields.get(name)
    return values[0].strip() if values else default


def safe_next(target: str) -> str:
    """Where to go after login: a path on this site, never another site (``//evil``)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/runs"
    return target
