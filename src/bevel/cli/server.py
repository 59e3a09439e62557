"""``bevel server``: start the server, create the first admin, manage users and API keys.

``start`` and ``init-admin`` work on the database directly (they run where it is); ``users``
and ``keys`` are an admin's requests to a running server (``--url``, default: an http(s)
``$BEVEL_STORE_URL``; the key from ``bevel login`` or ``$BEVEL_API_KEY``). FastAPI and uvicorn
are imported by ``start`` only.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from datetime import datetime
from typing import Any

import click

from bevel.errors import ConfigError
from bevel.settings import ENV_STORE_URL, load_settings

_INSTALL = "pip install 'bevel[server]'"


def _need_server_extra() -> None:
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"the bevel server needs {' and '.join(missing)}, not installed here",
            hint=_INSTALL,
        )


def _database(db: str | None) -> str:
    """The database to serve: ``--db``, else the project's home store (which must be SQL)."""
    if db:
        return db
    url = load_settings().database_url
    if url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"${ENV_STORE_URL} is a bevel server ({url}): a server needs a database to serve",
            hint="give one with --db (sqlite:///path/metadata.db, postgresql://...)",
        )
    return url


@click.group()
def server() -> None:
    """Start the bevel server; manage its users and API keys.

    init-admin creates the first admin (there is no default account or password).

    \b
    Examples:
      bevel server init-admin --db postgresql://bevel@db/bevel
      bevel server start --host 0.0.0.0 --port 8237 --db postgresql://bevel@db/bevel
      bevel server start --no-auth               # this machine only (127.0.0.1)
      bevel server users create ci --role editor --service --url http://ml:8237
      bevel server keys create ci --expires-in-days 30 --url http://ml:8237
    """


