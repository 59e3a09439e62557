"""Check a table against a :class:`~bevel.data.schema.Schema` and list every anomaly.

Anomaly kinds (``Anomaly.kind``):

==================  ==========================================================================
missing_column      a column of the schema is absent
new_column          a column the schema does not know (``strict`` schemas)
type_changed        the column's type differs (``float64`` -> ``str``); its range and category
                    checks are then skipped, since they would compare unlike things
unexpected_nulls    missing values in a column the schema says is never missing
out_of_range        values below ``min`` or above ``max``
unseen_category     values outside the column's ``categories``
==================  ==========================================================================

Each anomaly has a count (rows, or 1 for a column-level one), a few example values and rows,
and a sentence saying what was expected. Types are compared by bevel (stable type names, so a
frame read back from Parquet is not "changed"); the value checks run in pandera, lazily, so
every failure is collected in one pass.

The policy ``on_anomaly`` says what happens when there are anomalies: ``"ignore"`` (return the
report), ``"warn"`` (also emit an :class:`AnomaliesFound` warning) or ``"fail"`` (raise
:class:`~bevel.errors.DataValidationFailed`, which fails the step it runs in).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, field
from typing import Any

import pandas as pd

from bevel._dataclass import dataclass
from bevel.data import _frames, _pandera, _validate_html
from bevel.data.schema import Schema
from bevel.errors import DataError, DataValidationFailed

ANOMALY_KINDS = (
    "missing_column",
    "new_column",
    "type_changed",
    "unexpected_nulls",
    "out_of_range",
    "unseen_category",
)
POLICIES = ("ignore", "warn", "fail")


class AnomaliesFound(UserWarning):
    """``validate(..., on_anomaly="warn")`` found anomalies (the report has them all)."""


@dataclass
class Anomaly:
    column: str
    kind: str
    count: int  # rows affected (1 for a missing or new column, a type change)
    detail: str  # what was expected and what was found, in words
    examples: list[Any] = field(default_factory=list)  # offending values (most frequent first)
    rows: list[Any] = field(default_factory=list)  # index labels of some offending rows

    def __str__(self) -> str:
        return f"{self.column}: {self.kind.replace('_', ' ')} - {self.detail}"


@dataclass
class AnomalyReport:
    """Every anomaly of one table against one schema (empty: the data is as expected)."""

    rows: int
    columns: int
    anomalies: list[Anomaly] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the schema's columns

    @property
    def ok(self) -> bool:
        return not self.anomalies

    def __len__(self) -> int:
        return len(self.anomalies)

    def by_kind(self, kind: str) -> list[Anomaly]:
        return [a for a in self.anomalies if a.kind == kind]

    def summary(self) -> str:
        """One line: ``no anomalies in 1,000 rows x 5 columns`` or the anomalies per kind."""
        if self.ok:
            return f"no anomalies in {self.rows:,} rows x {self.columns} columns"
        counts: dict[str, int] = {}
        for a in self.anomalies:
            counts[a.kind] = counts.get(a.kind, 0) + 1
        kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
        columns = sorted({a.column for a in self.anomalies})
        shown = ", ".join(columns[:5]) + (", ..." if len(columns) > 5 else "")
        noun = "anomaly" if len(self.anomalies) == 1 else "anomalies"
        return f"{len(self.anomalies)} {noun} in {self.rows:,} rows ({kinds}): {shown}"

    def to_frame(self) -> pd.DataFrame:
        """One row per anomaly: column, anomaly, count, share of rows, detail, examples."""
        records = [
            {
                "column": a.column,
                "anomaly": a.kind,
                "count": a.count,
                "share": (a.count / self.rows) if self.rows and a.kind in _ROW_KINDS else None,
                "detail": a.detail,
                "examples": a.examples,
            }
            for a in self.anomalies
        ]
        return pd.DataFrame.from_records(
            records, columns=["column", "anomaly", "count", "share", "detail", "examples"]
        )

    def raise_for_anomalies(self) -> None:
        """Raise :class:`~bevel.errors.DataValidationFailed` if there is any anomaly."""
        if self.ok:
            return
        lines = "\n".join(f"  - {a}" for a in self.anomalies[:20])
        more = f"\n  ... and {len(self.anomalies) - 20} more" if len(self.anomalies) > 20 else ""
        raise DataValidationFailed(
            f"data validation failed: {self.summary()}\n{lines}{more}",
            report=self,
            hint="fix the data, or update the schema if the change is expected "
            "(edit its YAML, or infer_schema(df) again); on_anomaly='warn' only warns",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnomalyReport:
        return cls(
            rows=int(data["rows"]),
            columns=int(data["columns"]),
            anomalies=[Anomaly(**a) for a in data.get("anomalies", [])],
            checked=list(data.get("checked", [])),
        )

    def html(self) -> str:
        return _validate_html.render(self)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"AnomalyReport({self.summary()})"


_ROW_KINDS = ("unexpected_nulls", "out_of_range", "unseen_category")


def validate(
    data: Any, schema: Schema | dict[str, Any], *, on_anomaly: str = "ignore", examples: int = 5
) -> AnomalyReport:
    """Check ``data`` against ``schema`` and report every anomaly (see the module docstring).

    ``schema`` may be a :class:`Schema` or its ``to_dict()``.
    """
    if on_anomaly not in POLICIES:
        raise DataError(
            f"on_anomaly must be one of {', '.join(POLICIES)}, got {on_anomaly!r}",
            hint='on_anomaly="fail" fails the step; "warn" warns; "ignore" only reports',
        )
    frame = _frames.as_frame(data, "validate(data)")
    spec = schema if isinstance(schema, Schema) else Schema.from_dict(schema)
    names = [_frames.column_label(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise DataError(
            "validate: the frame has duplicate column names",
            hint="rename them first (df.columns = [...]) so each can be checked",
        )
    if names != list(frame.columns):
        frame = frame.set_axis(names, axis=1)
    anomalies, changed = _type_anomalies(frame, spec)
    cases = _pandera.failure_cases(frame, spec, frozenset(changed))
    anomalies += _value_anomalies(cases, spec, examples)
    order = {name: i for i, name in enumerate([*spec.columns, *names])}
    rank = {kind: i for i, kind in enumerate(ANOMALY_KINDS)}
    anomalies.sort(key=lambda a: (order.get(a.column, len(order)), rank.get(a.kind, 99)))
    report = AnomalyReport(
        rows=len(frame), columns=frame.shape[1], anomalies=anomalies, checked=list(spec.columns)
    )
    if report.anomalies and on_anomaly == "fail":
        report.raise_for_anomalies()
    if report.anomalies and on_anomaly == "warn":
        warnings.warn(f"data validation: {report.summary()}", AnomaliesFound, stacklevel=2)
    return report


def _type_anomalies(frame: pd.DataFrame, schema: Schema) -> tuple[list[Anomaly], list[str]]:
    """Type changes, and the columns whose kind changed (their value checks are skipped)."""
    anomalies, changed = [], []
    for name, spec in schema.columns.items():
        if name not in frame.columns:
            continue
        series = frame[name]
        actual = _frames.dtype_name(series)
        if actual == spec.dtype:
            continue
        kind = _frames.kind_of(series)
        anomalies.append(
            Anomaly(
                column=name,
                kind="type_changed",
                count=1,
                detail=f"expected {spec.dtype}, got {actual}",
                examples=[_example(v) for v in series.dropna().head(3)],
            )
        )
        if kind != spec.kind:
            changed.append(name)
    return anomalies, changed


def _value_anomalies(cases: pd.DataFrame, schema: Schema, examples: int) -> list[Anomaly]:
    result: list[Anomaly] = []
    if cases.empty:
        return result
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        check = str(check)
        if check == "column_in_dataframe":
            for name in group["failure_case"]:
                result.append(Anomaly(str(name), "missing_column", 1, "the column is absent"))
            continue
        if check == "column_in_schema":
            for name in group["failure_case"]:
                result.append(
                    Anomaly(str(name), "new_column", 1, "a column the schema does not list")
                )
            continue
        name = str(column)
        spec = schema.columns.get(name)
        rows = [_example(i) for i in group["index"].head(examples) if i is not None]
        if check == "not_nullable":
            result.append(
                Anomaly(
                    name,
                    "unexpected_nulls",
                    len(group),
                    "missing values in a column expected to have none",
                    rows=rows,
                )
            )
        elif check.startswith(("in_range", "greater_than", "less_than")):
            values = pd.Series(group["failure_case"].to_numpy())
            extremes = values.drop_duplicates()
            shown = [_example(v) for v in _extremes(extremes, examples)]
            low = "-∞" if spec is None or spec.min is None else spec.min
            high = "∞" if spec is None or spec.max is None else spec.max
            result.append(
                Anomaly(
                    name,
                    "out_of_range",
                    len(group),
                    f"values outside [{low}, {high}]",
                    examples=shown,
                    rows=rows,
                )
            )
        elif check.startswith("isin"):
            counts = group["failure_case"].astype(str).value_counts()
            top = ", ".join(f"{v!r} ({n:,} rows)" for v, n in counts.head(examples).items())
            allowed = len(spec.categories or []) if spec else 0
            result.append(
                Anomaly(
                    name,
                    "unseen_category",
                    len(group),
                    f"{len(counts)} value(s) outside the {allowed} known categories: {top}",
                    examples=list(counts.head(examples).index),
                    rows=rows,
                )
            )
        else:
            result.append(
                Anomaly(name, "check_failed", len(group), f"check {check} failed", rows=rows)
            )
    return result


def _extremes(values: pd.Series, n: int) -> list[Any]:
    """The most extreme offending values (both ends), for numbers; the first ones otherwise."""
    try:
        ordered = values.sort_values(ignore_index=True)
    except TypeError:
        return list(values.head(n))
    if len(ordered) <= n:
        return list(ordered)
    half = n // 2
    return [*ordered.iloc[:half], *ordered.iloc[len(ordered) - (n - half) :]]


def _example(value: Any) -> Any:
    value = _frames.python_value(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
