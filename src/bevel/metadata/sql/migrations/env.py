"""Alembic environment for bevel's metadata database.

bevel runs upgrades itself (:func:`bevel.metadata.sql.migrate.ensure_schema`) and hands over an
open connection in ``config.attributes["connection"]``. A developer running the ``alembic`` command
passes the database with ``-x url=...`` instead. Batch mode is on so that ALTERs also work on
SQLite (which rebuilds the table).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from bevel.metadata.sql.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        # SQLite can roll DDL back (bevel emits BEGIN itself, see engine.py): a migration that
        # fails half-way leaves the database as it was.
        transactional_ddl=True if connection.dialect.name == "sqlite" else None,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():  # ``alembic upgrade --sql``: print the DDL for a DBA
        url: str = (
            context.get_x_argument(as_dictionary=True).get("url")
            or context.config.get_main_option("sqlalchemy.url")
            or "sqlite://"
        )
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    target = context.get_x_argument(as_dictionary=True).get("url")
    if not target:
        raise SystemExit("pass the database: alembic -x url=sqlite:///path/to/metadata.db ...")
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


main()
