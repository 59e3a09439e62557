"""Making sure the database has the schema this bevel expects, cheaply.

Every process checks once, on first use: one ``SELECT`` on ``alembic_version``.

- current head: nothing else happens, and Alembic (~400 ms to import) is never imported;
- table missing or empty (new database), or an older known revision: Alembic upgrades it to
  head, under a lock so that several processes starting at once on a fresh database do not
  collide (a file lock next to a SQLite file, an advisory lock on PostgreSQL and MySQL); whoever
  gets the lock second finds the work done;
- a revision this bevel does not know (a newer bevel wrote it): :class:`SchemaTooNew`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import IO

from sqlalchemy.engine import Connection, Engine

from bevel.errors import MetadataError, SchemaTooNew
from bevel.metadata.sql.engine import is_memory_sqlite
from bevel.metadata.sql.revision import HEAD, KNOWN_REVISIONS

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6265_7665_6C  # "bevel"
_MYSQL_LOCK_NAME = "bevel_schema_migration"
_LOCK_WAIT_S = 300


def read_revision(conn: Connection) -> tuple[str, ...] | None:
    """The revisions stamped in ``alembic_version``; None when the table does not exist."""
    if not conn.dialect.has_table(conn, "alembic_version"):
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return tuple(str(r) for r in rows)


def _is_current(found: tuple[str, ...] | None, url: str) -> bool:
    """True when at head; False when it needs an upgrade; raises when it is too new."""
    if found == (HEAD,):
        return True
    unknown = [rev for rev in found or () if rev not in KNOWN_REVISIONS]
    if unknown:
        raise SchemaTooNew(
            f"metadata database {url} has schema revision {', '.join(map(repr, unknown))}, which"
            f" this bevel does not know (it knows {', '.join(map(repr, KNOWN_REVISIONS))};"
            f" head {HEAD!r}): a newer bevel wrote it",
            hint="upgrade bevel (pip install -U bevel) in this environment",
        )
    return False


def ensure_schema(engine: Engine, write_engine: Engine, url: str) -> None:
    """Check the schema revision and upgrade to head if needed (see the module docstring)."""
    with engine.connect() as conn:
        if _is_current(read_revision(conn), url):
            return
    with schema_lock(engine), write_engine.connect() as conn:
        found = read_revision(conn)
        conn.commit()
        if _is_current(found, url):
            return  # another process upgraded it while we waited for the lock
        try:
            upgrade(conn)
        except Exception as err:
            conn.rollback()
            # A server database without advisory locks, or tables created by hand: if somebody
            # else got it to head meanwhile, all is well.
            if _is_current(read_revision(conn), url):
                conn.commit()
                return
            raise MetadataError(
                f"could not create or upgrade the schema of metadata database {url}: {err}",
                hint="if the database holds tables that bevel did not create, use an empty one",
            ) from err


def upgrade(conn: Connection, revision: str = HEAD) -> None:
    """Run the Alembic migrations up to ``revision`` on ``conn`` (committing them)."""
    # Function-local imports: Alembic costs ~400 ms to import and is only needed on a new
    # database or right after upgrading bevel, never on a normal run.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = conn
    command.upgrade(config, revision)
    conn.commit()


def schema_lock(engine: Engine) -> AbstractContextManager[None]:
    """A lock held by one process at a time while it migrates this database."""
    name = engine.dialect.name
    if name == "sqlite":
        if is_memory_sqlite(engine) or engine.url.database is None:
            return nullcontext()
        database = Path(engine.url.database)
        return file_lock(database.with_name(database.name + ".lock"))
    if name == "postgresql":
        return _sql_lock(
            engine,
            f"SELECT pg_advisory_lock({_PG_LOCK_KEY})",
            f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})",
        )
    if name in ("mysql", "mariadb"):
        return _sql_lock(
            engine,
            f"SELECT GET_LOCK('{_MYSQL_LOCK_NAME}', {_LOCK_WAIT_S})",
            f"SELECT RELEASE_LOCK('{_MYSQL_LOCK_NAME}')",
        )
    return nullcontext()


@contextmanager
def _sql_lock(engine: Engine, acquire: str, release: str) -> Iterator[None]:
    """A session-level advisory lock, held on its own connection."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(acquire)
        try:
            yield
        finally:
            conn.exec_driver_sql(release)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if needed), blocking until it is free."""
    with open(path, "a+b") as fh:
        _lock(fh)
        try:
            yield
        finally:
            _unlock(fh)


if sys.platform == "win32":
    import msvcrt
    import time

    def _lock(fh: IO[bytes]) -> None:
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _unlock(fh: IO[bytes]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)

    def _unlock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
