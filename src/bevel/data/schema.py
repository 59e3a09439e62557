"""Schemas: what a table is expected to look like, inferred from data and edited as YAML.

``infer_schema(df)`` records, per column, its type (see :mod:`bevel.data._frames`), whether it
may be missing values, the range of its values (numbers and datetimes) and the set of its
categories (columns of strings or ``category`` dtype with few distinct values). The result is a
:class:`Schema`: edit it in Python or in its YAML file, then check new data against it with
:func:`bevel.data.validate`::

    schema = infer_schema(train_df, range_margin=0.1)
    schema.columns["age"].max = 120          # domain knowledge
    schema.save("schema.yaml")               # review it in a pull request
    report = validate(new_df, Schema.load("schema.yaml"))

Ranges are the observed ones unless ``range_margin`` widens them by that fraction of the
observed span on each side (never below zero for columns that never were negative): a
held-out set often holds a few values just beyond what training saw.
"""

from __future__ import annotations

import math
from dataclasses import asdict, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from bevel._dataclass import dataclass
from bevel.data import _frames, _pandera, _schema_html
from bevel.data.statistics import profile
from bevel.errors import DataError

_HEADER = (
    "# A bevel schema: edit it freely; bevel.data.Schema.load() reads it back.\n"
    "# Per column: dtype, kind, nullable, min/max (numbers, datetimes), categories.\n"
)


@dataclass
class ColumnSchema:
    """What one column must look like. ``None`` means "not checked"."""

    dtype: str
    kind: str
    nullable: bool = True
    min: Any = None  # numbers, or ISO strings for datetimes
    max: Any = None
    categories: list[Any] | None = None  # the allowed values (None: any)
    required: bool = True  # a missing column is an anomaly

    def describe(self) -> str:
        parts = [self.dtype]
        if not self.nullable:
            parts.append("not null")
        if self.min is not None or self.max is not None:
            low = "-∞" if self.min is None else self.min
            high = "∞" if self.max is None else self.max
            parts.append(f"in [{low}, {high}]")
        if self.categories is not None:
            parts.append(f"{len(self.categories)} categories")
        return ", ".join(parts)


