"""The few things that differ between SQLite, PostgreSQL and MySQL/MariaDB, in one place.

Every query of the SQL store is written once, as portable SQL text with named parameters
(``:run_id``), and run unchanged on every database. What is not portable is said here and only
here:

- **parameters**: ``:name`` (``sqlite3``'s style) becomes ``%(name)s`` for psycopg and PyMySQL;
  a list or tuple value expands ``IN (:ids)`` to one parameter per item (an empty one to
  ``NULL``, which matches nothing: use it with ``IN``, never ``NOT IN``);
- **quoted names**: ``"key"`` is written with double quotes (``key`` is reserved on MySQL),
  which MySQL spells with backticks;
- **row locks**: ``{for_share}``, ``{for_key_share}``, ``{for_update}``, ``{for_no_key_update}``
  at the end of a SELECT become PostgreSQL's and MySQL's clauses, and nothing on SQLite (whose
  writers are serialised by ``BEGIN IMMEDIATE`` anyway);
- **upserts**: :meth:`Dialect.upsert` (``ON CONFLICT ... DO UPDATE`` / ``ON DUPLICATE KEY``);
- **datetimes**: bound values are converted by :meth:`Dialect.bind` (every datetime parameter,
  automatically) and read back by :meth:`Dialect.time`, always as aware UTC. SQLite stores the
  text ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC; what SQLAlchemy wrote in earlier versions, so old
  databases read the same and text order is time order), MySQL a naive UTC ``DATETIME(6)``,
  PostgreSQL a ``timestamptz``;
- **case-insensitive match**: :func:`contains_pattern` plus ``lower(col) LIKE lower(:p)
  ESCAPE '/'`` is the same on all three (MySQL's binary collation makes ``LIKE`` case-sensitive,
  hence the ``lower``).

Compiling is cached per (dialect, query text), so a query costs one dict lookup after its first
use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"(?P<quoted>[A-Za-z_][A-Za-z0-9_]*)\"|:(?P<param>[A-Za-z_]\w*)|%"
)
_LIKE_SPECIAL = re.compile(r"([/%_])")
_LISTS = (list, tuple)


class Compiled:
    """A query compiled for one dialect: its text, and how to expand list parameters."""

    __slots__ = ("names", "parts", "static")

    def __init__(self, parts: list[str | tuple[str]], static: str) -> None:
        self.parts = parts  # literal text, or (parameter name,)
        self.names = [p[0] for p in parts if isinstance(p, tuple)]
        self.static = static  # the text when no parameter is a list


class Dialect:
    """One database family's spelling of the non-portable parts (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        pyformat: bool,
        quote: str,
        locks: Mapping[str, str],
        upsert_tail: str,
    ) -> None:
        self.name = name
        self.pyformat = pyformat
        self._quote = quote
        self._locks = dict(locks)
        self._upsert_tail = upsert_tail
        self._compiled: dict[str, Compiled] = {}

    def __repr__(self) -> str:
        return f"Dialect({self.name!r})"

    # --- queries ----------------------------------------------------------------------------

    def compile(self, sql: str) -> Compiled:
        found = self._compiled.get(sql)
        if found is None:
            found = self._compiled[sql] = self._compile(sql)
        return found

    def _compile(self, sql: str) -> Compiled:
        text = sql.format_map(self._locks) if "{" in sql else sql
        parts: list[str | tuple[str]] = []
        last = 0
        for m in _TOKENS.finditer(text):
            token = m.group(0)
            parts.append(text[last : m.start()])
            last = m.end()
            if token.startswith("'"):  # a string literal: left alone, but for % (below)
                parts.append(token.replace("%", "%%") if self.pyformat else token)
            elif m["quoted"]:
                parts.append(f"{self._quote}{m['quoted']}{self._quote}")
            elif m["param"]:
                parts.append((m["param"],))
            else:  # a literal % (psycopg and PyMySQL format the text with %)
                parts.append("%%" if self.pyformat else "%")
        parts.append(text[last:])
        static = "".join(p if isinstance(p, str) else self.placeholder(p[0]) for p in parts)
        return Compiled(parts, static)

    def placeholder(self, name: str) -> str:
        return f"%({name})s" if self.pyformat else f":{name}"

    def prepare(self, sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The text and parameters to hand to the driver: datetimes converted, lists expanded."""
        compiled = self.compile(sql)
        bound: dict[str, Any] = {}
        lists = False
        for key, value in params.items():  # one pass: most values are passed as they are
            kind = type(value)
            if kind in _LISTS:
                lists = True
            elif kind is not str and isinstance(value, datetime):
                value = self.bind(value)
            bound[key] = value
        if not lists:
            return compiled.static, bound
        out: list[str] = []
        for part in compiled.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name = part[0]
            value = bound[name]
            if type(value) not in _LISTS:
                out.append(self.placeholder(name))
                continue
            items = bound.pop(name)
            if not items:
                out.append("NULL")
            keys = [f"{name}__{i}" for i in range(len(items))]
            for key, item in zip(keys, items, strict=True):
                bound[key] = self.bind(item)
            out.append(", ".join(self.placeholder(k) for k in keys))
            bound[name] = items  # kept for a second use of the same name in the query
        bound = {k: v for k, v in bound.items() if type(v) not in _LISTS}
        return "".join(out), bound

    def bind_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        bind = self.bind
        return [
            {k: bind(v) if isinstance(v, datetime) else v for k, v in row.items()} for row in rows
        ]

    # --- datetimes --------------------------------------------------------------------------

    def bind(self, value: Any) -> Any:
        """A parameter as the driver takes it (datetimes: UTC in this database's form)."""
        if not isinstance(value, datetime):
            return value
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if self.name == "postgresql":
            return utc
        naive = utc.replace(tzinfo=None)
        return naive.isoformat(" ", "microseconds") if self.name == "sqlite" else naive

    def time(self, value: Any) -> datetime | None:
        """A stored datetime read back as an aware UTC datetime (None stays None)."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]

    # --- statements that differ -------------------------------------------------------------

    def upsert(self, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
        """``INSERT`` of ``columns`` that replaces the other columns of a row whose ``keys``
        exist already (portable text: compile it like any query)."""
        cols = ", ".join(f'"{c}"' for c in columns)
        values = ", ".join(f":{c}" for c in columns)
        sets = ", ".join(self._upsert_tail.format(c=f'"{c}"') for c in columns if c not in keys)
        if self.name == "mysql":
            return f"INSERT INTO {table} ({cols}) VALUES ({values}) ON DUPLICATE KEY UPDATE {sets}"
        conflict = ", ".join(f'"{k}"' for k in keys)
        return (
            f"INSERT INTO {table} ({cols}) VALUES ({values}) "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
        )


def contains_pattern(text: str) -> str:
    """A ``LIKE`` pattern matching values that contain ``text`` (``ESCAPE '/'``)."""
    return "%" + _LIKE_SPECIAL.sub(r"/\1", text) + "%"


def prefix_pattern(text: str) -> str:
    """A ``LIKE`` pattern matching values that start with ``text`` (``ESCAPE '/'``)."""
    return _LIKE_SPECIAL.sub(r"/\1", text) + "%"


_NO_LOCKS = {"for_share": "", "for_key_share": "", "for_update": "", "for_no_key_update": ""}

SQLITE = Dialect(
    "sqlite", pyformat=False, quote='"', locks=_NO_LOCKS, upsert_tail="{c} = excluded.{c}"
)
POSTGRESQL = Dialect(
    "postgresql",
    pyformat=True,
    quote='"',
    locks={
        "for_share": "FOR SHARE",
        "for_key_share": "FOR KEY SHARE",
        "for_update": "FOR UPDATE",
        "for_no_key_update": "FOR NO KEY UPDATE",
    },
    upsert_tail="{c} = excluded.{c}",
)
MYSQL = Dialect(
    "mysql",
    pyformat=True,
    quote="`",
    locks={
        "for_share": "LOCK IN SHARE MODE",
        "for_key_share": "LOCK IN SHARE MODE",
        "for_update": "FOR UPDATE",
        "for_no_key_update": "FOR UPDATE",
    },
    upsert_tail="{c} = VALUES({c})",
)
DIALECTS = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "mysql": MYSQL, "mariadb": MYSQL}
