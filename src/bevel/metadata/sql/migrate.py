"""Creating and upgrading a schema with Alembic: server databases, and older SQLite files.

Imported only when needed (SQLAlchemy and Alembic cost ~0.3 s): a server database's store
imports it on first use, a SQLite store only to upgrade a file at an older revision (a new
SQLite file is created from the committed DDL, see :mod:`bevel.metadata.sql.sqlite`).

- current head: one ``SELECT`` and nothing else (Alembic itself is not imported);
- table missing or empty (new database), or an older known revision: Alembic upgrades it to
  head, under a lock so that several processes starting at once on a fresh database do not
  collide (a file lock next to a SQLite file, an advisory lock on PostgreSQL and MySQL); whoever
  gets the lock second finds the work done;
- a revision this bevel does not know: :class:`SchemaTooNew` (:mod:`.schema_check`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from bevel.errors import MetadataError
from bevel.metadata.sql.engine import WRITE_OPTION, build_engine, is_memory_sqlite
from bevel.metadata.sql.revision import HEAD
from bevel.metadata.sql.schema_check import LOCK_WAIT_S, file_lock, is_current

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6265_7665_6C  # "bevel"
_MYSQL_LOCK_NAME = "bevel_schema_migration"


def read_revision(conn: Connection) -> tuple[str, ...] | None:
    """The revisions stamped in ``alembic_version``; None when the table does not exist."""
    if not conn.dialect.has_table(conn, "alembic_version"):
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return tuple(str(r) for r in rows)


def ensure_schema(engine: Engine, write_engine: Engine, url: str) -> None:
    """Check the schema revision and upgrade to head if needed (see the module docstring)."""
    with engine.connect() as conn:
        if is_current(read_revision(conn), url):
            return
    with schema_lock(engine), write_engine.connect() as conn:
        found = read_revision(conn)
        conn.commit()
        if is_current(found, url):
            return  # another process upgraded it while we waited for the lock
        try:
            upgrade(conn)
        except Exception as err:
            conn.rollback()
            # A server database without advisory locks, or tables created by hand: if somebody
            # else got it to head meanwhile, all is well.
            if is_current(read_revision(conn), url):
                conn.commit()
                return
            raise MetadataError(
                f"could not create or upgrade the schema of metadata database {url}: {err}",
                hint="if the database holds tables that bevel did not create, use an empty one",
            ) from err


def upgrade_url(url: str) -> None:
    """Upgrade the database at ``url`` to head with Alembic (the caller holds the lock)."""
    engine = build_engine(url, connect_timeout=10.0)
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
            if not is_current(read_revision(conn), url):
                upgrade(conn)
    finally:
        engine.dispose()


def sqlite_ddl() -> str:
    """What ``sqlite_schema.sql`` must hold: the schema ``alembic upgrade head`` creates in a new
    SQLite database, statement by statement, as SQLite recorded it.

    Regenerate the file after adding a migration::

        python -c "from bevel.metadata.sql.migrate import sqlite_ddl; print(sqlite_ddl(), end='')" \\
            > src/bevel/metadata/sql/sqlite_schema.sql
    """
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bevel-ddl-") as tmp:
        path = Path(tmp) / "metadata.db"
        engine = build_engine(f"sqlite:///{path}", connect_timeout=10.0)
        try:
            with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
                upgrade(conn)
        finally:
            engine.dispose()
        db = sqlite3.connect(path)
        try:
            rows = db.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
            ).fetchall()
        finally:
            db.close()
    return DDL_HEADER + "".join(f"\n{sql};\n" for (sql,) in rows)


DDL_HEADER = """\
-- The head schema of the SQLite metadata store, exactly as `alembic upgrade head` creates it (a
-- test proves it). A new SQLite database is created from this file and stamped with the head
-- revision, without importing SQLAlchemy or Alembic. After adding a migration, regenerate it:
-- python -c "from bevel.metadata.sql.migrate import sqlite_ddl; print(sqlite_ddl(), end='')"
"""


def upgrade(conn: Connection, revision: str = HEAD) -> None:
    """Run the Alembic migrations up to ``revision`` on ``conn`` (committing them)."""
    # Function-local imports: Alembic costs ~400 ms to import and is only needed on a new
    # server database or right after upgrading bevel, never on a normal run.
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
            f"SELECT GET_LOCK('{_MYSQL_LOCK_NAME}', {LOCK_WAIT_S})",
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