@dataclass
class Schema:
    """Columns by name, in order; ``strict``: a column not listed here is an anomaly."""

    columns: dict[str, ColumnSchema] = field(default_factory=dict)
    strict: bool = True

    def __getitem__(self, name: str) -> ColumnSchema:
        try:
            return self.columns[name]
        except KeyError:
            known = ", ".join(list(self.columns)[:20]) or "none"
            raise KeyError(f"no column {name!r} in this schema (columns: {known})") from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; pass it as a step parameter to make the schema part of the cache
        key (``validate_step(df, schema=Schema.load("schema.yaml").to_dict())``)."""
        return {
            "strict": self.strict,
            "columns": {name: _column_dict(c) for name, c in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "the schema") -> Schema:
        if not isinstance(data, dict) or not isinstance(data.get("columns", {}), dict):
            raise DataError(
                f"{source} is not a schema: expected a mapping with 'columns'",
                hint="start from bevel.data.infer_schema(df).to_yaml()",
            )
        unknown = set(data) - {"strict", "columns"}
        if unknown:
            raise DataError(
                f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))}",
                hint="a schema has 'strict' and 'columns'",
            )
        columns = {
            str(name): _column_from(spec, f"{source}: column {name!r}")
            for name, spec in (data.get("columns") or {}).items()
        }
        strict = data.get("strict", True)
        if not isinstance(strict, bool):
            raise DataError(f"{source}: 'strict' must be true or false, got {strict!r}")
        return cls(columns=columns, strict=strict)

    def to_yaml(self) -> str:
        import yaml  # light; only needed to write or read YAML

        return _HEADER + str(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    @classmethod
    def from_yaml(cls, text: str, source: str = "the schema") -> Schema:
        import yaml  # light; only needed to write or read YAML

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DataError(
                f"{source} is not valid YAML: {exc}",
                hint="check the indentation and quoting at the position shown",
            ) from exc
        return cls.from_dict(data, source)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_yaml(), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        source = Path(path)
        if not source.is_file():
            raise DataError(
                f"schema file not found: {source}",
                hint="write one with bevel.data.infer_schema(df).save(path)",
            )
        return cls.from_yaml(source.read_text(encoding="utf-8"), str(source))

    def to_frame(self) -> pd.DataFrame:
        """One row per column: dtype, kind, nullable, min, max, categories."""
        records = [{"column": n, **_column_dict(c)} for n, c in self.columns.items()]
        frame = pd.DataFrame.from_records(records)
        return frame.set_index("column") if not frame.empty else frame

    def to_pandera(self, *, dtypes: bool = True) -> Any:
        """The equivalent ``pandera.DataFrameSchema`` (``coerce=False``: a changed type is an
        error, never silently converted; ``strict`` as here; range and ``isin`` checks).

        ``dtypes=False`` leaves types unchecked (``validate`` checks them itself, comparing
        the stable type names of :mod:`bevel.data._frames`)."""
        return _pandera.to_pandera(self, dtypes=dtypes)

    def html(self) -> str:
        return _schema_html.render(self)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"Schema({len(self.columns)} columns, strict={self.strict})"


def infer_schema(
    data: Any, *, max_categories: int = 50, range_margin: float = 0.0, strict: bool = True
) -> Schema:
    """A :class:`Schema` describing ``data`` (see the module docstring).

    ``max_categories``: string columns with at most this many distinct values get their set of
    categories recorded; ``category`` columns always do (their declared categories).
    """
    frame = _frames.as_frame(data, "infer_schema(data)")
    if range_margin < 0 or not math.isfinite(range_margin):
        raise DataError(
            f"range_margin must be a fraction >= 0, got {range_margin!r}",
            hint="e.g. range_margin=0.1 widens each range by 10% of its span on both sides",
        )
    stats = profile(frame, top=max_categories + 1)
    columns: dict[str, ColumnSchema] = {}
    for (_, series), col in zip(frame.items(), stats.columns):
        spec = ColumnSchema(dtype=col.dtype, kind=col.kind, nullable=col.missing > 0)
        if col.kind == "numeric" and col.min is not None:
            spec.min, spec.max = _widen(col.min, col.max, range_margin, col.dtype)
        elif col.kind == "datetime" and col.min is not None:
            spec.min, spec.max = col.min, col.max
        if isinstance(series.dtype, pd.CategoricalDtype):
            spec.categories = [_frames.python_value(v) for v in series.dtype.categories]
        elif (
            col.kind == "categorical"
            and col.distinct is not None
            and col.distinct <= max_categories
        ):
            spec.categories = sorted((v for v, _ in col.top), key=str)
        columns[col.name] = spec
    return Schema(columns=columns, strict=strict)


def _widen(low: Any, high: Any, margin: float, dtype: str) -> tuple[Any, Any]:
    if not margin:
        return low, high
    pad = (float(high) - float(low)) * margin or abs(float(high)) * margin
    new_low, new_high = float(low) - pad, float(high) + pad
    if float(low) >= 0:
        new_low = max(new_low, 0.0)
    if dtype.lower().startswith(("int", "uint")):
        return math.floor(new_low), math.ceil(new_high)
    return new_low, new_high


def _column_dict(c: ColumnSchema) -> dict[str, Any]:
    data = asdict(c)
    if c.required:
        data.pop("required")
    return {k: v for k, v in data.items() if v is not None}


_FIELDS = {f.name for f in fields(ColumnSchema)}


def _column_from(spec: Any, where: str) -> ColumnSchema:
    if not isinstance(spec, dict):
        raise DataError(f"{where} must be a mapping (dtype, kind, nullable, ...)")
    unknown = set(spec) - _FIELDS
    if unknown:
        raise DataError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}",
            hint=f"column keys: {', '.join(sorted(_FIELDS))}",
        )
    missing = {"dtype", "kind"} - set(spec)
    if missing:
        raise DataError(f"{where}: missing {', '.join(sorted(missing))}")
    if spec["kind"] not in _frames.KINDS:
        raise DataError(f"{where}: kind {spec['kind']!r} is not one of {', '.join(_frames.KINDS)}")
    for key in ("nullable", "required"):
        if key in spec and not isinstance(spec[key], bool):
            raise DataError(f"{where}: {key!r} must be true or false, got {spec[key]!r}")
    cats = spec.get("categories")
    if cats is not None and not isinstance(cats, list):
        raise DataError(f"{where}: 'categories' must be a list, got {cats!r}")
    return ColumnSchema(**{**spec, "dtype": str(spec["dtype"])})
