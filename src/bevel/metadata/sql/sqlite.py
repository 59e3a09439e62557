"""The embedded default: the SQL store on the standard library's ``sqlite3``.

No SQLAlchemy and no Alembic on a normal run (together ~0.3 s of imports, more than a whole
small pipeline): the queries are the same portable text every database runs
(:mod:`bevel.metadata.sql.db`), executed here through ``sqlite3`` directly.

Settings that make one file safe for several processes at once (ZenML's "database is locked"
under parallel steps is what we avoid): WAL journal (readers never block the writer), a 30 s
busy timeout, ``synchronous=NORMAL`` (durable across application crashes; WAL makes it cheap),
foreign keys on. The driver's own transaction handling is off (``isolation_level=None``) and
bevel emits ``BEGIN`` itself, ``BEGIN IMMEDIATE`` for writers: they take the write lock up front
and queue behind each other, instead of both reading and then deadlocking on the upgrade.

Schema: a new database gets the committed DDL (``sqlite_schema.sql``, exactly what ``alembic
upgrade head`` creates, which a test proves) and is stamped with the head revision, in one
transaction under a file lock (``metadata.db.lock``); a database at an older revision is
upgraded by Alembic (imported only then).

A database in a folder this process cannot write (a read-only mount, another user's project)
is still readable: it is opened immutable when its WAL holds nothing (see
``SqliteDatabase._read_only_target``); writing fails with a hint saying what access is missing.

``sqlite://`` (in memory) is one connection shared by every thread of this store, one
transaction at a time (a lock), so a heartbeat thread and the run never collide.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.errors import BevelError, ConfigError
from bevel.metadata.sql.db import Conn
from bevel.metadata.sql.dialect import SQLITE
from bevel.metadata.sql.failures import BUSY_TIMEOUT_S, metadata_error
from bevel.metadata.sql.revision import HEAD
from bevel.metadata.sql.schema_check import file_lock, is_current

if TYPE_CHECKING:
    import urllib.parse as urlparse
else:  # options in a URL (?uri=true), a read-only database's URI: a plain URL has neither
    urlparse = lazy_module("urllib.parse")

DDL_FILE = os.path.join(os.path.dirname(__file__), "sqlite_schema.sql")
_POOL_SIZE = 8


class SqliteConn(Conn):
    __slots__ = ("_raw",)
    dialect = SQLITE

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def _execute(self, sql: str, params: dict[str, Any]) -> sqlite3.Cursor:
        return self._raw.execute(sql, params)

    def _execute_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self._raw.executemany(sql, rows)


def parse_url(url: str) -> tuple[str | None, bool]:
    """``(database, uri)`` of a ``sqlite://`` URL as ``sqlite3.connect`` takes it; database is
    None for an in-memory one.

    ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite://`` and
    ``sqlite:///:memory:`` (memory); ``?uri=true`` makes the path a SQLite URI filename, with
    the other query options appended (``sqlite:///file:x.db?mode=ro&uri=true``), as SQLAlchemy
    reads them.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0].lower() != "sqlite":
        raise ConfigError(
            f"invalid SQLite URL {url!r}", hint="use sqlite:///path/to/metadata.db (or sqlite://)"
        )
    if rest and not rest.startswith("/"):
        raise ConfigError(
            f"invalid SQLite URL {url!r}: a SQLite URL has no host",
            hint="use sqlite:///relative/path.db or sqlite:////absolute/path.db",
        )
    path, _, query = rest[1:].partition("?")
    options = dict(urlparse.parse_qsl(query)) if query else {}
    uri = options.pop("uri", "").lower() in ("true", "1")
    if path in ("", ":memory:"):
        return None, False
    if uri:
        extra = "&".join(f"{k}={v}" for k, v in options.items())
        return (f"{path}?{extra}" if extra else path), True
    return path, False


