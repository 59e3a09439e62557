"""The in-memory hand-off gives exactly what loading the stored artifact gives.

``Materializer.reloaded(obj, type_)`` computes in memory what ``load`` would return after
``save(obj)``, or says ``NotImplemented``. Every case here is checked against a real round trip
through the files: same type, dtype, shape, memory layout, index and values, and a value that
shares nothing mutable with the producer's object.
"""

from __future__ import annotations

import tempfile
from collections import OrderedDict
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest

from bevel.artifacts.materializers.registry import (
    BYTES_MATERIALIZER,
    DATAFRAME_MATERIALIZER,
    JSON_MATERIALIZER,
    NUMPY_MATERIALIZER,
    SERIES_MATERIALIZER,
    get_materializer,
)


class Pair(NamedTuple):
    a: int
    b: int


class Level(IntEnum):
    LOW = 1


def round_trip(ref: str, obj: Any, type_: type | None) -> Any:
    mat = get_materializer(ref)
    with tempfile.TemporaryDirectory() as folder:
        mat.save(obj, folder)
        return mat.load(folder, type_)


def same(a: Any, b: Any) -> None:
    """Equal values of exactly the same types, all the way down."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(
            a, b, check_exact=True, check_index_type=True, check_column_type=True,
            check_frame_type=True, check_flags=True, check_freq=True,
        )  # fmt: skip
        assert list(a.dtypes) == list(b.dtypes) and a.attrs == b.attrs
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(
            a, b, check_exact=True, check_index_type=True, check_series_type=True,
            check_freq=True, check_names=True,
        )  # fmt: skip
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.flags.c_contiguous == b.flags.c_contiguous
        assert a.flags.f_contiguous == b.flags.f_contiguous
        assert a.flags.writeable == b.flags.writeable
        assert a.strides == b.strides  # a length-1 axis may have any stride in memory
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a == b
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            same(a[key], b[key])
    else:
        assert a == b


def check_handoff(ref: str, obj: Any, type_: type | None) -> Any:
    """``reloaded`` is NotImplemented or equals the real round trip; returns it."""
    handed = get_materializer(ref).reloaded(obj, type_)
    if handed is not NotImplemented:
        same(handed, round_trip(ref, obj, type_))
    return handed


JSON_CASES = [
    ([(1, 2)], list),
    ((1, [2, (3,)]), tuple),
    ({"a": (1.0, True, None)}, dict),
    (Pair(1, 2), Pair),
    (Level.LOW, Level),
    (OrderedDict(b=1, a=2), OrderedDict),
    ({"n": np.int64(3), "mean": np.float32(0.5)}, dict),
    ("text", str),
    (1.0, float),
]


@pytest.mark.parametrize(("value", "type_"), JSON_CASES, ids=repr)
def test_json(value: Any, type_: type) -> None:
    handed = check_handoff(JSON_MATERIALIZER, value, type_)
    assert handed is not NotImplemented  # the JSON round trip is always done in memory
    if isinstance(value, list | dict):
        assert handed is not value


def test_json_hands_over_lists_where_a_reload_gives_lists() -> None:
    assert get_materializer(JSON_MATERIALIZER).reloaded([(1, 2)], list) == [[1, 2]]


def test_bytes() -> None:
    for value, type_ in [(b"abc", bytes), (bytearray(b"abc"), bytearray)]:
        handed = check_handoff(BYTES_MATERIALIZER, value, type_)
        assert handed is not NotImplemented
    mutable = bytearray(b"abc")
    assert get_materializer(BYTES_MATERIALIZER).reloaded(mutable, bytearray) is not mutable


ARRAYS = {
    "c-order": np.arange(12.0).reshape(3, 4),
    "fortran": np.asfortranarray(np.arange(12).reshape(3, 4)),
    "strided-view": np.arange(20)[::2],
    "transposed-view": np.arange(12).reshape(3, 4).T[1:],
    "0-d": np.array(5, dtype=np.int16),
    "bool": np.array([True, False]),
    "structured": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    "fixed-str": np.array(["ab", "c"]),
    "read-only": np.frombuffer(b"\x01\x02\x03\x04", dtype=np.uint8),
}


@pytest.mark.parametrize("name", ARRAYS)
def test_numpy(name: str) -> None:
    array = ARRAYS[name]
    handed = check_handoff(NUMPY_MATERIALIZER, array, np.ndarray)
    assert handed is not NotImplemented and not np.shares_memory(handed, array)


@pytest.mark.parametrize("name", ARRAYS)
def test_numpy_as_loaded_is_the_array_itself_or_not_implemented(name: str) -> None:
    """``as_loaded`` (the last reader's hand-off, no copy) gives the array itself only where
    loading gives an equal array of the same layout, flags included."""
    array = ARRAYS[name]
    for candidate in (array, np.array(array, copy=True, order="K")):
        given = get_materializer(NUMPY_MATERIALIZER).as_loaded(candidate, np.ndarray)
        if given is not NotImplemented:
            assert given is candidate
            same(given, round_trip(NUMPY_MATERIALIZER, candidate, np.ndarray))


def test_numpy_as_loaded_refuses_views_subclasses_and_scalars() -> None:
    mat = get_materializer(NUMPY_MATERIALIZER)
    base = np.arange(10.0)
    assert mat.as_loaded(base[2:], np.ndarray) is NotImplemented  # shares memory with base
    assert mat.as_loaded(np.ma.masked_array([1, 2]), np.ndarray) is NotImplemented
    assert mat.as_loaded(np.array(1.5, dtype=np.float32), np.float32) is NotImplemented
    assert mat.as_loaded(np.array([object()]), np.ndarray) is NotImplemented
    assert mat.as_loaded(base, np.ndarray) is base
    for shape in ((1, 5), (5, 1)):  # Fortran-ordered, also C-contiguous: saved in C order
        odd = np.ones(shape, order="F")
        assert odd.strides != np.ones(shape).strides
        assert mat.as_loaded(odd, np.ndarray) is NotImplemented
        same(mat.reloaded(odd, np.ndarray), round_trip(NUMPY_MATERIALIZER, odd, np.ndarray))


def test_numpy_scalars_and_subclasses() -> None:
    handed = check_handoff(NUMPY_MATERIALIZER, np.float32(1.5), np.float32)
    assert type(handed) is np.float32
    masked = np.ma.masked_array([1, 2], mask=[False, True])
    assert get_materializer(NUMPY_MATERIALIZER).reloaded(masked, np.ndarray) is NotImplemented


def _with_attrs() -> pd.DataFrame:
    frame = pd.DataFrame({"a": [1]})
    frame.attrs["source"] = "x"
    return frame


FRAMES = {
    # handed over in memory
    "int-float-bool": (pd.DataFrame({"i": [1, 2], "f": [0.5, -0.0], "b": [True, False]}), True),
    "small-ints": (pd.DataFrame({"i": np.arange(3, dtype=np.int8), "u": np.arange(3, dtype="u4")}), True),
    "strings": (pd.DataFrame({"s": ["x", None, "z"]}), True),
    "nullable": (pd.DataFrame({"i": pd.array([1, None], dtype="Int64"),
                               "b": pd.array([True, None], dtype="boolean")}), True),
    "datetimes": (pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2021-06-01"]),
                                "z": pd.to_datetime(["2020-01-01", "2021-06-01"]).tz_localize("UTC"),
                                "d": pd.to_timedelta([1, 2], unit="s")}), True),
    "sliced": (pd.DataFrame({"x": np.arange(10.0)}).iloc[3:7], True),
    "int-index": (pd.DataFrame({"x": [1, 2, 3]}, index=pd.Index([5, 3, 9], name="id")), True),
    "str-index": (pd.DataFrame({"x": [1, 2]}, index=["p", "q"]), True),
    "named-columns": (pd.DataFrame({"x": [1]}).rename_axis("cols", axis=1), True),
    "empty": (pd.DataFrame({"x": pd.Series([], dtype="float64")}), True),
    # read back from the store: their round trip is not exact
    "object-strings": (pd.DataFrame({"s": pd.Series(["x", "y"], dtype=object)}), False),
    "datetime-seconds": (pd.DataFrame({"t": pd.to_datetime(["2020-01-01"]).astype("datetime64[s]")}), False),
    "int-categorical": (pd.DataFrame({"c": pd.Categorical([3, 1], categories=[3, 1])}), False),
    "freq-index": (pd.DataFrame({"x": [1, 2]}, index=pd.date_range("2020", periods=2)), False),
    "multiindex": (pd.DataFrame({"x": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "a"), (2, "b")])), False),
    "attrs": (_with_attrs(), False),
}  # fmt: skip


@pytest.mark.parametrize("name", FRAMES)
def test_dataframes(name: str) -> None:
    frame, in_memory = FRAMES[name]
    handed = check_handoff(DATAFRAME_MATERIALIZER, frame, pd.DataFrame)
    assert (handed is not NotImplemented) == in_memory
    if in_memory and len(frame) and len(frame.columns):
        column = frame.columns[0]
        before = frame[column].copy()
        handed.iloc[0, 0] = handed.iloc[1 % len(frame), 0]
        handed[column + "_new"] = 1
        pd.testing.assert_series_equal(frame[column], before)  # the producer's frame is intact
        assert list(frame.columns) == list(FRAMES[name][0].columns)


@pytest.mark.parametrize(
    ("series", "in_memory"),
    [
        (pd.Series([1.0, 2.0], name="price"), True),
        (pd.Series([1, 2], name=3), True),
        (pd.Series(["a", None]), True),
        (pd.Series([1, 2], name=("a", "b")), False),  # a tuple name comes back a list
        (pd.Series(pd.Categorical([1, 2])), False),
    ],
    ids=repr,
)
def test_series(series: pd.Series, in_memory: bool) -> None:
    handed = check_handoff(SERIES_MATERIALIZER, series, pd.Series)
    assert (handed is not NotImplemented) == in_memory
