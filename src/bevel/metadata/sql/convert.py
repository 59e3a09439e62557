"""Records to row parameters and rows to records: the only place that knows both shapes.

Column names are the record's field names, so one generic pair of functions serves every
record; enum fields are stored as their string values.
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy.engine import RowMapping

from bevel.metadata.records import (
    ArtifactRecord,
    MetricRecord,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)

Row = RowMapping
R = TypeVar("R")


def record_params(record: Any) -> dict[str, Any]:
    """A record as insert/update parameters (enums as their values)."""
    params = {}
    for field in fields(record):
        value = getattr(record, field.name)
        params[field.name] = value.value if isinstance(value, Enum) else value
    return params


def make_record(cls: type[R], row: Row, **enums: type[Enum]) -> R:
    """A record from a row holding (at least) its required columns."""
    values = {f.name: row[f.name] for f in fields(cls) if f.name in row}  # type: ignore[arg-type]
    for name, enum in enums.items():
        values[name] = enum(values[name])
    return cls(**values)


run_params = record_params
step_run_params = record_params
artifact_params = record_params


def metric_params(m: MetricRecord) -> dict[str, Any]:
    return {**record_params(m), "value": float(m.value)}


def run_record(row: Row) -> RunRecord:
    return make_record(RunRecord, row, status=RunStatus)


def step_run_record(row: Row) -> StepRunRecord:
    return make_record(StepRunRecord, row, status=StepStatus)


def artifact_record(row: Row) -> ArtifactRecord:
    return make_record(ArtifactRecord, row)


def metric_record(row: Row) -> MetricRecord:
    return make_record(MetricRecord, row)
