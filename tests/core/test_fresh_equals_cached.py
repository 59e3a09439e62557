"""Fresh equals cached: a step sees the same values, types included, whether its inputs were
handed over in memory by a producer that just ran, loaded because the producer came from the
cache, or loaded in a worker process; and it is called with its parameters as recorded.

Before this was fixed, ``[(1, 2)]`` reached a consumer as a list of tuples fresh and as a list
of lists cached, a consumer mutating its input array changed what the next consumer (and the
producer's module) saw, and a ``(5, 6)`` parameter arrived as a tuple while it was recorded and
keyed as ``[5, 6]``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fresh_pipeline import BASE, fresh
from pool_orchestrators import ProcessPoolOrchestrator

from bevel.api import run_pipeline
from bevel.client.views import RunView
from bevel.stack.stack import default_stack

EXPECTED = {
    "ps": "list[list[int, int], list[int, int]]",  # JSON stores tuples inside lists as lists
    "xs": "ndarray[int64, (6,), C=True] sum=15",  # not the mutated array
    "df": "DataFrame[{'x': 'float64', 's': 'str'}, RangeIndex] x=[2.0, 3.0]",
    "shape": "tuple[int, int]",  # annotated tuple[int, int]: rebuilt from the recorded list
    "raw": "list[int, int]",  # unannotated: as recorded
    "nested": "dict{a: tuple[int, int]}",
    "mode": "int",
}


def seen(run: RunView) -> dict[str, Any]:
    assert run.status == "completed", run
    value: dict[str, Any] = run.steps["report"].outputs["seen"].load()
    return value


def test_a_consumer_sees_the_same_fresh_cached_and_in_a_worker(bevel_home: Path) -> None:
    first = run_pipeline(fresh)  # every producer runs here and hands over in memory
    assert {s.step_id: s.status for s in first.steps.values()}["pairs"] == "completed"
    second = run_pipeline(fresh)  # producers cached: the consumers load from the store
    assert [s.status for s in second.steps.values()][:3] == ["cached"] * 3
    assert seen(first) == seen(second) == EXPECTED
    assert BASE.tolist() == list(range(6))  # the producer's module-level array is intact
    stack = dataclasses.replace(default_stack(), orchestrator=ProcessPoolOrchestrator(workers=2))
    pooled = run_pipeline(fresh, enable_cache=False, stack=stack)
    assert seen(pooled) == EXPECTED


def test_parameters_are_recorded_as_the_step_receives_them(bevel_home: Path) -> None:
    run = run_pipeline(fresh)
    params = run.steps["report"].params
    assert params == {"shape": [2, 3], "raw": [5, 6], "nested": {"a": [1, 2]}, "mode": 1}
    assert type(params["mode"]) is int  # an IntEnum is recorded as its value


def test_mutating_a_handed_over_input_changes_nothing_else(bevel_home: Path) -> None:
    run = run_pipeline(fresh)
    assert run.steps["mutate"].outputs["mutated"].load() == 15 + 6 * 100
    np.testing.assert_array_equal(run.steps["array"].output.load(), np.arange(6))
    assert run.steps["frame"].output.load()["x"].tolist() == [2.0, 3.0]


@pytest.mark.parametrize("cached", [False, True])
def test_the_consumer_gets_a_new_object_each_time(bevel_home: Path, cached: bool) -> None:
    from bevel import pipeline, step

    made: list[Any] = []
    used: list[Any] = []

    @step
    def make() -> list[int]:
        made.append([1, 2, 3])
        return made[-1]

    @step(enable_cache=False)
    def use(xs: list[int]) -> int:
        used.append(xs)
        xs.append(4)
        return len(xs)

    @pipeline
    def p() -> None:
        use(make())

    if cached:
        run_pipeline(p)
    run = run_pipeline(p)
    assert run.steps["use"].output.load() == 4
    assert used[-1] == [1, 2, 3, 4] and made[-1] == [1, 2, 3]  # the producer's list is intact
    assert used[-1] is not made[-1]
