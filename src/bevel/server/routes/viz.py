"""Artifact visualizations, served so that hostile HTML cannot script the server's origin.

An HTML (or SVG) visualization is answered with ``Content-Security-Policy: sandbox
allow-scripts; ...``: even opened directly, the document runs in an opaque origin (no
``allow-same-origin``), so its scripts cannot read the dashboard's cookies or storage, or call
the API as the user; it may only use inline scripts and styles and data: images, and loads
nothing from the network. Pages embed it in ``<iframe sandbox="allow-scripts">`` too. Markdown
is sent as text for the page to render; other files as downloads.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bevel.errors import NotFound
from bevel.server.auth.keys import VIEWER
from bevel.server.routes import route, state_of

router = APIRouter(tags=["artifacts"])

VIZ_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:; frame-ancestors 'self'"
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".json": "application/json",
}


@route(
    router, "GET", "/artifacts/{ref}/visualizations/{name}", role=VIEWER,
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "text/markdown": {}, "image/png": {}}}},
)  # fmt: skip
def visualization(ref: str, name: str, request: Request) -> Response:
    """One visualization of an artifact (its names are in the artifact's ``visualizations``),
    read from the artifact store that holds it."""
    state = state_of(request)
    artifact = state.store.get_artifact(ref)
    uri = artifact.visualizations.get(name)
    if uri is None:
        known = ", ".join(sorted(artifact.visualizations)) or "none"
        raise NotFound(
            f"artifact {artifact.name}:{artifact.version} has no visualization {name!r}",
            hint=f"its visualizations: {known}",
        )
    data = state.artifacts.read(uri)
    ext = "." + uri.rsplit(".", 1)[-1].lower() if "." in uri.rsplit("/", 1)[-1] else ""
    media = _TYPES.get(ext, "application/octet-stream")
    headers = {"Content-Security-Policy": VIZ_CSP, "X-Frame-Options": "SAMEORIGIN",
               "Cache-Control": "private, max-age=3600"}  # fmt: skip
    if media == "application/octet-stream":
        headers["Content-Disposition"] = "attachment"
    return Response(data, media_type=media, headers=headers)
