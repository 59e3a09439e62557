"""The tables as the queries see them: column names in record order, and which columns hold
JSON, datetimes or a status, so that records go in and come out in one generic way.

Plain Python (no SQLAlchemy): the store's every query uses these, on SQLite through the standard
library. ``schema.py`` declares the same tables for Alembic; a test checks that both agree
column for column, so adding a column means adding it in both (and a migration).

Example::

    RUN.columns("r")                  # 'r.id, r.pipeline, r.name, ...' for a SELECT
    RUN.record(row, dialect)          # a RunRecord from a row selected with those columns
    RUN.params(run)                   # insert parameters: JSON encoded, enums as values
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields
from enum import Enum
from typing import Any, Generic, TypeVar

from bevel._json import encoder
from bevel.metadata.records import (
    ArtifactRecord,
    ComponentRecord,
    MetricRecord,
    RunRecord,
    RunStatus,
    SecretRecord,
    StepRunRecord,
    StepStatus,
)
from bevel.metadata.sql.dialect import Dialect

R = TypeVar("R")

#: Table name -> its columns, in the order of ``schema.py`` (checked by a test).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "pipelines": ("name", "created", "source"),
    "runs": (
        "id", "pipeline", "name", "status", "created", "ended", "params", "config", "plan",
        "code_fingerprint", "stack", "error", "host", "heartbeat",
    ),
    "step_runs": (
        "id", "run_id", "step_id", "step_name", "status", "started", "ended", "cache_key",
        "cached_from", "attempts", "params", "code_hash", "error", "traceback", "logs_uri",
        "cache_ingredients",
    ),
    "artifacts": (
        "id", "name", "version", "uri", "type_ref", "materializer", "materializer_version",
        "content_hash", "size", "producer_step_run_id", "run_id", "output_name", "metadata",
        "visualizations", "python_version", "created",
    ),
    "lineage": ("step_run_id", "direction", "name", "artifact_id"),
    "metrics": ("id", "run_id", "step_run_id", "key", "value", "step", "created"),
    "metadata_entries": ("entity", "entity_id", "key", "value", "created"),
    "components": ("name", "type", "flavor", "config", "created", "updated"),
    "stacks": ("name", "created"),
    "stack_members": ("stack", "type", "component"),
    "secrets": ("name", "value", "created", "updated"),
    "users": ("id", "name", "kind", "role", "created", "disabled"),
    "models": ("name", "description", "created"),
    "model_versions": (
        "id", "model", "number", "name", "run_id", "stage", "exclusive_stage", "description",
        "metadata", "metrics", "created",
    ),
    "model_artifacts": ("version_id", "name", "artifact_id", "role"),
    "model_events": (
        "id", "model", "version", "from_stage", "to_stage", "actor", "reason", "created",
    ),
    "api_keys": (
        "id", "user_id", "label", "hash", "created", "expires", "revoked", "last_used",
    ),
}  # fmt: skip

#: Column names that are reserved words somewhere: always written quoted ("key").
RESERVED = frozenset({"key"})

JSON_COLUMNS = frozenset(
    {"params", "config", "plan", "cache_ingredients", "metadata", "visualizations"}
)
TIME_COLUMNS = frozenset({"created", "ended", "started", "heartbeat", "updated"})


# json.dumps with options builds an encoder on every call, JSONEncoder.encode sets one up: a
# step run writes several values (bevel._json).
_ENCODE = encoder(ensure_ascii=False)


def to_json(value: Any) -> str | None:
    """JSON as stored: compact, UTF-8 (byte-identical on every database); None is NULL."""
    if value is None:
        return None
    return _ENCODE(value)


def from_json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def quoted(column: str) -> str:
    return f'"{column}"' if column in RESERVED else column


class Shape(Generic[R]):
    """How one record class maps onto (some of) the columns of one table.

    ``names`` maps a record field to its column when they differ (``SecretRecord.blob`` is the
    ``value`` column); ``json`` names extra JSON columns beyond the usual ones.
    """

    def __init__(
        self,
        cls: type[R],
        table: str,
        *,
        names: dict[str, str] | None = None,
        enums: dict[str, type[Enum]] | None = None,
        json_columns: Sequence[str] = (),
    ) -> None:
        self.cls = cls
        self.table = table
        self.fields = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
        renamed = names or {}
        self.cols = tuple(renamed.get(f, f) for f in self.fields)
        unknown = set(self.cols) - set(TABLE_COLUMNS[table])
        if unknown:
            raise AssertionError(f"{cls.__name__}: no column {sorted(unknown)} in {table}")
        self._enums = enums or {}
        self._json = JSON_COLUMNS | set(json_columns)
        self._encoders = tuple(
            (field, col, col in self._json)
            for field, col in zip(self.fields, self.cols, strict=True)
        )
        self._decoders: dict[str, list[Callable[[Any], Any] | None]] = {}
        self._lists: dict[str, str] = {}

    def columns(self, alias: str = "") -> str:
        """The SELECT list for :meth:`record`: every column, in record order."""
        found = self._lists.get(alias)
        if found is None:
            prefix = f"{alias}." if alias else ""
            found = self._lists[alias] = ", ".join(prefix + quoted(c) for c in self.cols)
        return found

    def _decoders_for(self, dialect: Dialect) -> list[Callable[[Any], Any] | None]:
        found = self._decoders.get(dialect.name)
        if found is None:
            found = []
            for field, col in zip(self.fields, self.cols, strict=True):
                if field in self._enums:
                    found.append(self._enums[field])
                elif col in self._json:
                    found.append(from_json)
                elif col in TIME_COLUMNS:
                    found.append(dialect.time)
                else:
                    found.append(None)
            self._decoders[dialect.name] = found
        return found

    def record(self, row: Sequence[Any], dialect: Dialect, start: int = 0) -> R:
        """The record from ``row[start:]``, selected with :meth:`columns`."""
        decoders = self._decoders_for(dialect)
        values = [
            value if decode is None or value is None else decode(value)
            for decode, value in zip(decoders, row[start : start + len(decoders)], strict=True)
        ]
        return self.cls(*values)

    def records(self, rows: Sequence[Sequence[Any]], dialect: Dialect) -> list[R]:
        return [self.record(row, dialect) for row in rows]

    def params(self, record: R, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Insert/update parameters, named by column: JSON encoded, enums as their values;
        without the columns in ``skip``."""
        out: dict[str, Any] = {}
        for field, col, is_json in self._encoders:
            if col in skip:
                continue
            value = getattr(record, field)
            if isinstance(value, Enum):
                value = value.value
            elif is_json:
                value = to_json(value)
            out[col] = value
        return out

    def insert(self) -> str:
        """``INSERT INTO table (...) VALUES (:...)`` of every column of the record."""
        cols = ", ".join(quoted(c) for c in self.cols)
        values = ", ".join(f":{c}" for c in self.cols)
        return f"INSERT INTO {self.table} ({cols}) VALUES ({values})"


RUN = Shape(RunRecord, "runs", enums={"status": RunStatus})
STEP_RUN = Shape(StepRunRecord, "step_runs", enums={"status": StepStatus})
ARTIFACT = Shape(ArtifactRecord, "artifacts")
METRIC = Shape(MetricRecord, "metrics")
COMPONENT = Shape(ComponentRecord, "components")
SECRET = Shape(SecretRecord, "secrets", names={"blob": "value"})
