"""The SQL metadata store: SQLite by default, PostgreSQL and MySQL/MariaDB for teams.

Kept import-free on purpose: use ``from bevel.metadata.sql.store import SqlMetadataStore``.

- ``store``: :class:`SqlMetadataStore`, the protocol's methods as short transactions;
- ``reads`` / ``writes`` / ``status`` / ``definitions`` / ``gc``: the queries, written once as
  portable SQL text, as functions over a connection (``db.Conn``);
- ``dialect``: the few per-database pieces (parameters, locks, upserts, datetimes);
  ``tables``: records to rows and back;
- ``sqlite``: the embedded default on the standard library's ``sqlite3`` (no SQLAlchemy);
  ``server``: PostgreSQL and MySQL/MariaDB through SQLAlchemy connections (``engine``);
  ``failures``: driver errors as bevel errors;
- ``schema_check`` + ``revision``: the cheap schema check; ``sqlite_schema.sql``: the DDL of a
  new SQLite database; ``migrate``, ``schema``, ``types`` and ``migrations/``: Alembic.
"""
