"""``/static/...``: the dashboard's own CSS and JS and the vendored files, from the package.

Only files that exist in ``static/`` are served (the name is looked up in a table built from
the folder, so no path from a request ever reaches the file system). Each answer has an ETag
(its sha256); a URL made by :func:`static_url` carries ``?v=<hash>`` and is cached for a year,
since a new file gets a new URL. Anyone may fetch them (``public``): they hold no data.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bevel.errors import NotFound
from bevel.server.auth.keys import PUBLIC
from bevel.server.routes import route

router = APIRouter(tags=["dashboard"], include_in_schema=False)
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}


@cache
def files() -> dict[str, tuple[bytes, str]]:
    """Relative path -> (bytes, sha256) of every file under static/."""
    found: dict[str, tuple[bytes, str]] = {}
    root = resources.files("bevel.server.dashboard") / "static"

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.is_file():
                data = entry.read_bytes()
                found[prefix + entry.name] = (data, hashlib.sha256(data).hexdigest())

    walk(root, "")
    return found


def static_url(path: str) -> str:
    """``/static/<path>?v=<hash>`` (KeyError for a file the package does not ship)."""
    return f"/static/{path}?v={files()[path][1][:12]}"


@route(router, "GET", "/static/{path:path}", role=PUBLIC)
async def static_file(path: str, request: Request) -> Response:
    # async: the bytes are in memory, so no hop to the thread pool (these are on the page's
    # critical path: the stylesheet blocks its first paint)
    found = files().get(path)
    ext = "." + path.rsplit(".", 1)[-1] if "." in path else ""
    if found is None or ext not in _TYPES:
        raise NotFound(f"no dashboard file {path!r}")
    data, digest = found
    tag = f'"{digest[:32]}"'
    versioned = request.query_params.get("v") == digest[:12]
    headers = {
        "ETag": tag,
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "no-cache",
    }
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=_TYPES[ext], headers=headers)
