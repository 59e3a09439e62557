"""The tiny connection interface every query of the SQL store runs on, with two implementations.

A :class:`Conn` is one open transaction. Queries are portable SQL text with ``:named``
parameters (see :mod:`bevel.metadata.sql.dialect` for the few per-database pieces); rows come
back as tuples, in the order of the SELECT list. Implementations only provide
:meth:`Conn._execute` and :meth:`Conn._execute_many` on their driver:

- :mod:`bevel.metadata.sql.sqlite`: the standard library's ``sqlite3`` (the embedded default:
  no SQLAlchemy, no Alembic on a normal run);
- :mod:`bevel.metadata.sql.server`: a SQLAlchemy connection of psycopg (PostgreSQL) or PyMySQL
  (MySQL/MariaDB), for its pool, pre-ping and reconnects; the text goes to the driver as it is.

A :class:`Database` opens them: ``with db.transaction(write=True) as conn: ...``.

``trace_statements()`` records every statement any store of this process runs (tests count
them instead of timing them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from bevel.metadata.sql.dialect import Dialect

Row = Sequence[Any]
_listeners: list[Callable[[str, str], None]] = []


@contextmanager
def trace_statements() -> Iterator[list[str]]:
    """Collect the text of every statement run while this is open (``BEGIN``/``COMMIT`` and
    schema checks excluded), as the driver got it."""
    found: list[str] = []
    listener: Callable[[str, str], None] = lambda dialect, sql: found.append(sql)  # noqa: E731
    _listeners.append(listener)
    try:
        yield found
    finally:
        _listeners.remove(listener)


class Conn:
    """One transaction on one database. Subclasses implement the two ``_execute`` methods."""

    dialect: Dialect

    def _execute(self, sql: str, params: dict[str, Any]) -> Any:
        """Run compiled ``sql``; return a DB-API-like cursor (``fetchall``, ``rowcount``)."""
        raise NotImplementedError

    def _execute_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        text, bound = self.dialect.prepare(sql, params or {})
        if _listeners:
            for listener in _listeners:
                listener(self.dialect.name, text)
        return self._execute(text, bound)

    def all(self, sql: str, params: Mapping[str, Any] | None = None, /, **kw: Any) -> list[Row]:
        """Every row of a query."""
        return list(self.execute(sql, {**params, **kw} if params else kw).fetchall())

    def first(self, sql: str, params: Mapping[str, Any] | None = None, /, **kw: Any) -> Row | None:
        """The first row, or None."""
        rows = self.execute(sql, {**params, **kw} if params else kw).fetchmany(1)
        return rows[0] if rows else None

    def scalars(self, sql: str, params: Mapping[str, Any] | None = None, /, **kw: Any) -> list[Any]:
        """The first column of every row."""
        return [row[0] for row in self.all(sql, params, **kw)]

    def run(self, sql: str, params: Mapping[str, Any] | None = None, /, **kw: Any) -> int:
        """Run a write; the number of rows it matched."""
        count: int = self.execute(sql, {**params, **kw} if params else kw).rowcount
        return count

    def many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement once per parameter set (no list parameters)."""
        if not rows:
            return
        text = self.dialect.compile(sql).static
        if _listeners:
            for listener in _listeners:
                listener(self.dialect.name, text)
        self._execute_many(text, self.dialect.bind_rows(rows))


class Database(Protocol):
    """Where a store's transactions come from: one per URL and process."""

    dialect: Dialect
    url: str  # for display (credentials masked)

    def transaction(self, *, write: bool) -> AbstractContextManager[Conn]:
        """A transaction, committed when the block ends without an error (rolled back
        otherwise). Writers on SQLite take the write lock up front (``BEGIN IMMEDIATE``)."""
        ...

    def ensure_schema(self) -> None:
        """Create the tables of a new database, upgrade an older one, or raise SchemaTooNew."""
        ...

    def errors(self, action: str, name: str | None) -> AbstractContextManager[None]:
        """Turn this driver's errors into MetadataError naming the store and ``action``."""
        ...

    def retryable(self, err: BaseException) -> bool:
        """Whether a whole write transaction that failed with ``err`` may simply be re-run."""
        ...

    def close(self) -> None: ...
