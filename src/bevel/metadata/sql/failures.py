"""Driver errors as bevel errors: one headline, kind and hint, whichever driver failed.

Pure functions over the DB-API exception (``sqlite3.OperationalError``, psycopg's and PyMySQL's
errors): both connection implementations (:mod:`~bevel.metadata.sql.sqlite`,
:mod:`~bevel.metadata.sql.server`) turn what their driver raised into a bevel error through
:func:`metadata_error`, so the same failure reads the same on every database. A failure that may
pass by itself (a server restarting or unreachable, too many connections, a deadlock, a lock that
outlasted the busy timeout) is :class:`~bevel.errors.DatabaseUnavailable`, which step retries
retry; a damaged SQLite file ("file is not a database", "database disk image is malformed") is
:class:`~bevel.errors.MetadataCorrupted`, whose hint says how to restore it or start afresh and
points at ``bevel doctor`` (:mod:`bevel.metadata.sql.health`); anything else is
:class:`~bevel.errors.MetadataError`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bevel._lazy import lazy_module
from bevel.errors import DatabaseUnavailable, MetadataCorrupted, MetadataError, transient_kind

if TYPE_CHECKING:
    import shlex
    import urllib.parse as urlparse
else:  # quoting paths in the hint for a damaged database
    shlex = lazy_module("shlex")
    urlparse = lazy_module("urllib.parse")  # a database file named in an error or a check

BUSY_TIMEOUT_S = 30.0

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
# PostgreSQL insufficient_privilege; MySQL "command denied" (table, column).
_DENIED_CODES = {"42501", 1142, 1143}


def reason(err: BaseException) -> str:
    """The first line of the driver's message (the rest repeats the statement)."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def error_code(err: BaseException) -> object:
    """PostgreSQL's SQLSTATE or MySQL's error number of a driver error (None if it has none)."""
    return getattr(err, "sqlstate", None) or (err.args[0] if err.args else None)


def metadata_error(
    url: str,
    action: str,
    name: str | None,
    err: BaseException,
    *,
    server_down: bool = False,
    kind: str | None = None,
) -> MetadataError:
    """The error to raise for ``err`` (the driver's exception) while doing ``action``.

    ``server_down``: the failure was connecting to, or losing, a server database; ``kind``: the
    caller already knows it is transient (a connection the pool found dead, a pool timeout).
    """
    store = f"{name!r} ({url})" if name else url
    message = f"metadata store {store}: {action} failed: {reason(err)}"
    path = sqlite_path(url)
    if path is not None and is_damage(err):
        return MetadataCorrupted(
            f"metadata store {store}: {action} failed: the database file is damaged"
            f" ({reason(err)})",
            hint=damaged_hint(path),
        )
    kind = kind or transient(err)
    if kind is not None:
        return DatabaseUnavailable(
            message,
            kind=kind,
            hint=f"this may pass by itself ({kind}): steps with retries=N try again; "
            f"if it persists, {hint(url, err, server_down=server_down) or 'check the database'}",
        )
    return MetadataError(message, hint=hint(url, err, server_down=server_down))


def transient(err: BaseException) -> str | None:
    """Whether a database error may pass by itself, and which kind (see ``TransientError``)."""
    code = error_code(err)
    if isinstance(code, str) and code in _PG_TRANSIENT:
        return _PG_TRANSIENT[code]
    if isinstance(code, str) and code.startswith("08"):  # connection_exception class
        return "network"
    if isinstance(code, int) and code in _MYSQL_TRANSIENT:
        return _MYSQL_TRANSIENT[code]
    text = reason(err).lower()
    for needle, kind in _TRANSIENT_TEXT:
        if needle in text:
            return kind
    return transient_kind(err)


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL (``file:`` URIs too); None for memory or other URLs."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0].lower() != "sqlite" or not rest.startswith("/"):
        return None
    database = urlparse.unquote(rest[1:].partition("?")[0])
    if database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        database = database[len("file:") :]
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


def hint(url: str, err: BaseException, *, server_down: bool = False) -> str | None:
    text = reason(err).lower()
    if url.startswith("sqlite"):
        path = sqlite_path(url) or url
        if "readonly database" in text:
            return (
                f"bevel cannot write {path}: the file or its folder is read-only here (or the URL"
                " opens it read-only). Reading works (bevel runs list, Client()); running"
                " pipelines and other changes need write access to the folder (chmod u+w), or a"
                " writable copy (BEVEL_HOME=/path/to/copy); `bevel doctor` checks the store"
            )
        if "unable to open database file" in text:
            return (
                f"bevel cannot open or create {path}: check that its folder exists and that"
                " this user may read and write it; `bevel doctor` checks the store"
            )
        if "locked" in text or "busy" in text:
            return (
                f"another process held the SQLite database for more than {BUSY_TIMEOUT_S:.0f} s;"
                " for many parallel workers use PostgreSQL or MySQL"
            )
        return None
    if error_code(err) in _DENIED_CODES or "permission denied" in text:
        return (
            "this database user may only read: reading works (bevel runs list, Client()), but"
            " runs, reaping and stack changes need a user allowed to insert, update and delete"
        )
    if server_down:
        return "check that the database server is running and reachable, and the user name and password"
    return None