@server.command("start")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8237, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", help="Database URL (default: this project's metadata store).")
@click.option("--no-auth", is_flag=True, help="No API keys (refused unless the host is loopback).")
@click.option(
    "--reap-every",
    default=60.0,
    show_default=True,
    type=float,
    help="Seconds between passes of the dead-run reaper (0: never).",
)
@click.option(
    "--max-body",
    default=16 * 1024 * 1024,
    show_default=True,
    type=int,
    help="Largest request body accepted, in bytes.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="A browser origin allowed to call the API (repeatable; none by default).",
)
@click.option(
    "--artifacts",
    "artifact_roots",
    multiple=True,
    help="An artifact store root (path or URL) to read visualizations from (repeatable).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def start(
    host: str, port: int, db: str | None, no_auth: bool, reap_every: float, max_body: int,
    cors_origins: tuple[str, ...], artifact_roots: tuple[str, ...], log_level: str,
) -> None:  # fmt: skip
    """Start the bevel server (REST API under /api/v1) in the foreground.

    \b
    Examples:
      bevel server start
      bevel server start --host 0.0.0.0 --db postgresql://bevel@db.internal/bevel
    """
    _need_server_extra()
    from bevel.server.config import ServerConfig  # imports nothing heavy

    config = ServerConfig(
        db_url=_database(db), host=host, port=port, auth=not no_auth, reap_every=reap_every,
        max_body=max_body, cors_origins=cors_origins, artifact_roots=artifact_roots,
    )  # fmt: skip
    config.check()
    serve(config, log_level)


def serve(config: Any, log_level: str = "info", *, on_ready: Any = None) -> None:
    """Run uvicorn on ``config`` until interrupted: the API, and the dashboard at ``/`` when
    Jinja2 is installed (it is part of the server extra). ``on_ready(url)`` is called once the
    port accepts connections."""
    import uvicorn  # the server extra, imported by `start` only

    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    if importlib.util.find_spec("jinja2") is not None:
        from bevel.server.dashboard import create_dashboard_app

        app = create_dashboard_app(config)
    else:
        from bevel.server.app import create_app

        app = create_app(config)
    url = f"http://{config.host}:{config.port}"
    if on_ready is None:
        auth = "API keys" if config.auth else "no auth (loopback only)"
        click.echo(f"bevel server on {url} ({auth})", err=True)
    else:
        _when_listening(config.host, config.port, lambda: on_ready(url))
    uvicorn.run(
        app, host=config.host, port=config.port, log_level=log_level, access_log=False,
        server_header=False, proxy_headers=False, timeout_keep_alive=30,
    )  # fmt: skip


def _when_listening(host: str, port: int, then: Any, timeout: float = 30.0) -> None:
    """Call ``then()`` from a thread once ``host:port`` accepts connections."""
    import socket
    import threading
    import time

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    then()
                    return
            except OSError:
                time.sleep(0.05)

    threading.Thread(target=wait, name="bevel-ready", daemon=True).start()


@server.command("init-admin")
@click.option("--db", help="Database URL (default: this project's metadata store).")
@click.option("--name", default="admin", show_default=True, help="The admin's user name.")
def init_admin(db: str | None, name: str) -> None:
    """Create the server's first admin and print its API key (shown once).

    \b
    Example:
      bevel server init-admin --db postgresql://bevel@db.internal/bevel
    """
    _need_server_extra()
    from bevel.metadata.sql.store import SqlMetadataStore
    from bevel.server.admin import init_admin as create

    store = SqlMetadataStore(_database(db), name="server")
    try:
        key = create(store, name)
    finally:
        store.close()
    click.echo(f"created admin {name!r}. Its API key, shown this once (store it safely):", err=True)
    click.echo(key)


@server.command("new-key")
def new_key() -> None:
    """Print a fresh API key in bevel's format (for $BEVEL_ADMIN_KEY); stores nothing.

    \b
    Example:
      export BEVEL_ADMIN_KEY=$(bevel server new-key)
    """
    from bevel.server.auth.keys import new_key as make

    click.echo(make()[1])


# --- users and keys: requests to a running server -----------------------------------------------

_URL = click.option("--url", help="The server (default: an http(s) $BEVEL_STORE_URL).")


def _admin_call(url: str | None, method: str, path: str, what: str, **kw: Any) -> Any:
    from bevel.metadata.rest.credentials import find_api_key
    from bevel.metadata.rest.transport import Transport

    target = url or os.environ.get(ENV_STORE_URL, "")
    if not target.lower().startswith(("http://", "https://")):
        raise ConfigError(
            "which bevel server? none was given",
            hint=f"pass --url http://host:8237 (or set ${ENV_STORE_URL} to the server's URL)",
        )
    transport = Transport(target, api_key=find_api_key(target), timeout=30)
    try:
        return transport.request(method, path, what=what, **kw)
    finally:
        transport.close()


def _when(value: str | None) -> str:
    return "-" if value is None else datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")


@server.group("users")
def users() -> None:
    """List, create and change the server's users and service accounts (admins only).

    \b
    Examples:
      bevel server users create alice --role editor --url http://ml:8237
      bevel server users list --url http://ml:8237
    """


@users.command("list")
@_URL
def users_list(url: str | None) -> None:
    """List users and service accounts.

    \b
    Example:
      bevel server users list --url http://ml:8237
    """
    from bevel.cli import output

    page = _admin_call(url, "GET", "/users", "listing users", params={"limit": 1000})
    console = output.stdout()
    tbl = output.table(console, "name", "kind", "role", "created", "disabled")
    for user in page["items"]:
        output.add_row(tbl, user["name"], user["kind"], user["role"], _when(user["created"]),
                       _when(user["disabled"]))  # fmt: skip
    output.emit(console, tbl)


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]), required=True)
@click.option("--service", is_flag=True, help="A service account (CI jobs, workers, bots).")
@_URL
def users_create(name: str, role: str, service: bool, url: str | None) -> None:
    """Create user NAME with a role (then give it a key: bevel server keys create NAME).

    \b
    Examples:
      bevel server users create alice --role editor
      bevel server users create nightly-ci --role editor --service
    """
    body = {"name": name, "role": role, "kind": "service" if service else "user"}
    _admin_call(url, "POST", "/users", f"creating user {name!r}", body=body)
    click.echo(f"created {body['kind']} {name!r} ({role}); give it a key: "
               f"bevel server keys create {name}")  # fmt: skip


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(["viewer", "editor", "admin"]))
@_URL
def users_set_role(name: str, role: str, url: str | None) -> None:
    """Change the role of user NAME.

    \b
    Example:
      bevel server users set-role alice viewer
    """
    _admin_call(url, "PATCH", f"/users/{name}", f"changing the role of {name!r}",
                body={"role": role})  # fmt: skip
    click.echo(f"{name!r} is now {role}")


