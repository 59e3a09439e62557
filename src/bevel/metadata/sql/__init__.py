"""The SQL metadata store: SQLite by default, PostgreSQL and MySQL/MariaDB for teams.

Kept import-free on purpose (importing SQLAlchemy costs ~130 ms): use
``from bevel.metadata.sql.store import SqlMetadataStore``.

- ``store``: :class:`SqlMetadataStore`, the protocol's methods as short transactions;
- ``reads`` / ``writes``: the queries, as functions over a connection;
- ``schema``: the tables (SQLAlchemy Core); ``types``: portable column types;
- ``engine``: per-database engine settings (SQLite WAL, ``BEGIN IMMEDIATE``) and error wrapping;
- ``migrate`` + ``revision``: the cheap schema check and the Alembic upgrade (``migrations/``).
"""
