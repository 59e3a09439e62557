"""numpy scalars inside JSON outputs are stored as JSON numbers; what JSON still cannot store is
named by its key path, with a hint, and before the step runs when the annotation says so."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TypedDict

import numpy as np
import pytest

from bevel import pipeline, step
from bevel.api import compile_pipeline
from bevel.artifacts.materializers.json_builtins import NOT_JSON_HINT, JsonMaterializer
from bevel.client.client import Client
from bevel.dag.checks import json_type_problem
from bevel.errors import ArtifactError, MaterializerNotFound, OutputTypeError, RunFailed


def _round_trip(value: Any, tmp_path: Path) -> tuple[Any, str]:
    mat = JsonMaterializer()
    mat.save(value, str(tmp_path))
    text = (tmp_path / "data.json").read_text()
    return mat.load(str(tmp_path), dict), text


def test_numpy_scalars_in_a_dict_are_stored_as_json_numbers(tmp_path: Path) -> None:
    value = {
        "n": np.int64(10),
        "mean": np.float64(2.5),
        "small": np.float32(0.5),
        "ok": np.bool_(True),
        "label": np.str_("cat"),
        "counts": [np.int32(1), np.uint8(2)],
        "nested": {"x": (np.int16(3), np.float16(1.5))},
        np.str_("numpy key"): 1,
    }
    loaded, text = _round_trip(value, tmp_path)
    assert json.loads(text) == loaded  # plain JSON any tool can read
    assert loaded == {
        "n": 10,
        "mean": 2.5,
        "small": 0.5,
        "ok": True,
        "label": "cat",
        "counts": [1, 2],
        "nested": {"x": [3, 1.5]},
        "numpy key": 1,
    }
    assert type(loaded["n"]) is int and type(loaded["ok"]) is bool
    assert type(loaded["small"]) is float and type(loaded["label"]) is str
    assert '"n":10' in text and '"ok":true' in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"when": {"start": datetime(2024, 1, 1)}},
            "the value['when']['start'] is a datetime.datetime",
        ),
        ({"z": [1, np.complex128(1 + 2j)]}, "the value['z'][1] is a numpy.complex128"),
        ({"arr": np.arange(3)}, "the value['arr'] is a numpy.ndarray"),
        ({np.int64(1): "a"}, "the value is a dict key of type numpy.int64"),
        ({"tags": {"a"}}, "the value['tags'] is a set"),
    ],
)
def test_what_json_cannot_store_is_named_by_its_key_path(
    value: Any, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ArtifactError) as err:
        JsonMaterializer().save(value, str(tmp_path))
    assert err.value.message.startswith(message)
    assert err.value.message.endswith("which JSON cannot store")
    assert err.value.hint == NOT_JSON_HINT
    assert not (tmp_path / "data.json").exists()


def test_a_step_returning_numpy_values_in_a_dict_runs(bevel_home: Path) -> None:
    @step
    def stats() -> dict:
        xs = np.array([1.0, 2.0, 3.0])
        return {"n": xs.size, "mean": xs.mean(), "max": np.int64(xs.max()), "pos": xs[0] > 0}

    @step
    def typed() -> dict[str, float]:
        return {"mean": np.float32(2.0)}

    @pipeline
    def numbers() -> None:
        stats()
        typed()

    run = numbers()
    assert run.status == "completed"
    assert run.steps["stats"].output.load() == {"n": 3, "mean": 2.0, "max": 3, "pos": True}
    assert run.steps["typed"].output.load() == {"mean": 2.0}
    assert Client().get_run(run.id).steps["stats"].output.load()["max"] == 3


class Point(NamedTuple):
    x: int
    when: datetime


class Good(NamedTuple):
    x: int
    y: float


class Row(TypedDict):
    name: str
    seen: datetime


class Level(IntEnum):
    LOW = 1


@pytest.mark.parametrize(
    ("annotation", "problem"),
    [
        (dict[str, datetime], "the value[<key>] is a datetime.datetime"),
        (dict[int, float], "the value has keys of type int (JSON keys are strings)"),
        (list[dict[str, set[int]]], "the value[<i>][<key>] is a set[int]"),
        (tuple[int, Path], "the value[1] is a pathlib.Path"),
        (dict[str, np.ndarray], "the value[<key>] is a numpy.ndarray"),
        (list[int | datetime], "the value[<i>] is a datetime.datetime"),
        (list[Row], "the value[<i>]['seen'] is a datetime.datetime"),
        (list[Level], f"the value[<i>] is a {__name__}.Level"),
        (dict[str, float], None),
        (dict[str, np.float64], None),
        (list[np.int64 | None], None),
        (dict[str, list[tuple[int, ...]]], None),
        (dict, None),
        (dict[str, Any], None),
        (Annotated[list[str], "names"], None),
    ],
)
def test_json_type_problem(annotation: Any, problem: str | None) -> None:
    assert json_type_problem(annotation) == problem


def test_an_annotation_json_cannot_store_fails_before_the_step_runs(bevel_home: Path) -> None:
    ran: list[str] = []

    @step
    def schedule() -> dict[str, datetime]:
        ran.append("schedule")
        return {"start": datetime(2024, 1, 1)}

    @pipeline
    def planning() -> None:
        schedule()

    with pytest.raises(MaterializerNotFound) as err:
        planning()
    assert err.value.message == (
        "the output 'output' of step 'schedule' is annotated dict[str, datetime.datetime], "
        "stored as JSON, but the value[<key>] is a datetime.datetime, which JSON cannot store"
    )
    assert err.value.where and "test_json_numpy.py:" in err.value.where
    assert err.value.hint == NOT_JSON_HINT
    assert ran == []  # nothing ran, nothing was recorded
    assert len(Client().runs()) == 0
    # following the hint: opt into pickle for that output
    fixed = step(pickle=["output"])(schedule.func)

    @pipeline
    def planning2() -> None:
        fixed()

    assert planning2().steps["schedule"].output.load() == {"start": datetime(2024, 1, 1)}


@pytest.mark.parametrize("annotation", [Level, Good, OrderedDict, Annotated[int, "count"]])
def test_builtin_subclasses_as_the_output_itself_are_fine(
    bevel_home: Path, annotation: Any
) -> None:
    @step
    def make() -> annotation:  # type: ignore[valid-type]
        raise AssertionError("not run")

    @pipeline
    def p() -> None:
        make()

    compile_pipeline(p)  # no error


def test_a_namedtuple_output_with_a_non_json_field_is_caught(bevel_home: Path) -> None:
    @step
    def make() -> Point:
        return Point(1, datetime(2024, 1, 1))

    @pipeline
    def p() -> None:
        make()

    with pytest.raises(
        MaterializerNotFound, match=r"but the value\['when'\] is a datetime\.datetime"
    ):
        compile_pipeline(p)


@step
def count() -> int:
    return np.arange(5).sum()  # type: ignore[return-value] # an np.int64, as pandas/numpy give


@step
def mean32() -> Annotated[float, "mean"]:
    return np.float32(0.5)  # type: ignore[return-value]


@step
def mean64() -> float:
    return np.arange(4.0).mean()  # type: ignore[no-any-return] # np.float64, a float subclass


@step
def flag() -> bool:
    return np.bool_(True)  # type: ignore[return-value]


@step(enable_cache=False)
def seen(n: int, mean: float, m64: float, ok: bool) -> list[str]:
    return [type(v).__name__ for v in (n, mean, m64, ok)]


@pipeline
def scalars() -> None:
    seen(count(), mean32(), mean64(), flag())


def test_numpy_scalars_for_builtin_annotations_are_the_builtins(bevel_home: Path) -> None:
    """``-> int`` returning ``np.int64`` (what ``.sum()`` gives) is accepted and becomes the
    Python int the annotation promises: in memory for the next step as from the store."""
    fresh = scalars()
    assert fresh.status == "completed"
    assert fresh.steps["seen"].output.load() == ["int", "float", "float", "bool"]
    assert fresh.steps["count"].output.load() == 10
    assert type(fresh.steps["count"].output.load()) is int
    assert fresh.steps["mean32"].outputs["mean"].load() == 0.5
    cached = scalars()  # the producers are cached: seen gets their values from the store
    statuses = {sid: s.status.value for sid, s in cached.steps.items()}
    assert statuses == {
        "count": "cached",
        "mean32": "cached",
        "mean64": "cached",
        "flag": "cached",
        "seen": "completed",
    }
    assert cached.steps["seen"].output.load() == ["int", "float", "float", "bool"]


def test_a_numpy_scalar_of_another_kind_is_still_refused(bevel_home: Path) -> None:
    @step
    def half() -> int:
        return np.float64(2.5)  # type: ignore[return-value]

    @pipeline
    def p() -> None:
        half()

    with pytest.raises(RunFailed) as err:
        p()
    assert isinstance(err.value.__cause__, OutputTypeError)
    assert "returned numpy.float64 for the output 'output', annotated int" in str(
        err.value.__cause__
    )