@users.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@_URL
def users_disable(name: str, enable: bool, url: str | None) -> None:
    """Disable user NAME: every key of it is refused until it is enabled again.

    \b
    Examples:
      bevel server users disable bob
      bevel server users disable bob --enable
    """
    _admin_call(url, "PATCH", f"/users/{name}", f"changing user {name!r}",
                body={"disabled": not enable})  # fmt: skip
    click.echo(f"{name!r} is {'enabled' if enable else 'disabled'}")


@server.group("keys")
def keys_group() -> None:
    """Create, list and revoke API keys (admins only).

    \b
    Examples:
      bevel server keys create alice --expires-in-days 30 --url http://ml:8237
      bevel server keys revoke 3f9a0c1d2e4b5a69 --url http://ml:8237
    """


@keys_group.command("create")
@click.argument("user")
@click.option("--label", default="", help="What the key is for (shown in keys list).")
@click.option("--expires-in-days", type=float, default=90.0, show_default=True)
@click.option("--never-expires", is_flag=True, help="A key without expiry.")
@_URL
def keys_create(
    user: str, label: str, expires_in_days: float, never_expires: bool, url: str | None
) -> None:
    """Create an API key for USER and print it (shown once; stored only hashed).

    \b
    Examples:
      bevel server keys create alice --label laptop
      bevel server keys create nightly-ci --never-expires
    """
    body = {"user": user, "label": label,
            "expires_in_days": None if never_expires else expires_in_days}  # fmt: skip
    made = _admin_call(url, "POST", "/api-keys", f"creating a key for {user!r}", body=body)
    record = made["record"]
    click.echo(f"key {record['id']} for {user!r}, expires {_when(record['expires'])}; "
               "shown this once:", err=True)  # fmt: skip
    click.echo(made["key"])


@keys_group.command("list")
@click.option("--user", help="Only this user's keys.")
@_URL
def keys_list(user: str | None, url: str | None) -> None:
    """List API keys (ids, owners, dates; never the keys).

    \b
    Example:
      bevel server keys list --user alice
    """
    from bevel.cli import output

    page = _admin_call(url, "GET", "/api-keys", "listing API keys",
                       params={"user": user, "limit": 1000})  # fmt: skip
    console = output.stdout()
    tbl = output.table(console, "id", "user", "label", "created", "expires", "revoked",
                       "last used")  # fmt: skip
    for key in page["items"]:
        output.add_row(tbl, key["id"], key["user"], key["label"], _when(key["created"]),
                       _when(key["expires"]), _when(key["revoked"]), _when(key["last_used"]))  # fmt: skip
    output.emit(console, tbl)


@keys_group.command("revoke")
@click.argument("key_id")
@_URL
def keys_revoke(key_id: str, url: str | None) -> None:
    """Revoke the key KEY_ID (from keys list): refused from its next request on.

    \b
    Example:
      bevel server keys revoke 3f9a0c1d2e4b5a69
    """
    _admin_call(url, "DELETE", f"/api-keys/{key_id}", f"revoking key {key_id!r}")
    click.echo(f"revoked key {key_id}")
