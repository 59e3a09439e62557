"""Checking a SQL metadata database without changing it (what ``bevel doctor`` runs).

Opening a store for use may write: the first connection switches SQLite to WAL and creates or
upgrades the schema. A check must not, so this module opens the database its own way: SQLite
read-only through :mod:`sqlite3` (immutable when its folder is read-only and no WAL holds
changes, as :mod:`bevel.metadata.sql.sqlite` does), server databases through an engine whose
connections only read. It reports what it finds as :class:`Finding` rows, worst first never
hidden: a damaged file, a schema this bevel does not know, a user who may only read.

Example::

    for finding in check_database("sqlite:///.bevel/metadata.db"):
        print(finding.level, finding.what, finding.hint or "")
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from typing import TYPE_CHECKING, Literal

from bevel._dataclass import dataclass
from bevel.metadata.sql.failures import damaged_hint, is_damage, sqlite_path
from bevel.metadata.sql.revision import HEAD, KNOWN_REVISIONS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

Level = Literal["ok", "note", "problem"]

#: How many ``PRAGMA quick_check`` messages are shown (it reports one per damaged page).
_SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class Finding:
    """One thing checked: ``ok``, a ``note`` (works, but worth knowing), or a ``problem``."""

    level: Level
    what: str
    hint: str | None = None


def check_database(url: str) -> list[Finding]:
    """What is wrong with the metadata database at ``url``, if anything; never writes."""
    if url.split(":", 1)[0].split("+", 1)[0].lower() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            return [Finding("ok", "an in-memory database (private to one process): nothing kept")]
        return _check_sqlite(path)
    return _check_server(url)


# -- SQLite ------------------------------------------------------------------------------------


def _check_sqlite(path: str) -> list[Finding]:
    folder = os.path.dirname(path)
    if not os.path.exists(path):
        if os.path.isdir(folder) and not os.access(folder, os.W_OK):
            return [
                Finding(
                    "problem",
                    f"{path} does not exist, and its folder {folder} is read-only here",
                    hint=f"a run creates the database: it needs write access to {folder}",
                )
            ]
        return [Finding("note", f"{path} does not exist yet: the first run creates it")]
    wal = f"{path}-wal"
    wal_size = os.path.getsize(wal) if os.path.exists(wal) else 0
    found: list[Finding] = []
    if not os.access(path, os.R_OK):
        found.append(
            Finding(
                "problem",
                f"{path} cannot be read by this user",
                hint=f"ask its owner for read access (chmod a+r {path}), or use a copy",
            )
        )
        return found
    try:
        conn = _open_read_only(path, wal_size)
    except sqlite3.Error as err:
        found.append(_sqlite_problem(path, err))
        return found
    try:
        found.extend(_sqlite_contents(path, conn))
    except sqlite3.Error as err:
        found.append(_sqlite_problem(path, err))
        return found
    finally:
        conn.close()
    writable = os.access(path, os.W_OK) and os.access(folder, os.W_OK)
    if not writable:
        found.append(
            Finding(
                "note",
                f"{path} or its folder is read-only here: reading works (bevel runs list,"
                " Client()), runs and other changes do not",
                hint=f"give write access to {folder} (chmod u+w), or work on a copy"
                " (BEVEL_HOME=/path/to/copy)",
            )
        )
    return found


def _open_read_only(path: str, wal_size: int) -> sqlite3.Connection:
    """A connection that reads ``path`` and leaves it, and its folder, as they were.

    A WAL database makes every connection create ``-wal`` and ``-shm`` files beside it, and
    only a connection that may write removes them when it closes (a ``mode=ro`` one leaves them
    behind, empty). So when nothing is open there (no ``-wal``, ``-shm`` or ``-journal``) and the
    file and folder are writable, the check opens it as every bevel reader does, with
    ``PRAGMA query_only`` so that no statement can write; SQLite removes both files at close
    (an empty WAL writes nothing back to the file). Otherwise: ``mode=ro``, which creates
    nothing new there (the files exist already, or the folder is read-only, where it is
    immutable when no WAL holds changes: nobody can be writing).
    """
    folder = os.path.dirname(path)
    quiet = not any(os.path.exists(path + end) for end in ("-wal", "-shm", "-journal"))
    if quiet and os.access(path, os.W_OK) and os.access(folder, os.W_OK):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA query_only = ON")
        return conn
    options = "mode=ro"
    if not os.access(folder, os.W_OK) and not wal_size:
        options += "&immutable=1"  # no -shm can be made there, and nobody can be writing
    return sqlite3.connect(f"file:{urllib.parse.quote(path)}?{options}", uri=True)


def _sqlite_contents(path: str, conn: sqlite3.Connection) -> list[Finding]:
    found: list[Finding] = []
    rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
    if rows != ["ok"]:
        shown = "; ".join(rows[:_SHOWN_PROBLEMS]) + (" ..." if len(rows) > _SHOWN_PROBLEMS else "")
        found.append(
            Finding("problem", f"integrity check failed: {shown}", damaged_hint(path, doctor=False))
        )
        return found
    found.append(Finding("ok", f"{path} passes SQLite's integrity check (PRAGMA quick_check)"))
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    revisions = (
        tuple(str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version"))
        if "alembic_version" in tables
        else None
    )
    found.append(_schema_finding(revisions, tables))
    if "runs" in tables and "artifacts" in tables:
        (runs,) = conn.execute("SELECT count(*) FROM runs").fetchone()
        (arts,) = conn.execute("SELECT count(*) FROM artifacts").fetchone()
        found.append(Finding("ok", f"{runs} run(s) and {arts} artifact version(s) recorded"))
    return found


def _sqlite_problem(path: str, err: sqlite3.Error) -> Finding:
    if is_damage(err):
        return Finding("problem", f"{path} is damaged: {err}", damaged_hint(path, doctor=False))
    return Finding(
        "problem",
        f"cannot read {path}: {err}",
        hint=f"check the permissions of {path} and its folder",
    )


# -- schema ------------------------------------------------------------------------------------


def _schema_finding(revisions: tuple[str, ...] | None, tables: set[str]) -> Finding:
    if revisions is None or not revisions:
        if tables - {"alembic_version"}:
            return Finding(
                "problem",
                f"no bevel schema revision, but other tables ({', '.join(sorted(tables)[:5])})",
                hint="this is not a bevel metadata database: point bevel at an empty one",
            )
        return Finding("note", "empty database: the first run creates bevel's tables")
    unknown = [r for r in revisions if r not in KNOWN_REVISIONS]
    if unknown:
        return Finding(
            "problem",
            f"schema revision {', '.join(unknown)}, which this bevel does not know (it knows"
            f" {', '.join(KNOWN_REVISIONS)}): a newer bevel wrote it",
            hint="upgrade bevel (pip install -U bevel) in this environment",
        )
    if revisions != (HEAD,):
        return Finding(
            "note",
            f"schema revision {', '.join(revisions)} (older than {HEAD}): the next run or write"
            " upgrades it",
        )
    return Finding("ok", f"schema revision {HEAD} (current)")


# -- server databases --------------------------------------------------------------------------


def _check_server(url: str) -> list[Finding]:
    from sqlalchemy import exc

    from bevel.errors import BevelError
    from bevel.metadata.sql.engine import build_engine, mask_url
    from bevel.metadata.sql.migrate import read_revision
    from bevel.metadata.sql.server import server_errors

    shown = mask_url(url)
    try:
        engine = build_engine(url, connect_timeout=5.0)
    except BevelError as err:
        return [Finding("problem", err.message, err.hint)]
    found: list[Finding] = []
    try:
        with server_errors(shown, "checking"), engine.connect() as conn:
            found.append(Finding("ok", f"connected to {shown}"))
            tables = set(engine.dialect.get_table_names(conn))
            found.append(_schema_finding(read_revision(conn), tables))
            if "runs" in tables:
                runs = conn.exec_driver_sql("SELECT count(*) FROM runs").scalar_one()
                found.append(Finding("ok", f"{runs} run(s) recorded"))
                if engine.dialect.name == "postgresql":
                    found.extend(_pg_privileges(conn))
            conn.rollback()
    except BevelError as err:
        found.append(Finding("problem", err.message, err.hint))
    except exc.SQLAlchemyError as err:  # pragma: no cover - server_errors turns these into ours
        found.append(Finding("problem", f"{shown}: {err}"))
    finally:
        engine.dispose()
    return found


def _pg_privileges(conn: Connection) -> list[Finding]:
    may_write = conn.exec_driver_sql(
        "SELECT has_table_privilege('runs', 'INSERT') AND has_table_privilege('runs', 'UPDATE')"
    ).scalar_one()
    if may_write:
        return [Finding("ok", "this user may record runs")]
    return [
        Finding(
            "note",
            "this database user may only read: reading works (bevel runs list, Client()), runs"
            " and other changes do not",
            hint="use a user allowed to insert, update and delete in bevel's tables",
        )
    ]
