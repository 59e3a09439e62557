"""pandas DataFrames and Series as one Parquet file (pyarrow).

Parquet keeps dtypes and the index, is columnar, and is readable by every data tool. Each save
also stores a preview and statistics (:mod:`bevel.data.previews`: computed on a sample, so they
cost a fraction of the save). A Series is stored as a one-column frame; its name goes into a
small JSON file because a Series name need not be a string while a Parquet column name must be.

Written for speed, not size, unless configured: no compression, and dictionary encoding only
for columns of neither numbers nor booleans (text, categoricals), where it usually pays. Between
steps an artifact is written once and read a few times on the same disk, where pandas'
defaults (snappy, every column dictionary-encoded) take twice the write time of these settings
on a 1M x 10 float frame for the same size: random floats do not compress (snappy and lz4 give
up on them cheaply, zstd costs 1.7x the write and 2x the read for 6% fewer bytes) and
dictionary-encoding floats is pure overhead.
Frames of repetitive numbers, or stores where bytes cost (object stores, slow disks), gain from
compression: subclass and set ``compression`` (``"zstd"``, ``"snappy"``, ``"lz4"``, ``"gzip"``),
``compression_level`` or ``dictionary="all"``, then use the class with
``@step(materializers=...)`` or ``bevel.register_materializer``. Reading memory-maps the file;
a verified load of a big frame hashes the file on a thread while pyarrow decodes it
(:func:`bevel.artifacts.hashing.hash_beside`).
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bevel.artifacts.hashing import hash_beside
from bevel.artifacts.materializers.base import VisualizationValue
from bevel.data.previews import frame_visualizations
from bevel.errors import ArtifactError

FILENAME = "data.parquet"
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3 or bool(
    getattr(pd.options.mode, "copy_on_write", False) is True
)
_STR_INDEX_DTYPE = pd.Index(["a"]).dtype  # what read_parquet gives string column labels
_MASKED_DTYPES = (  # the nullable dtypes (public classes)
    pd.Int8Dtype, pd.Int16Dtype, pd.Int32Dtype, pd.Int64Dtype,
    pd.UInt8Dtype, pd.UInt16Dtype, pd.UInt32Dtype, pd.UInt64Dtype,
    pd.Float32Dtype, pd.Float64Dtype, pd.BooleanDtype,
)  # fmt: skip
SERIES_FILENAME = "series.json"
_MAX_COLUMNS = 200  # metadata lists at most this many columns
_VIZ_COLUMNS = 50  # the text preview shows at most this many columns


class ParquetOptions:
    """How frames are written (class attributes, so that a subclass changes them)."""

    #: ``None`` (no compression: fastest) or a Parquet codec: "zstd", "snappy", "lz4", "gzip".
    compression: ClassVar[str | None] = None
    compression_level: ClassVar[int | None] = None
    #: "text": dictionary-encode the columns of neither numbers nor booleans; "all"; "none".
    dictionary: ClassVar[str] = "text"

    def _write(self, frame: pd.DataFrame, directory: str) -> None:
        _write(frame, directory, self._options(frame))

    def _options(self, frame: pd.DataFrame) -> dict[str, Any]:
        if self.dictionary not in ("text", "all", "none"):
            raise ArtifactError(
                f"{type(self).__qualname__}.dictionary is {self.dictionary!r}",
                hint='use "text" (the default), "all" or "none"',
            )
        options: dict[str, Any] = {"compression": self.compression}
        if self.compression_level is not None:
            options["compression_level"] = self.compression_level
        if self.dictionary == "text":
            options["use_dictionary"] = [
                str(name)
                for name, dtype in zip(frame.columns, frame.dtypes, strict=True)
                if not (isinstance(dtype, np.dtype) and dtype.kind in "biufcmM")
            ]
        else:
            options["use_dictionary"] = self.dictionary == "all"
        return options


def _write(frame: pd.DataFrame, directory: str, options: dict[str, Any]) -> None:
    try:
        frame.to_parquet(os.path.join(directory, FILENAME), engine="pyarrow", **options)
    except (ValueError, TypeError, ImportError) as exc:  # pyarrow errors derive from these
        raise ArtifactError(
            f"cannot write the DataFrame as Parquet: {exc}",
            hint="Parquet needs string column names and columns of one type each "
            "(`df.columns = df.columns.astype(str)`, `df[col].astype(str)`); "
            "install pyarrow with pip install 'bevel[pandas]'",
        ) from exc


def _read(directory: str) -> pd.DataFrame:
    # memory_map: pyarrow decodes straight from the page cache instead of reading into a buffer
    # first; decoding always makes new arrays, so the frame does not depend on the file.
    return pd.read_parquet(os.path.join(directory, FILENAME), engine="pyarrow", memory_map=True)


def _frame_metadata(frame: pd.DataFrame) -> dict[str, Any]:
    columns = list(frame.columns[:_MAX_COLUMNS])
    facts: dict[str, Any] = {
        "rows": len(frame),
        "n_columns": frame.shape[1],
        "columns": [str(c) for c in columns],
        "dtypes": {str(c): str(frame[c].dtype) for c in columns if frame.columns.is_unique},
    }
    if frame.shape[1] > _MAX_COLUMNS:
        facts["columns_truncated"] = True
    return facts


def _head(directory: str, rows: int = 10) -> tuple[pd.DataFrame, int]:
    """The first ``rows`` rows and the row count, reading one batch, not the whole file."""
    import pyarrow as pa  # pyarrow comes with pandas' parquet support (bevel[pandas])
    import pyarrow.parquet as pq

    with pq.ParquetFile(os.path.join(directory, FILENAME)) as parquet:
        total = parquet.metadata.num_rows
        schema = parquet.schema_arrow
        batch = next(parquet.iter_batches(batch_size=rows), None)
        table = pa.Table.from_batches([batch], schema) if batch else schema.empty_table()
    head = table.to_pandas()
    # A RangeIndex is stored as (start, step) metadata, which a partial table loses.
    index = (schema.pandas_metadata or {}).get("index_columns") or [None]
    if isinstance(index[0], dict) and index[0].get("kind") == "range":
        start, step = index[0]["start"], index[0]["step"]
        head.index = pd.RangeIndex(start, start + step * len(head), step, name=index[0]["name"])
    return head, total


def _frame_text(frame: pd.DataFrame, total: int, columns: int) -> str:
    shown = frame.iloc[:, :_VIZ_COLUMNS]
    text = shown.to_string(max_colwidth=40)
    more = f", first {len(frame)} shown" if total > len(frame) else ""
    wide = f", first {_VIZ_COLUMNS} columns shown" if columns > _VIZ_COLUMNS else ""
    return f"{text}\n[{total} rows x {columns} columns{more}{wide}]"


# -- the in-memory hand-off: when a Parquet round trip is known to give the same frame ---------
#
# Measured with pyarrow (tests/artifacts/test_artifact_handoff.py checks every case against a
# real round trip): numeric, bool, string, nullable (Int64, boolean, Float64...) and datetime /
# timedelta columns at ms, us or ns (with or without a time zone) come back as they went in, as
# do a RangeIndex and a flat index of those types. Not everything does: object columns of str
# come back as "str", datetime64[s] as datetime64[us], categoricals of ints as ints, a
# DatetimeIndex loses its freq. For those the consumer reads the stored artifact instead.

_EXACT_UNITS = frozenset({"ms", "us", "ns"})


def _dtype_survives(dtype: Any) -> bool:
    if isinstance(dtype, np.dtype):
        if dtype.kind in "biuf":
            return dtype.isnative
        if dtype.kind in "mM":
            return np.datetime_data(dtype)[0] in _EXACT_UNITS
        return False
    if isinstance(dtype, pd.DatetimeTZDtype):
        return dtype.unit in _EXACT_UNITS
    return isinstance(dtype, (pd.StringDtype, *_MASKED_DTYPES))


def _index_survives(index: pd.Index) -> bool:
    if isinstance(index, pd.RangeIndex):
        return True
    if isinstance(index, pd.MultiIndex | pd.CategoricalIndex | pd.IntervalIndex):
        return False
    if getattr(index, "freq", None) is not None:  # a DatetimeIndex's freq is not stored
        return False
    if isinstance(index.dtype, np.dtype) and index.dtype.kind == "O":
        return False
    return _dtype_survives(index.dtype)


def _frame_survives(frame: pd.DataFrame) -> bool:
    columns = frame.columns
    return (
        type(frame) is pd.DataFrame
        and not frame.attrs
        and frame.flags.allows_duplicate_labels
        and type(columns) is pd.Index
        and columns.dtype == _STR_INDEX_DTYPE
        and columns.is_unique
        and _index_survives(frame.index)
        and all(_dtype_survives(dtype) for dtype in frame.dtypes)
    )


def _independent(obj: Any) -> Any:
    """A copy that shares nothing mutable with ``obj``: a shallow copy under copy-on-write
    (always on from pandas 3: data is copied only when one side writes), else a deep copy."""
    return obj.copy(deep=not _COPY_ON_WRITE)


class DataFrameMaterializer(ParquetOptions):
    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        self._write(obj, directory)

    def load(self, directory: str, type_: type | None) -> Any:
        return _read(directory)

    def load_hashed(self, directory: str, type_: type | None) -> tuple[Any, str] | None:
        """:meth:`load` with the folder hashed on a thread beside the decoding (both read the
        page cache: no copy), for a big frame; None for a small one (verified, then loaded)."""
        return hash_beside(directory, lambda: self.load(directory, type_))

    def reloaded(self, obj: Any, type_: type | None) -> Any:
        """A copy-on-write copy of a frame whose Parquet round trip is exact, else
        ``NotImplemented`` (see above)."""
        return _independent(obj) if _frame_survives(obj) else NotImplemented

    def metadata(self, obj: Any) -> dict[str, Any]:
        return _frame_metadata(obj)

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        return dict(frame_visualizations(obj))

    def preview(self, directory: str, type_: type | None) -> str | None:
        head, total = _head(directory)
        return _frame_text(head, total, head.shape[1])


class SeriesMaterializer(ParquetOptions):
    """A Series round-trips as a Series, with its name (any JSON value)."""

    version: ClassVar[str] = "1"
    _COLUMN = "__series__"

    def save(self, obj: Any, directory: str) -> None:
        try:
            name_json = json.dumps({"name": obj.name})
        except TypeError as exc:
            raise ArtifactError(
                f"the Series name {obj.name!r} is not JSON-serialisable",
                hint="name the Series with a str or int (`s.rename('price')`)",
            ) from exc
        self._write(obj.to_frame(name=self._COLUMN), directory)
        with open(os.path.join(directory, SERIES_FILENAME), "w", encoding="utf-8") as f:
            f.write(name_json)

    def load(self, directory: str, type_: type | None) -> Any:
        with open(os.path.join(directory, SERIES_FILENAME), encoding="utf-8") as f:
            name = json.loads(f.read())["name"]
        return _read(directory)[self._COLUMN].rename(name)

    def load_hashed(self, directory: str, type_: type | None) -> tuple[Any, str] | None:
        """As :meth:`DataFrameMaterializer.load_hashed`."""
        return hash_beside(directory, lambda: self.load(directory, type_))

    def reloaded(self, obj: Any, type_: type | None) -> Any:
        survives = (
            type(obj) is pd.Series
            and not obj.attrs
            and obj.flags.allows_duplicate_labels
            and (obj.name is None or type(obj.name) in (str, int, float, bool))
            and _index_survives(obj.index)
            and _dtype_survives(obj.dtype)
        )
        return _independent(obj) if survives else NotImplemented

    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"rows": len(obj), "name": str(obj.name), "dtype": str(obj.dtype)}

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        return dict(frame_visualizations(obj.to_frame()))

    def preview(self, directory: str, type_: type | None) -> str | None:
        with open(os.path.join(directory, SERIES_FILENAME), encoding="utf-8") as f:
            name = json.loads(f.read())["name"]
        head, total = _head(directory)
        text = head[self._COLUMN].rename(name).to_string(max_rows=len(head))
        more = f", first {len(head)} shown" if total > len(head) else ""
        return f"{text}\n[{total} rows{more}]"
