"""HTTP/1.1 to a bevel server with the standard library: kept-alive connections, JSON, errors.

Why not httpx or requests: the REST store is on the run path of every worker, and ``http.client``
costs a few milliseconds to import where httpx costs ~60 ms. Each thread keeps its own
connection (``http.client`` connections are not thread-safe), reused request after request.

Failures are sorted by what the caller can do:

- the connection was refused, dropped or timed out, or the server (or a proxy) answered 429,
  502, 503 or 504: :class:`~bevel.errors.ServerUnavailable` (try again later; step retries do);
- 401 / 403: :class:`~bevel.errors.AccessDenied`, whose hint says how to log in or which role
  is needed;
- any other error status carries a bevel error in its body, raised again here as the same class
  (NotFound, StatusConflict, ConfigError...).

A request on a kept-alive connection that the server closed meanwhile (idle timeout) is sent once
more on a fresh connection: the server never saw it, so this cannot apply a write twice.
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

from bevel.errors import AccessDenied, ConfigError, MetadataError, ServerUnavailable
from bevel.metadata.rest.codec import decode_error

API = "/api/v1"
_RETRY_STATUSES = {429, 502, 503, 504}
# The server closed an idle kept-alive connection before reading the request.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class Transport:
    """JSON requests to ``base_url`` (``http://host:port``, optionally with a path prefix)."""

    def __init__(self, base_url: str, *, api_key: str | None, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"{_without_userinfo(base_url)!r} is not a bevel server URL",
                hint="give it as http://host:port (https:// behind a TLS proxy)",
            )
        if parts.username is not None or parts.password is not None:
            # Never used for authentication, and it would be printed in every error.
            bare = _without_userinfo(base_url)
            raise ConfigError(
                f"the bevel server URL {bare} carries a user and password; bevel servers "
                "authenticate with API keys, not with credentials in the URL",
                hint=f"use the URL without them ({bare}) and log in with `bevel login {bare}` "
                "(an API key from your admin), or set $BEVEL_API_KEY",
            )
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._local = threading.local()
        self.requests = 0  # how many requests were sent (tests count them)

    # --- connections ------------------------------------------------------------------------

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self._timeout)
        self._local.conn = conn
        return conn, False

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        self._drop()

    # --- requests ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        what: str,
    ) -> Any:
        """Send one request; the decoded JSON answer (None for 204). ``what`` names the action
        in errors ("listing runs")."""
        target = self._prefix + API + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            target += "?" + urlencode(query, doseq=True)
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        status, data = self._send(method, target, payload, headers, what)
        if status < 400:
            return None if status == 204 or not data else json.loads(data)
        raise self._error(status, data, what)

    def _send(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str], what: str
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                self.requests += 1
                conn.request(method, target, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    self._drop()
                return response.status, data
            except _STALE as err:
                self._drop()
                if reused and attempt == 1:
                    continue
                raise self._unreachable(what, err) from err
            except TimeoutError as err:
                self._drop()
                raise ServerUnavailable(
                    f"the bevel server at {self.base_url} did not answer within "
                    f"{self._timeout:g} s while {what}",
                    kind="timeout",
                    hint="check that the server is up and not overloaded (bevel server start)",
                ) from err
            except (OSError, http.client.HTTPException) as err:
                self._drop()
                raise self._unreachable(what, err) from err
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, what: str, err: BaseException) -> ServerUnavailable:
        return ServerUnavailable(
            f"cannot reach the bevel server at {self.base_url} while {what}: "
            f"{type(err).__name__}: {err}",
            hint="check the URL and that the server runs (bevel server start --host ... "
            "--port ...)",
        )

    def _error(self, status: int, data: bytes, what: str) -> Exception:
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = None
        detail = body.get("error") if isinstance(body, dict) else None
        if status in (401, 403):
            message = detail.get("message") if isinstance(detail, dict) else None
            return _denied(self.base_url, status, str(message or "access denied"), what)
        if status in _RETRY_STATUSES:
            if isinstance(detail, dict) and detail.get("type") not in (None, "MetadataError"):
                return decode_error(detail, fallback=f"{what} failed ({status})")  # its database
            return ServerUnavailable(
                f"the bevel server at {self.base_url} answered {status} while {what}",
                kind="throttled" if status in (429, 503) else "network",
                hint="the server is busy or restarting: try again in a moment",
            )
        if isinstance(detail, dict):
            return decode_error(detail, fallback=f"{what} failed ({status})")
        return MetadataError(
            f"the bevel server at {self.base_url} answered {status} while {what}: "
            f"{data[:300].decode(errors='replace')}"
        )


def _denied(url: str, status: int, message: str, what: str) -> AccessDenied:
    if status == 401:
        hint = (
            f"log in with `bevel login {url}` (an API key from your admin: bevel server "
            "keys create), or set $BEVEL_API_KEY"
        )
    else:
        hint = "ask an admin of the server for a role that allows it (bevel server users ...)"
    return AccessDenied(
        f"the bevel server at {url} refused {what}: {message}", status=status, hint=hint
    )


def _without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` removed (for display: it may hold a password)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"