class SqliteDatabase:
    """Transactions on one SQLite file (or in-memory database) through ``sqlite3``."""

    dialect = SQLITE

    def __init__(self, url: str) -> None:
        self.url = url
        self.database, self._uri = parse_url(url)
        self.memory = self.database is None
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        # In-memory SQLite is one connection shared by every thread: one transaction at a
        # time, or SQLite refuses the second BEGIN.
        self._exclusive: AbstractContextManager[Any] = (
            threading.RLock() if self.memory else nullcontext()
        )
        _databases.add(self)

    def __repr__(self) -> str:
        return f"SqliteDatabase({self.url!r})"

    # --- connections ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        target, uri = self.database or ":memory:", self._uri
        immutable = self._read_only_target()
        if immutable is not None:
            target, uri = immutable, True
        raw = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,  # bevel emits BEGIN/COMMIT itself
            check_same_thread=False,
            uri=uri,
        )
        try:
            configure_connection(raw, wal=immutable is None)
        except BaseException:
            raw.close()
            raise
        return raw

    def _read_only_target(self) -> str | None:
        """A database whose folder this process cannot write is opened read-only and immutable.

        In WAL mode even a reader needs the shared-memory index (``metadata.db-shm``) and the
        WAL next to the database; SQLite creates them on first open and fails with "attempt to
        write a readonly database" when the folder is read-only. With no WAL content there is
        nothing but the database file to read, and nobody can be writing it (a writer's changes
        go to the WAL first), so it is opened as immutable. Any other case (a writable folder, a
        WAL holding changes, a URI the user wrote) opens as usual: this returns None.
        """
        if self.database is None or self._uri:
            return None
        path = os.path.abspath(self.database)
        if not os.path.isfile(path) or os.access(os.path.dirname(path), os.W_OK):
            return None
        wal = f"{path}-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            return None  # changes not yet checkpointed: SQLite must read them through its index
        return f"file:{urlparse.quote(path)}?mode=ro&immutable=1"

    def _checkout(self) -> sqlite3.Connection:
        if self.memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _checkin(self, raw: sqlite3.Connection) -> None:
        if self.memory:
            return
        with self._pool_lock:
            if len(self._idle) < _POOL_SIZE:
                self._idle.append(raw)
                return
        raw.close()

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[SqliteConn]:
        with self._exclusive:
            raw = self._checkout()
            healthy = False
            try:
                raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield SqliteConn(raw)
                    raw.execute("COMMIT")
                except BaseException:
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                    raise
                healthy = True
            finally:
                if healthy or not raw.in_transaction:
                    self._checkin(raw)
                elif not self.memory:
                    raw.close()

    def close(self) -> None:
        """Close pooled connections (the database reconnects if used again)."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()
        if self._shared is not None and not self.memory:
            self._shared.close()

    def _forget_after_fork(self) -> None:
        # A forked child must not use (or close) the parent's connections: keep them alive,
        # unused, so that nothing in the child touches the parent's SQLite locks.
        _orphans.extend(self._idle)
        self._idle = []
        self._pool_lock = threading.Lock()

    # --- errors -----------------------------------------------------------------------------

    @contextmanager
    def errors(self, action: str, name: str | None) -> Iterator[None]:
        try:
            yield
        except BevelError:
            raise
        except sqlite3.Error as err:
            raise metadata_error(self.url, action, name, err) from err

    def retryable(self, err: BaseException) -> bool:
        return False  # writers are serialised by BEGIN IMMEDIATE: no races to retry

    # --- schema -----------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Check the revision (one query); create a new database from the committed DDL, or
        upgrade an older one with Alembic, under the file lock."""
        with self.transaction(write=False) as conn:
            if is_current(read_revision(conn), self.url):
                return
        lock = (
            nullcontext() if self.memory or self._uri else file_lock(str(self.database) + ".lock")
        )
        with lock:
            with self.transaction(write=True) as conn:
                found = read_revision(conn)
                if is_current(found, self.url):
                    return  # another process created or upgraded it while we waited
                if _is_empty(conn):
                    create_schema(conn, version_table=found is None)
                    return
            # An older revision (rare: right after upgrading bevel): Alembic migrates it.
            from bevel.metadata.sql.migrate import upgrade_url  # imports SQLAlchemy + Alembic

            upgrade_url(self.url)


def read_revision(conn: Conn) -> tuple[str, ...] | None:
    """The revisions stamped in ``alembic_version``; None when the table does not exist."""
    if not conn.first(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ):
        return None
    return tuple(str(v) for v in conn.scalars("SELECT version_num FROM alembic_version"))


def _is_empty(conn: Conn) -> bool:
    """No table but (perhaps) an empty ``alembic_version``: a new database."""
    tables = set(
        conn.scalars(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite/_%'"
            " ESCAPE '/'"
        )
    )
    return tables <= {"alembic_version"}


def ddl_statements() -> list[str]:
    """The committed DDL of the head schema, one statement each."""
    with open(DDL_FILE, encoding="utf-8") as fh:
        lines = fh.read().splitlines(keepends=True)
    text = "".join(line for line in lines if not line.startswith("--"))
    return [s.strip() for s in text.split(";\n") if s.strip()]


def create_schema(conn: Conn, *, version_table: bool = True) -> None:
    """Create the head schema in an empty database and stamp it, in ``conn``'s transaction."""
    for statement in ddl_statements():
        if not version_table and "alembic_version" in statement.split("(", 1)[0]:
            continue
        conn.execute(statement)
    conn.execute("INSERT INTO alembic_version (version_num) VALUES (:v)", {"v": HEAD})


def configure_connection(raw: sqlite3.Connection, *, wal: bool = True) -> None:
    """The settings every connection to a SQLite file gets (the store's, and Alembic's)."""
    raw.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    if wal:
        _use_wal(raw)
    raw.execute("PRAGMA synchronous = NORMAL")
    raw.execute("PRAGMA foreign_keys = ON")


def _use_wal(raw: sqlite3.Connection) -> None:
    """Switch the database to WAL (a persistent setting: a no-op read after the first time).

    Switching needs an exclusive lock, and SQLite reports "database is locked" at once, without
    waiting for the busy timeout, when processes race to switch a new database: so wait here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.002
    while True:
        try:
            (mode,) = raw.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() not in ("wal", "memory"):
                raw.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


_databases: weakref.WeakSet[SqliteDatabase] = weakref.WeakSet()
_orphans: list[sqlite3.Connection] = []
_shared: dict[str, SqliteDatabase] = {}
_shared_lock = threading.Lock()


def shared_database(url: str) -> SqliteDatabase:
    """The process's one database object (and connection pool) for a file URL, so a notebook
    holding many RunViews keeps a handful of connections; each in-memory store is its own."""
    if parse_url(url)[0] is None:
        return SqliteDatabase(url)
    with _shared_lock:
        found = _shared.get(url)
        if found is None:
            found = _shared[url] = SqliteDatabase(url)
        return found


def _after_fork_in_child() -> None:
    for db in list(_databases):
        db._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
