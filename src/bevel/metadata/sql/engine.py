"""Building the SQLAlchemy Engine of a server database (and of a SQLite file Alembic upgrades).

The store talks to SQLite through the standard library (:mod:`bevel.metadata.sql.sqlite`);
SQLAlchemy serves PostgreSQL and MySQL/MariaDB (:mod:`bevel.metadata.sql.server`) and Alembic,
which also upgrades SQLite files at an older revision. Such an engine gets the same SQLite
settings as the store's own connections (WAL, busy timeout, foreign keys, ``BEGIN IMMEDIATE``
for writers: SQLAlchemy's documented recipe, ``sqlite_enabling_transactions``).

Server databases get a bounded connect timeout and a liveness ping on checkout, so a dead server
is reported as a bevel error naming the (password-masked) URL instead of hanging. A URL without
a driver (``postgresql://``, ``mysql://``) uses the one bevel's extras install
(:mod:`bevel.metadata.sql.urls`).
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from typing import Any

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from bevel.errors import ConfigError, MetadataError
from bevel.metadata.sql.failures import BUSY_TIMEOUT_S
from bevel.metadata.sql.sqlite import configure_connection
from bevel.metadata.sql.urls import install_hint, with_default_driver

WRITE_OPTION = "bevel_write"  # execution option marking a connection that will write

_URL_PREFIX = re.compile(r"[A-Za-z0-9+.-]*:?/*")


def mask_url(url: str) -> str:
    """The URL for display, with any password replaced by ``***``.

    A URL SQLAlchemy cannot parse (``postgresql:/user:pw@host/db``, one slash short) keeps its
    scheme, slashes and host, so the mistake stays visible, while everything between them and
    the last ``@`` is masked: it may hold a password.
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        head, at, tail = url.rpartition("@")
        if not at:
            return url
        prefix = _URL_PREFIX.match(head)
        return f"{prefix[0] if prefix else ''}***@{tail}"


def is_memory_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


_shared: dict[tuple[str, float], Engine] = {}
_shared_lock = threading.Lock()


def shared_engine(url: str, *, connect_timeout: float) -> Engine:
    """The process's one Engine (and connection pool) for ``url``, as SQLAlchemy recommends.

    Every store, Client and RunView on the same database shares it, so a notebook holding many
    RunViews keeps a handful of pooled connections, not one per view. In-memory SQLite is the
    exception: each store is its own database.
    """
    try:
        parsed = make_url(with_default_driver(url))
    except exc.ArgumentError:
        return build_engine(url, connect_timeout=connect_timeout)  # reports the bad URL
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return build_engine(url, connect_timeout=connect_timeout)
    key = (url, connect_timeout)
    with _shared_lock:
        engine = _shared.get(key)
        if engine is None:
            engine = _shared[key] = build_engine(url, connect_timeout=connect_timeout)
        return engine


def build_engine(url: str, *, connect_timeout: float) -> Engine:
    """Create (but do not connect) the engine for ``url``."""
    try:
        parsed = make_url(with_default_driver(url))  # postgresql:// -> psycopg 3, as installed
    except exc.ArgumentError:
        # from None: SQLAlchemy's message repeats the URL, password included.
        raise ConfigError(
            f"invalid metadata database URL {mask_url(url)!r}",
            hint="use e.g. sqlite:///path/to/metadata.db or postgresql+psycopg://user@host/db",
        ) from None
    backend = parsed.get_backend_name()
    timeout = max(1, math.ceil(connect_timeout))
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
        if parsed.database in (None, "", ":memory:"):
            # One shared connection, or every checkout would see its own empty database.
            # In-memory stores are for tests and single-threaded use.
            kwargs["poolclass"] = StaticPool
    elif backend == "postgresql":
        kwargs.update(connect_args={"connect_timeout": timeout}, pool_pre_ping=True)
    elif backend in ("mysql", "mariadb"):
        # pool_recycle: MySQL closes connections idle for wait_timeout (8 h by default).
        kwargs.update(
            connect_args={"connect_timeout": timeout}, pool_pre_ping=True, pool_recycle=3600
        )
    try:
        engine = create_engine(parsed, **kwargs)
    except (ImportError, exc.NoSuchModuleError) as err:
        driver = parsed.get_driver_name()
        raise MetadataError(
            f"cannot use metadata database {mask_url(url)}: driver {driver!r} is not available",
            hint=install_hint(url),
        ) from err
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the driver: _sqlite_begin emits BEGIN itself. This
    # relies on the driver's "legacy" mode (where COMMIT still works), which Python 3.12+ can
    # switch off and a future Python will default away from: pin it.
    legacy = getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", None)
    if legacy is not None and hasattr(dbapi_conn, "autocommit"):
        dbapi_conn.autocommit = legacy
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]
    configure_connection(dbapi_conn)  # type: ignore[arg-type]


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
