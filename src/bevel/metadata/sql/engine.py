"""Building the one Engine a store uses, and turning driver errors into bevel errors.

SQLite gets the settings that make it safe for several processes at once (ZenML's "database is
locked" under parallel steps is what we avoid): WAL journal (readers never block the writer),
a 30 s busy timeout, ``synchronous=NORMAL`` (durable across application crashes; WAL makes it
cheap) and foreign keys on. Python's ``sqlite3`` driver would start transactions lazily on the
first write, which lets two writers both read, then deadlock on upgrading their locks. So the
driver's own transaction handling is switched off and bevel emits ``BEGIN`` itself, ``BEGIN
IMMEDIATE`` on connections marked for writing: writers take the write lock up front and simply
queue behind each other (SQLAlchemy's documented recipe, ``sqlite_enabling_transactions``).

A SQLite file in a folder this process cannot write (a read-only mount, another user's project)
is still readable: see :func:`_sqlite_read_only_folder`. A damaged file ("file is not a
database", "database disk image is malformed") is :class:`MetadataCorrupted`, whose hint says how
to restore it or start afresh and points at ``bevel doctor`` (:mod:`bevel.metadata.sql.health`).

Server databases get a bounded connect timeout and a liveness ping on checkout, so a dead server
is reported as a bevel error naming the (password-masked) URL instead of hanging. A URL without
a driver (``postgresql://``, ``mysql://``) uses the one bevel's extras install
(:mod:`bevel.metadata.sql.urls`).
"""

from __future__ import annotations

import math
import os
import re
import shlex
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from bevel.errors import (
    BevelError,
    ConfigError,
    DatabaseUnavailable,
    MetadataCorrupted,
    MetadataError,
    transient_kind,
)
from bevel.metadata.sql.urls import install_hint, with_default_driver

BUSY_TIMEOUT_S = 30.0
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
        event.listen(engine, "do_connect", _sqlite_read_only_folder)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_read_only_folder(
    dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]
) -> DBAPIConnection | None:
    """Open a database whose folder this process cannot write, read-only and immutable.

    In WAL mode even a reader needs the shared-memory index (``metadata.db-shm``) and the WAL
    next to the database; SQLite creates them on first open and fails with "attempt to write a
    readonly database" when the folder is read-only. With no WAL content there is nothing but
    the database file to read, and nobody can be writing it (a writer's changes go to the WAL
    first), so it is opened as immutable. Any other case (a writable folder, a WAL holding
    changes, a URI the user wrote) opens as usual: this returns None.
    """
    database = cargs[0] if cargs else cparams.get("database")
    if not isinstance(database, str) or cparams.get("uri") or database in ("", ":memory:"):
        return None
    path = os.path.abspath(database)
    if not os.path.isfile(path) or os.access(os.path.dirname(path), os.W_OK):
        return None
    wal = f"{path}-wal"
    if os.path.exists(wal) and os.path.getsize(wal) > 0:
        return None  # changes not yet checkpointed: SQLite must read them through its index
    options = {k: v for k, v in cparams.items() if k not in ("database", "uri")}
    target = f"file:{urllib.parse.quote(path)}?mode=ro&immutable=1"
    connection: DBAPIConnection = sqlite3.connect(target, uri=True, **options)
    return connection


