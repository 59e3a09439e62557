"""What the data modules share: accepting a frame, and naming a column's kind and type.

A column's *kind* decides which statistics, checks and drift tests apply to it:

=============  =====================================================================
numeric        integers and floats (nullable ``Int64``/``Float64`` too) and timedeltas
boolean        ``bool`` and ``boolean``
datetime       ``datetime64`` with or without a time zone
categorical    ``category``, strings (``str``/``string``/object columns of strings)
other          anything else (mixed objects, lists, bytes): counted, not summarised
=============  =====================================================================

Its *type* (:func:`dtype_name`) is the dtype as a stable string: ``int64``, ``float64``,
``Int64``, ``bool``, ``str`` (whatever the string storage), ``category``, ``datetime64`` or
``datetime64[UTC]`` (the unit is not part of it: pandas picks ns or us by source),
``timedelta64``, ``object``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from bevel.errors import DataError

KINDS = ("numeric", "boolean", "datetime", "categorical", "other")


def as_frame(data: Any, what: str = "the data") -> pd.DataFrame:
    """A pandas DataFrame from a DataFrame, a Series, a pyarrow Table or a polars DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=data.name if data.name is not None else "value")
    module = type(data).__module__.partition(".")[0]
    if module in ("pyarrow", "polars") and hasattr(data, "to_pandas"):
        frame = data.to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise DataError(
        f"{what} is a {type(data).__module__}.{type(data).__qualname__}, not a table",
        hint="pass a pandas DataFrame or Series, a pyarrow Table or a polars DataFrame",
    )


def is_string_series(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return False
    if pdt.is_string_dtype(series.dtype) and not pdt.is_object_dtype(series.dtype):
        return True
    if not pdt.is_object_dtype(series.dtype):
        return False
    head = series.iloc[:2000]
    head = head[head.notna()]
    if head.empty:
        head = series[series.notna()]
    if head.empty:
        return True  # only missing values: treat as (empty) strings
    return bool(pdt.infer_dtype(head, skipna=True) == "string")


def kind_of(series: pd.Series) -> str:
    """The column's kind (see the module docstring)."""
    dtype = series.dtype
    if pdt.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pdt.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pdt.is_timedelta64_dtype(dtype) or pdt.is_numeric_dtype(dtype):
        return "numeric"
    if is_string_series(series):
        return "categorical"
    return "other"


def dtype_name(series: pd.Series) -> str:
    """The column's type as a stable string (see the module docstring)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pdt.is_datetime64_any_dtype(dtype):
        tz = getattr(dtype, "tz", None)
        return f"datetime64[{tz}]" if tz is not None else "datetime64"
    if pdt.is_timedelta64_dtype(dtype):
        return "timedelta64"
    if pdt.is_object_dtype(dtype):
        return "str" if is_string_series(series) else "object"
    if pdt.is_string_dtype(dtype):
        return "str"
    return str(dtype)


def as_float(series: pd.Series) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Numbers as float64 with NaN for missing (datetimes as epoch ns, timedeltas as seconds,
    booleans as 0/1). Precision beyond 2**53 is lost, which statistics can afford."""
    dtype = series.dtype
    if pdt.is_datetime64_any_dtype(dtype):
        values = (
            series.to_numpy(dtype="datetime64[ns]")
            if getattr(dtype, "tz", None) is None
            else (series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]"))
        )
        out: np.ndarray[Any, np.dtype[np.float64]] = values.view("int64").astype("float64")
        out[np.isnat(values)] = np.nan
        return out
    if pdt.is_timedelta64_dtype(dtype):
        seconds = series.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
        return np.asarray(seconds, dtype="float64")
    result = series.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(result, dtype="float64")


def column_label(name: Any) -> str:
    return name if isinstance(name, str) else str(name)


def python_value(value: Any) -> Any:
    """A numpy/pandas scalar as the plain Python value JSON and YAML can store."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NaT:
        return None
    return value
