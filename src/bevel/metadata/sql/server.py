"""The SQL store on a server database (PostgreSQL, MySQL/MariaDB), through SQLAlchemy.

The queries are the same portable text SQLite runs (:mod:`bevel.metadata.sql.db`); SQLAlchemy
contributes what a long-lived client of a server needs: the connection pool, a liveness ping on
checkout, reconnecting after a server restart, a bounded connect timeout
(:mod:`bevel.metadata.sql.engine`). Statements go to the driver as they are
(``exec_driver_sql``): nothing is compiled per call. The schema is created and upgraded by
Alembic (:mod:`bevel.metadata.sql.migrate`).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, CursorResult

from bevel.errors import BevelError
from bevel.metadata.sql.db import Conn
from bevel.metadata.sql.dialect import DIALECTS
from bevel.metadata.sql.engine import WRITE_OPTION, mask_url, shared_engine
from bevel.metadata.sql.failures import metadata_error
from bevel.metadata.sql.migrate import ensure_schema

# Errors worth retrying a whole transaction for: unique-key races are IntegrityError;
# PostgreSQL serialization failure / deadlock; MySQL deadlock / lock wait timeout.
_RETRY_CODES = {"40001", "40P01", 1213, 1205}


@contextmanager
def server_errors(url: str, action: str, name: str | None = None) -> Iterator[None]:
    """SQLAlchemy's and the driver's errors as bevel errors naming the store (``url``, masked)
    and ``action`` (see :mod:`bevel.metadata.sql.failures`); bevel's own pass through."""
    try:
        yield
    except BevelError:
        raise
    except exc.TimeoutError as err:  # no pooled connection came free in time
        raise metadata_error(url, action, name, err, kind="timeout") from err
    except exc.StatementError as err:
        orig = err.orig if err.orig is not None else err
        down = isinstance(err, exc.OperationalError | exc.InterfaceError)
        lost = isinstance(err, exc.DBAPIError) and err.connection_invalidated
        raise metadata_error(
            url, action, name, orig, server_down=down, kind="network" if lost else None
        ) from err


class ServerConn(Conn):
    __slots__ = ("_conn", "dialect")

    def __init__(self, conn: Connection, dialect: Any) -> None:
        self._conn = conn
        self.dialect = dialect

    def _execute(self, sql: str, params: dict[str, Any]) -> CursorResult[Any]:
        return self._conn.exec_driver_sql(sql, params)

    def _execute_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self._conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]


class ServerDatabase:
    """Transactions on a PostgreSQL or MySQL/MariaDB database (one pooled Engine per URL)."""

    def __init__(self, url: str, *, connect_timeout: float) -> None:
        self.url = mask_url(url)
        self._engine = shared_engine(url, connect_timeout=connect_timeout)
        self._write_engine = self._engine.execution_options(**{WRITE_OPTION: True})
        self.dialect = DIALECTS[self._engine.dialect.name]
        _databases.add(self)

    def __repr__(self) -> str:
        return f"ServerDatabase({self.url!r})"

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[ServerConn]:
        if write:
            with self._write_engine.begin() as conn:
                yield ServerConn(conn, self.dialect)
        else:
            with self._engine.connect() as conn:
                yield ServerConn(conn, self.dialect)
                conn.rollback()

    def ensure_schema(self) -> None:
        ensure_schema(self._engine, self._write_engine, self.url)

    def errors(self, action: str, name: str | None) -> AbstractContextManager[None]:
        return server_errors(self.url, action, name)

    def retryable(self, err: BaseException) -> bool:
        if not isinstance(err, exc.DBAPIError):
            return False
        if isinstance(err, exc.IntegrityError):
            return True
        orig = err.orig
        code = getattr(orig, "sqlstate", None) or (orig.args[0] if orig and orig.args else None)
        return code in _RETRY_CODES

    def close(self) -> None:
        """Close pooled connections (the store reconnects if used again)."""
        self._engine.dispose()

    @property
    def engine(self) -> Any:
        return self._engine


# A forked child must not use the parent's pooled connections (SQLAlchemy's pooling docs):
# drop them, without closing, in every live database.
_databases: weakref.WeakSet[ServerDatabase] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for db in list(_databases):
        db.engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
