"""Raw HTTP for the server tests (status, headers and body of any answer, errors included)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def send(
    url: str,
    method: str = "GET",
    *,
    key: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """``(status, headers, decoded JSON body or the text)``."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _LOCAL.open(request, timeout=30) as response:
            status, head, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        status, head, payload = err.code, dict(err.headers), err.read()
    try:
        decoded: Any = json.loads(payload) if payload else None
    except ValueError:
        decoded = payload.decode(errors="replace")
    return status, {k.lower(): v for k, v in head.items()}, decoded