def _sqlite_connect(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the driver: _sqlite_begin emits BEGIN itself. This
    # relies on the driver's "legacy" mode (where COMMIT still works), which Python 3.12+ can
    # switch off and a future Python will default away from: pin it.
    legacy = getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", None)
    if legacy is not None and hasattr(dbapi_conn, "autocommit"):
        dbapi_conn.autocommit = legacy
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the database to WAL (a persistent setting: a no-op read after the first time).

    Switching needs an exclusive lock, and SQLite reports "database is locked" at once, without
    waiting for the busy timeout, when processes race to switch a new database: so wait here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.002
    while True:
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() not in ("wal", "memory"):
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _sqlite_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def wrap_errors(url: str, action: str, name: str | None = None) -> Iterator[None]:
    """Re-raise SQLAlchemy/driver errors as :class:`MetadataError` naming the store and action.

    ``name`` is the stack component's name, when the store was built from one. bevel's own
    errors pass through untouched.
    """
    try:
        yield
    except BevelError:
        raise
    except (exc.StatementError, exc.TimeoutError) as err:
        store = f"{name!r} ({url})" if name else url
        message = f"metadata store {store}: {action} failed: {_reason(err)}"
        path = sqlite_path(url)
        if path is not None and is_damage(getattr(err, "orig", None)):
            raise MetadataCorrupted(
                f"metadata store {store}: {action} failed: the database file is damaged"
                f" ({_reason(err)})",
                hint=damaged_hint(path),
            ) from err
        kind = _transient_kind(err)
        if kind is not None:
            raise DatabaseUnavailable(
                message,
                kind=kind,
                hint=f"this may pass by itself ({kind}): steps with retries=N try again; "
                f"if it persists, {_hint(url, err) or 'check the database'}",
            ) from err
        raise MetadataError(message, hint=_hint(url, err)) from err


# PostgreSQL SQLSTATEs and MySQL error numbers that say "try again": the server restarting or
# unreachable, too many connections, deadlocks, lock and serialization failures.
_PG_TRANSIENT = {
    "57P01": "network",  # admin_shutdown (a restart)
    "57P02": "network",  # crash_shutdown
    "57P03": "network",  # cannot_connect_now (starting up)
    "53300": "throttled",  # too_many_connections
    "40001": "busy",  # serialization_failure
    "40P01": "busy",  # deadlock_detected
    "55P03": "busy",  # lock_not_available
}
_MYSQL_TRANSIENT = {
    2002: "network",  # can't connect through socket
    2003: "network",  # can't connect to server
    2006: "network",  # server has gone away
    2013: "network",  # lost connection during query
    2055: "network",  # lost connection (system error)
    1040: "throttled",  # too many connections
    1205: "busy",  # lock wait timeout
    1213: "busy",  # deadlock
}
_TRANSIENT_TEXT = (
    ("database is locked", "busy"),
    ("connection refused", "network"),
    ("could not connect", "network"),
    ("server closed the connection", "network"),
    ("terminating connection", "network"),
    ("the database system is starting up", "network"),
    ("the database system is shutting down", "network"),
    ("connection timed out", "timeout"),
    ("timeout expired", "timeout"),
)


def _transient_kind(err: exc.StatementError | exc.TimeoutError) -> str | None:
    """Whether a database error may pass by itself, and which kind (see ``TransientError``)."""
    if isinstance(err, exc.TimeoutError):  # no pooled connection came free in time
        return "timeout"
    if isinstance(err, exc.DBAPIError) and err.connection_invalidated:
        return "network"
    orig = err.orig
    code = getattr(orig, "sqlstate", None) or (orig.args[0] if orig and orig.args else None)
    if isinstance(code, str) and code in _PG_TRANSIENT:
        return _PG_TRANSIENT[code]
    if isinstance(code, str) and code.startswith("08"):  # connection_exception class
        return "network"
    if isinstance(code, int) and code in _MYSQL_TRANSIENT:
        return _MYSQL_TRANSIENT[code]
    reason = _reason(err).lower()
    for text, kind in _TRANSIENT_TEXT:
        if text in reason:
            return kind
    return transient_kind(orig)


def _reason(err: exc.StatementError | exc.TimeoutError) -> str:
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL (``file:`` URIs too); None for memory or other URLs."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    database = str(parsed.database)
    if database.startswith("file:"):
        database = urllib.parse.unquote(database[len("file:") :].partition("?")[0])
    return os.path.abspath(database)


# SQLite result codes (the low byte of an extended code) that say the file itself is damaged.
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_DAMAGE_TEXT = ("file is not a database", "database disk image is malformed")


def is_damage(err: BaseException | None) -> bool:
    """Whether a SQLite error says the database file is damaged, or is no database at all."""
    if err is None:
        return False
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    return any(text in str(err).lower() for text in _DAMAGE_TEXT)


def damaged_hint(path: str, *, doctor: bool = True) -> str:
    """What to do about a damaged SQLite file (a test follows it literally).

    Its ``-wal`` and ``-shm`` files go with it: a WAL left beside a new database would be
    replayed into it. ``doctor``: point at ``bevel doctor`` (not in its own output).
    """
    aside = shlex.quote(os.path.join(os.path.dirname(path), "damaged"))
    first = "`bevel doctor` checks the store and says where bevel's files are. " if doctor else ""
    return (
        f"{first}With no bevel"
        f" process running, restore {path} from a backup (and delete {path}-wal and"
        f" {path}-shm), or move it aside to start an empty store: mkdir -p {aside} && mv"
        f" {shlex.quote(path)}* {aside}/ (the runs it recorded are no longer listed then;"
        " artifact files stay where they are)"
    )


# PostgreSQL insufficient_privilege; MySQL "command denied" (table, column).
_DENIED_CODES = {"42501", 1142, 1143}


def _hint(url: str, err: exc.StatementError | exc.TimeoutError) -> str | None:
    reason = _reason(err).lower()
    if url.startswith("sqlite"):
        path = sqlite_path(url) or url
        if "readonly database" in reason:
            return (
                f"bevel cannot write {path}: the file or its folder is read-only here (or the URL"
                " opens it read-only). Reading works (bevel runs list, Client()); running"
                " pipelines and other changes need write access to the folder (chmod u+w), or a"
                " writable copy (BEVEL_HOME=/path/to/copy); `bevel doctor` checks the store"
            )
        if "unable to open database file" in reason:
            return (
                f"bevel cannot open or create {path}: check that its folder exists and that"
                " this user may read and write it; `bevel doctor` checks the store"
            )
        if "locked" in reason or "busy" in reason:
            return (
                f"another process held the SQLite database for more than {BUSY_TIMEOUT_S:.0f} s;"
                " for many parallel workers use PostgreSQL or MySQL"
            )
        return None
    orig = getattr(err, "orig", None)
    code = getattr(orig, "sqlstate", None) or (orig.args[0] if orig and orig.args else None)
    if code in _DENIED_CODES or "permission denied" in reason:
        return (
            "this database user may only read: reading works (bevel runs list, Client()), but"
            " runs, reaping and stack changes need a user allowed to insert, update and delete"
        )
    if isinstance(err, exc.OperationalError | exc.InterfaceError):
        return "check that the database server is running and reachable, and the user name and password"
    return None
