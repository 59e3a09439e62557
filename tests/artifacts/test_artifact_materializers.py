"""Every materializer round-trips through a real store, with its metadata."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import OrderedDict
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pydantic
import pytest

from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers import registry
from bevel.artifacts.materializers.pickled import VERSION_FILENAME, PickleMaterializer
from bevel.artifacts.materializers.registry import (
    PICKLE_MATERIALIZER,
    resolve_materializer,
    type_ref,
)
from bevel.artifacts.publish import SavedArtifact, load_artifact, save_artifact
from bevel.errors import ArtifactError


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(str(tmp_path / "store"))


def roundtrip(store: LocalArtifactStore, obj: Any, tp: Any = None) -> tuple[Any, SavedArtifact]:
    tp = type(obj) if tp is None else tp
    ref = resolve_materializer(tp)
    assert ref is not None, tp
    saved = save_artifact(store, obj, ref)
    loaded = load_artifact(
        store,
        uri=saved.uri,
        materializer=ref,
        type_ref=type_ref(tp),
        content_hash=saved.content_hash,
        name="p.s.out",
    )
    return loaded, saved


class Pair(NamedTuple):
    a: int
    b: str


class Level(IntEnum):
    LOW = 1


class Mode(StrEnum):
    FAST = "fast"


@pytest.mark.parametrize(
    ("obj", "tp"),
    [
        (42, int),
        (1.5, float),
        ("héllo", str),
        (True, bool),
        (None, None),
        ([1, [2, 3], {"a": None}], list[Any]),
        ({"a": 1.0, "b": [True, "x"]}, dict[str, Any]),
        ((1, "two", 3.0), tuple[int, str, float]),
        (Pair(1, "x"), Pair),
        (Level.LOW, Level),
        (Mode.FAST, Mode),
        (OrderedDict(a=1), OrderedDict),
        (b"\x00\x01binary", bytes),
        (bytearray(b"ba"), bytearray),
    ],
)
def test_builtins_round_trip(store: LocalArtifactStore, obj: Any, tp: Any) -> None:
    loaded, _ = roundtrip(store, obj, tp)
    assert loaded == obj
    assert type(loaded) is type(obj)


def test_json_keeps_infinity(store: LocalArtifactStore) -> None:
    loaded, _ = roundtrip(store, [math.inf, 1.0])
    assert loaded == [math.inf, 1.0]


@pytest.mark.parametrize(
    ("obj", "offender"),
    [
        ({1: "a"}, "a dict key of type int"),
        ([1, {"x": np.complex64(1)}], "value[1]['x'] is a numpy.complex64"),
        ({"s": {1, 2}}, "value['s'] is a set"),
    ],
)
def test_json_refuses_what_it_cannot_round_trip(
    store: LocalArtifactStore, obj: Any, offender: str
) -> None:
    with pytest.raises(ArtifactError) as info:
        save_artifact(store, obj, registry.JSON_MATERIALIZER)
    text = str(info.value).replace("the value", "value")
    assert offender in text
    assert "hint:" in text and "pickle" in text


def test_json_metadata(store: LocalArtifactStore) -> None:
    _, saved = roundtrip(store, [1, 2, 3])
    assert saved.metadata == {"type": "list", "length": 3}


def test_numpy(store: LocalArtifactStore) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    loaded, saved = roundtrip(store, array)
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == np.float32
    assert saved.metadata == {"shape": [3, 4], "dtype": "float32", "size": 12, "nbytes": 48}


def test_numpy_scalar(store: LocalArtifactStore) -> None:
    loaded, _ = roundtrip(store, np.float64(2.5))
    assert loaded == 2.5 and type(loaded) is np.float64


def test_numpy_object_array_is_refused(store: LocalArtifactStore) -> None:
    with pytest.raises(ArtifactError, match="holds Python objects"):
        save_artifact(store, np.array([{}, 1], dtype=object), registry.NUMPY_MATERIALIZER)


def test_dataframe(store: LocalArtifactStore) -> None:
    frame = pd.DataFrame(
        {"x": [1, 2, 3], "y": ["a", "b", "c"], "t": pd.to_datetime(["2024-01-01"] * 3)},
        index=pd.Index([10, 20, 30], name="id"),
    )
    loaded, saved = roundtrip(store, frame)
    pd.testing.assert_frame_equal(loaded, frame)
    assert saved.metadata["rows"] == 3
    assert saved.metadata["columns"] == ["x", "y", "t"]
    assert saved.metadata["dtypes"]["x"] == "int64"
    assert saved.visualizations.keys() == {"preview", "statistics"}
    preview = Path(saved.visualizations["preview"]).read_text()
    assert preview.startswith('<div class="bv">') and "<table" in preview
    assert all(v in preview for v in ("2024-01-01", ">b<", "datetime64"))
    statistics = Path(saved.visualizations["statistics"]).read_text()
    assert "Statistics" in statistics and "3 rows" in statistics


def test_dataframe_with_mixed_column_says_how_to_fix(store: LocalArtifactStore) -> None:
    with pytest.raises(ArtifactError) as info:
        save_artifact(store, pd.DataFrame({"a": [1, "x"]}), registry.DATAFRAME_MATERIALIZER)
    text = str(info.value)
    assert "cannot write the DataFrame as Parquet" in text
    assert "astype(str)" in text


@pytest.mark.parametrize("name", ["price", 3, None])
def test_series(store: LocalArtifactStore, name: Any) -> None:
    series = pd.Series([1.5, 2.5], index=["a", "b"], name=name)
    loaded, saved = roundtrip(store, series)
    assert isinstance(loaded, pd.Series)
    pd.testing.assert_series_equal(loaded, series)
    assert saved.metadata["rows"] == 2


class Settings(pydantic.BaseModel):
    lr: float
    layers: list[int]


def test_pydantic(store: LocalArtifactStore) -> None:
    model = Settings(lr=0.1, layers=[32, 16])
    loaded, saved = roundtrip(store, model)
    assert loaded == model
    assert saved.metadata == {"model": "Settings", "fields": ["lr", "layers"]}


def test_pydantic_needs_its_class(store: LocalArtifactStore) -> None:
    ref = registry.PYDANTIC_MATERIALIZER
    saved = save_artifact(store, Settings(lr=1, layers=[]), ref)
    with pytest.raises(ArtifactError, match="only be loaded with its model class"):
        load_artifact(
            store,
            uri=saved.uri,
            materializer=ref,
            type_ref="gone_module:Settings",
            content_hash=saved.content_hash,
            name="cfg",
        )


@dataclasses.dataclass(frozen=True)
class Inner:
    a: int
    tags: tuple[str, ...] = ()


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    many: list[Inner]
    by_key: dict[str, Inner]
    maybe: Inner | None = None
    computed: int = dataclasses.field(default=0, init=False)


def test_dataclass_nested(store: LocalArtifactStore) -> None:
    obj = Outer("o", Inner(1, ("x",)), [Inner(2)], {"k": Inner(3)}, Inner(4))
    obj.computed = 7
    loaded, saved = roundtrip(store, obj)
    assert loaded == obj
    assert loaded.computed == 7
    assert isinstance(loaded.by_key["k"], Inner)
    assert saved.metadata["fields"] == ["name", "inner", "many", "by_key", "maybe", "computed"]


def test_path_file(store: LocalArtifactStore, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("hello")
    loaded, saved = roundtrip(store, report, Path)
    assert loaded.read_text() == "hello"
    assert loaded.name == "report.txt"
    assert not str(loaded).startswith(store.root)  # a private copy, never the stored files
    assert saved.metadata == {"kind": "file", "name": "report.txt", "size": 5}


def test_path_folder(store: LocalArtifactStore, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "w.bin").write_bytes(b"w")
    (folder / "sub" / "c.json").write_text("{}")
    loaded, saved = roundtrip(store, folder, Path)
    assert (loaded / "w.bin").read_bytes() == b"w"
    assert (loaded / "sub" / "c.json").read_text() == "{}"
    assert saved.metadata["files"] == 2


def test_path_missing(store: LocalArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        save_artifact(store, tmp_path / "nope", registry.PATH_MATERIALIZER)


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value


def test_pickle_records_python_version(store: LocalArtifactStore) -> None:
    saved = save_artifact(store, Opaque(3), PICKLE_MATERIALIZER)
    assert saved.python_version is not None and saved.python_version.count(".") == 2
    assert saved.metadata["python_version"] == saved.python_version
    loaded = load_artifact(
        store,
        uri=saved.uri,
        materializer=PICKLE_MATERIALIZER,
        type_ref=type_ref(Opaque),
        content_hash=saved.content_hash,
        name="p.s.out",
    )
    assert loaded == Opaque(3)


def test_pickle_python_version_mismatch(store: LocalArtifactStore) -> None:
    saved = save_artifact(store, Opaque(3), PICKLE_MATERIALIZER)
    version_file = Path(saved.uri) / VERSION_FILENAME
    version_file.write_text(json.dumps({"python": "2.7"}))
    with pytest.raises(ArtifactError) as info:
        load_artifact(
            store,
            uri=saved.uri,
            materializer=PICKLE_MATERIALIZER,
            type_ref=type_ref(Opaque),
            content_hash=saved.content_hash,
            name="p.s.out",
            verify=False,
        )
    text = str(info.value)
    assert "'p.s.out'" in text
    assert "pickled with Python 2.7" in text
    assert "load it with Python 2.7" in text
    assert "--no-cache" in text


def test_pickle_materializer_alone(tmp_path: Path) -> None:
    mat = PickleMaterializer()
    mat.save({"a": 1}, str(tmp_path))
    assert mat.load(str(tmp_path), dict) == {"a": 1}
