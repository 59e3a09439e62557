"""Column types that behave the same on SQLite, PostgreSQL and MySQL/MariaDB.

- :class:`UtcDateTime`: always hands back timezone-aware UTC datetimes. SQLite and MySQL have no
  time zone in their datetime types, so values are stored as naive UTC there (and as
  ``timestamptz`` on PostgreSQL); MySQL gets microsecond precision (``DATETIME(6)``), whose default
  of whole seconds would make "newest first" orderings unstable.
- :class:`LongText`: ``TEXT``, but ``LONGTEXT`` on MySQL, whose ``TEXT`` stops at 64 KiB (too small
  for a plan or a long traceback).
- :class:`JsonText`: JSON held in a :class:`LongText` column. Serialising ourselves (instead of
  ``sqlalchemy.JSON``) gives byte-identical storage and identical NULL handling on every database.

The MySQL-specific types are looked up in :meth:`load_dialect_impl`, i.e. only when a MySQL
dialect is in use (and therefore already imported), so SQLite users never import them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

_MYSQL = ("mysql", "mariadb")


def _mysql_type(name: str, **kwargs: Any) -> TypeEngine[Any]:
    # Function-local import: the MySQL dialect module is only loaded when talking to MySQL
    # (the dialect itself already imported it then), keeping it off the SQLite path.
    from sqlalchemy.dialects import mysql

    type_: TypeEngine[Any] = getattr(mysql, name)(**kwargs)
    return type_


class UtcDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and always read back timezone-aware.

    Naive datetimes given to the store are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in _MYSQL:
            return _mysql_type("DATETIME", fsp=6)
        return DateTime(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LongText(TypeDecorator[str]):
    """Unbounded text: ``TEXT`` on SQLite/PostgreSQL, ``LONGTEXT`` on MySQL."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in _MYSQL:
            return _mysql_type("LONGTEXT")
        return Text()


class JsonText(TypeDecorator[Any]):
    """A JSON value serialised compactly into a :class:`LongText` column (SQL NULL for None)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in _MYSQL:
            return _mysql_type("LONGTEXT")
        return Text()

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
