"""Resolving a type to its materializer, by "module:qualname" strings."""

from __future__ import annotations

import dataclasses
import typing
from collections import OrderedDict
from enum import IntEnum
from pathlib import Path, PosixPath
from typing import Annotated, Any, NewType

import numpy as np
import pandas as pd
import pydantic
import pytest
from sklearn.linear_model import LogisticRegression

import bevel
from bevel.artifacts.materializers import registry
from bevel.artifacts.materializers.registry import (
    BYTES_MATERIALIZER,
    DATACLASS_MATERIALIZER,
    DATAFRAME_MATERIALIZER,
    JSON_MATERIALIZER,
    NUMPY_MATERIALIZER,
    PATH_MATERIALIZER,
    PICKLE_MATERIALIZER,
    PYDANTIC_MATERIALIZER,
    SERIES_MATERIALIZER,
    SKLEARN_MATERIALIZER,
    get_materializer,
    import_ref,
    register_materializer,
    resolve_materializer,
    type_ref,
    unknown_type_hint,
)
from bevel.errors import ArtifactError, ConfigError


@pytest.fixture(autouse=True)
def _isolated_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_table", dict(registry._table))


@dataclasses.dataclass
class Point:
    x: int


class Config(pydantic.BaseModel):
    lr: float = 0.1


class SubFrame(pd.DataFrame):
    pass


class Color(IntEnum):
    RED = 1


class Opaque:
    pass


UserId = NewType("UserId", int)


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (int, JSON_MATERIALIZER),
        (float, JSON_MATERIALIZER),
        (str, JSON_MATERIALIZER),
        (bool, JSON_MATERIALIZER),
        (None, JSON_MATERIALIZER),
        (type(None), JSON_MATERIALIZER),
        (list, JSON_MATERIALIZER),
        (dict, JSON_MATERIALIZER),
        (tuple, JSON_MATERIALIZER),
        (list[int], JSON_MATERIALIZER),
        (dict[str, float], JSON_MATERIALIZER),
        (tuple[int, str], JSON_MATERIALIZER),
        (typing.List[int], JSON_MATERIALIZER),  # noqa: UP006
        (int | None, JSON_MATERIALIZER),
        (Annotated[int, "meta"], JSON_MATERIALIZER),
        (UserId, JSON_MATERIALIZER),
        (Color, JSON_MATERIALIZER),
        (OrderedDict, JSON_MATERIALIZER),
        (bytes, BYTES_MATERIALIZER),
        (np.ndarray, NUMPY_MATERIALIZER),
        (np.float64, NUMPY_MATERIALIZER),  # before builtins float in its MRO
        (np.int32, NUMPY_MATERIALIZER),
        (pd.DataFrame, DATAFRAME_MATERIALIZER),
        (SubFrame, DATAFRAME_MATERIALIZER),
        (pd.Series, SERIES_MATERIALIZER),
        (Config, PYDANTIC_MATERIALIZER),
        (Point, DATACLASS_MATERIALIZER),
        (Path, PATH_MATERIALIZER),
        (PosixPath, PATH_MATERIALIZER),
        (LogisticRegression, SKLEARN_MATERIALIZER),
    ],
)
def test_resolve(tp: Any, expected: str) -> None:
    assert resolve_materializer(tp) == expected


@pytest.mark.parametrize("tp", [Opaque, Any, set, pd.DataFrame | None, typing.TypeVar("T")])
def test_unresolvable(tp: Any) -> None:
    assert resolve_materializer(tp) is None


def test_pandas_classes_match_whatever_module_they_report() -> None:
    # pandas 3 reports "pandas:DataFrame", pandas 2 "pandas.core.frame:DataFrame"
    assert type_ref(pd.DataFrame) in ("pandas:DataFrame", "pandas.core.frame:DataFrame")
    assert import_ref(type_ref(pd.DataFrame)) is pd.DataFrame


def test_type_ref() -> None:
    assert type_ref(int) == "builtins:int"
    assert type_ref(None) == "builtins:NoneType"
    assert type_ref(list[int]) == "builtins:list"
    assert type_ref(Point) == f"{__name__}:Point"
    assert type_ref(int | None) == ""


def test_import_ref_round_trips() -> None:
    for tp in (int, type(None), Point, pd.DataFrame, Path):
        assert import_ref(type_ref(tp)) is tp
    with pytest.raises(ImportError):
        import_ref("no_such_module_xyz:Thing")


def test_register_by_class_and_string_and_subclasses() -> None:
    register_materializer(Opaque, "mylib.io:OpaqueMaterializer")
    assert resolve_materializer(Opaque) == "mylib.io:OpaqueMaterializer"

    class Child(Opaque):
        pass

    assert resolve_materializer(Child) == "mylib.io:OpaqueMaterializer"
    register_materializer(f"{__name__}:Point", "mylib.io:PointMaterializer")
    assert resolve_materializer(Point) == "mylib.io:PointMaterializer"  # beats the dataclass rule


@pytest.mark.parametrize("key", ["pandas:DataFrame", "pandas.core.frame:DataFrame"])
def test_any_importable_location_of_a_class_matches(key: str) -> None:
    for default in ("pandas:DataFrame", "pandas.core.frame:DataFrame"):
        del registry._table[default]
    register_materializer(key, "mylib.io:FrameMaterializer")
    assert resolve_materializer(pd.DataFrame) == "mylib.io:FrameMaterializer"
    assert resolve_materializer(SubFrame) == "mylib.io:FrameMaterializer"


def test_type_ref_of_wrappers() -> None:
    assert type_ref(Annotated[int, "x"]) == "builtins:int"
    assert type_ref(UserId) == "builtins:int"


def test_register_is_exported_from_bevel() -> None:
    assert bevel.register_materializer is register_materializer


def test_register_rejects_bad_refs() -> None:
    with pytest.raises(ConfigError, match="module:qualname"):
        register_materializer("not-a-ref", "mylib.io:X")


def test_get_materializer_is_cached() -> None:
    assert get_materializer(JSON_MATERIALIZER) is get_materializer(JSON_MATERIALIZER)
    assert get_materializer(PICKLE_MATERIALIZER).version


def test_get_materializer_import_failure_names_the_extra() -> None:
    with pytest.raises(ArtifactError) as info:
        get_materializer("no_such_module_xyz.io:Thing")
    assert "no_such_module_xyz.io:Thing" in str(info.value)
    assert "hint:" in str(info.value)


def test_unknown_type_hint() -> None:
    hint = unknown_type_hint(Opaque)
    assert f"bevel.register_materializer('{__name__}:Opaque', " in hint
    assert "@step(pickle=True)" in hint
    assert '@step(pickle=["output_name"])' in hint


def test_unknown_union_hint_asks_for_a_concrete_class() -> None:
    assert "one concrete class" in unknown_type_hint(pd.DataFrame | None)
