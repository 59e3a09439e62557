"""The bridge to pandera: a :class:`~bevel.data.schema.Schema` as a ``DataFrameSchema``, run
lazily (every failure collected), its failure cases returned as a frame.

pandera costs about half a second to import, so it is imported here, inside the functions,
only when data is validated. Two choices differ from ``pandera.infer_schema``'s defaults:
``coerce=False`` (a float column turned into strings is a type change to report, not
something to convert silently) and ``strict`` as the schema says (new columns are reported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from bevel.errors import DataError

if TYPE_CHECKING:
    from bevel.data.schema import ColumnSchema, Schema

_PANDERA_DTYPES = {"str": "str", "datetime64": "datetime64[ns]", "object": "object"}


def _pandera() -> Any:
    try:
        import pandera.pandas as pa  # optional dependency: bevel[data]
    except ImportError as exc:
        raise DataError(
            f"validating data needs pandera, which is not installed ({exc})",
            hint="pip install 'bevel[data]'",
        ) from exc
    return pa


def _bound(value: Any, kind: str) -> Any:
    if value is None or kind != "datetime":
        return value
    return pd.Timestamp(value)


def _checks(pa: Any, spec: ColumnSchema) -> list[Any]:
    checks = []
    low, high = _bound(spec.min, spec.kind), _bound(spec.max, spec.kind)
    if low is not None and high is not None:
        checks.append(pa.Check.in_range(low, high))
    elif low is not None:
        checks.append(pa.Check.greater_than_or_equal_to(low))
    elif high is not None:
        checks.append(pa.Check.less_than_or_equal_to(high))
    if spec.categories is not None:
        checks.append(pa.Check.isin(spec.categories))
    return checks


def to_pandera(
    schema: Schema, *, dtypes: bool = True, skip_values: frozenset[str] = frozenset()
) -> Any:
    """``skip_values``: columns whose range and category checks are left out (their type
    changed, so comparing their values with the schema's would be meaningless)."""
    pa = _pandera()
    columns = {}
    for name, spec in schema.columns.items():
        dtype = _PANDERA_DTYPES.get(spec.dtype, spec.dtype) if dtypes else None
        if dtype and spec.dtype.startswith("datetime64["):
            dtype = f"datetime64[ns, {spec.dtype[11:-1]}]"
        columns[name] = pa.Column(
            dtype,
            checks=[] if name in skip_values else _checks(pa, spec),
            nullable=spec.nullable,
            required=spec.required,
            coerce=False,
        )
    return pa.DataFrameSchema(columns, strict=schema.strict, coerce=False)


def failure_cases(frame: pd.DataFrame, schema: Schema, skip_values: frozenset[str]) -> pd.DataFrame:
    """Every failure of ``frame`` against ``schema`` (types excluded), as pandera reports them:
    columns ``column``, ``check``, ``failure_case``, ``index``. Empty when all is well."""
    pa = _pandera()
    checker = to_pandera(schema, dtypes=False, skip_values=skip_values)
    try:
        checker.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases: pd.DataFrame = exc.failure_cases
        return cases
    except pa.errors.SchemaError as exc:  # raised eagerly for some frame-level problems
        raise DataError(f"validation could not run: {exc}") from exc
    return pd.DataFrame(columns=["column", "check", "failure_case", "index"])
