"""A throwaway bevel server (``bevel server start``) in a child process, over its own database.

``bevel_server()`` creates a SQLite database in a temporary folder (or serves the ``db_url``
given), creates an admin with ``init-admin`` (unless ``auth=False``), starts the server on
127.0.0.1 on a free port and waits for ``/api/v1/health``::

    with bevel_server() as srv:
        store = RestMetadataStore(srv.url, api_key=srv.admin_key)
        viewer_key = srv.new_key("viewer")
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bevel._dataclass import dataclass
from bevel.testing.servers._process import (
    _DEV_EXTRAS,
    HOST,
    ServerFailed,
    ServerUnavailable,
    _missing_modules,
    _on_free_port,
    _RunAs,
    _scratch_dir,
    _stop_process,
    _wait_until,
)

_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class BevelServer:
    """A running bevel server: its URL, database, log and (with auth) an admin key."""

    url: str
    db_url: str
    log: Path
    admin_key: str | None
    process: subprocess.Popen[bytes]
    secrets_key: str = ""  # the server's $BEVEL_SECRETS_KEY: clients sharing it share secrets

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        """One API request as the admin (or ``key``); the decoded answer. Raises
        ``urllib.error.HTTPError`` for error statuses."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/api/v1{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if key or self.admin_key:
            request.add_header("Authorization", f"Bearer {key or self.admin_key}")
        with _LOCAL.open(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def new_key(self, role: str, *, name: str | None = None, expires_in_days: float | None = None,
                kind: str = "user") -> str:  # fmt: skip
        """A key of a new user with ``role``."""
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        self.call("POST", "/users", {"name": name, "role": role, "kind": kind})
        made = self.call("POST", "/api-keys", {"user": name, "expires_in_days": expires_in_days})
        return str(made["key"])

    def reset(self) -> None:
        """Delete every record but the users and keys: an empty store for the next test."""
        from bevel.metadata.sql.schema import metadata  # the tables, in dependency order
        from bevel.metadata.sql.store import SqlMetadataStore

        keep = {"users", "api_keys"}
        store = SqlMetadataStore(self.db_url)

        def wipe(conn: Any) -> None:
            for table in reversed(metadata.sorted_tables):
                if table.name not in keep:
                    conn.run(f"DELETE FROM {table.name}")

        try:
            store.writing("resetting the test server", wipe)
        finally:
            store.close()


def _health(url: str) -> bool:
    try:
        with _LOCAL.open(f"{url}/api/v1/health", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def bevel_server(
    *,
    db_url: str | None = None,
    auth: bool = True,
    admin_key: str | None = None,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[BevelServer]:
    """``bevel server start`` on 127.0.0.1 (free port) in a child process; ~1-2 s to start.

    With ``auth``, the first admin comes from ``bevel server init-admin``, or, when
    ``admin_key`` is given, from ``$BEVEL_ADMIN_KEY`` at start-up."""
    missing = _missing_modules(["fastapi", "uvicorn"])
    if missing:
        raise ServerUnavailable(
            f"the bevel server needs {', '.join(missing)}, not installed: {_DEV_EXTRAS}"
        )
    with _scratch_dir("bevel-srv-", _RunAs()) as base:
        log = base / "server.log"
        url_db = db_url or f"sqlite:///{base / 'metadata.db'}"
        # The team's secrets key (a Fernet key): clients that register components with
        # credentials must seal them with it, so that the server can open them.
        secrets_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        child_env = {
            **os.environ, "BEVEL_SECRETS_KEY": secrets_key, **(env or {}),
            "BEVEL_HOME": str(base / ".bevel"),
        }  # fmt: skip
        child_env.pop("BEVEL_STORE_URL", None)
        child_env.pop("BEVEL_API_KEY", None)
        if admin_key is not None:
            child_env["BEVEL_ADMIN_KEY"] = admin_key
        elif auth:
            made = subprocess.run(
                [sys.executable, "-m", "bevel", "server", "init-admin", "--db", url_db],
                capture_output=True, text=True, env=child_env, cwd=base, timeout=120,
            )  # fmt: skip
            if made.returncode != 0:
                raise ServerFailed(f"bevel server init-admin failed:\n{made.stderr[-3000:]}")
            admin_key = made.stdout.strip().splitlines()[-1]

        def start(port: int) -> tuple[subprocess.Popen[bytes], str]:
            args = ["--host", HOST, "--port", str(port), "--db", url_db, *extra_args]
            if not auth:
                args.append("--no-auth")
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "bevel", "server", "start", *args],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=base, env=child_env,
                )  # fmt: skip
            url = f"http://{HOST}:{port}"
            try:
                _wait_until(lambda: _health(url), what="bevel server", logs=[log],
                            alive=lambda: proc.poll() is None)  # fmt: skip
            except ServerFailed:
                _stop_process(proc)
                raise
            return proc, url

        proc, url = _on_free_port(start, log)
        try:
            yield BevelServer(url=url, db_url=url_db, log=log, admin_key=admin_key, process=proc,
                              secrets_key=child_env["BEVEL_SECRETS_KEY"])  # fmt: skip
        finally:
            _stop_process(proc)
