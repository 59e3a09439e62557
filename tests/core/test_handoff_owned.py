"""The last step that reads an output gets the producer's object itself when nothing else
refers to it (no copy of a big array); every other case still gets a copy, so a step mutating
its input changes nothing another step, the producer or the record sees.

Whether a step got the producer's object is told by ``id``: a copy is made while the original
is still alive, so it never has the original's id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pytest
from pool_orchestrators import ThreadPoolOrchestrator

from bevel import log_metric, pipeline, step
from bevel.api import run_pipeline
from bevel.stack.stack import Stack, default_stack

IDS: dict[str, int] = {}
KEPT: list[np.ndarray] = []
N = 1000


def fresh() -> np.ndarray:
    return np.arange(N, dtype=np.float64)


@pytest.fixture(params=["inline", "threads"])
def stack(request: pytest.FixtureRequest, bevel_home: Path) -> Iterator[Stack]:
    IDS.clear()
    KEPT.clear()
    built = default_stack()
    if request.param == "threads":
        built = Stack("threads", ThreadPoolOrchestrator(4), built.artifact_store,
                      built.metadata_store)  # fmt: skip
    yield built
    built.close()


@step(enable_cache=False)
def make() -> np.ndarray:
    array = fresh()
    IDS["made"] = id(array)
    return array


@step(enable_cache=False)
def zero(a: np.ndarray) -> float:
    """Mutates its input in place; returns what it saw first."""
    IDS["zero"] = id(a)
    seen = float(a.sum())
    a[:] = 0
    return seen


@step(enable_cache=False)
def total(a: np.ndarray, after: float = 0.0) -> float:
    IDS["total"] = id(a)
    return float(a.sum())


@pipeline
def alone() -> None:
    zero(make())


def check_record(run: Any) -> None:
    """What was recorded is what the producer made, whatever its readers did."""
    loaded = run.steps["make"].output.load()
    np.testing.assert_array_equal(loaded, fresh())


def test_the_only_reader_gets_the_object_itself(stack: Stack) -> None:
    run = run_pipeline(alone, stack=stack)
    assert IDS["zero"] == IDS["made"]  # handed over, not copied
    assert run.steps["zero"].output.load() == fresh().sum()
    check_record(run)


@pipeline
def two_readers() -> None:
    a = make()
    total(a, zero(a))  # zero runs first and mutates; total is the last reader


def test_a_reader_before_the_last_gets_a_copy(stack: Stack) -> None:
    run = run_pipeline(two_readers, stack=stack)
    assert IDS["zero"] != IDS["made"]
    assert IDS["total"] == IDS["made"]  # the last reader: nothing else holds it any more
    assert run.steps["total"].output.load() == fresh().sum()  # zero's change is not seen
    check_record(run)


@step(enable_cache=False)
def make_kept() -> np.ndarray:
    array = fresh()
    KEPT.append(array)  # the producer keeps a reference: its object must not change
    IDS["made"] = id(array)
    return array


@pipeline
def kept() -> None:
    zero(make_kept())


def test_an_object_the_producer_keeps_is_copied(stack: Stack) -> None:
    run = run_pipeline(kept, stack=stack)
    assert IDS["zero"] != IDS["made"]
    np.testing.assert_array_equal(KEPT[0], fresh())
    check_record_of(run, "make_kept")


def check_record_of(run: Any, name: str) -> None:
    np.testing.assert_array_equal(run.steps[name].output.load(), fresh())


@step(enable_cache=False)
def make_view() -> np.ndarray:
    base = np.arange(2 * N, dtype=np.float64)
    KEPT.append(base)
    return base[:N]  # a view of memory someone else holds


@pipeline
def view() -> None:
    zero(make_view())


def test_a_view_is_copied(stack: Stack) -> None:
    run = run_pipeline(view, stack=stack)
    np.testing.assert_array_equal(KEPT[0], np.arange(2 * N, dtype=np.float64))
    check_record_of(run, "make_view")


@step(enable_cache=False)
def make_twice() -> tuple[Annotated[np.ndarray, "x"], Annotated[np.ndarray, "y"]]:
    array = fresh()
    return array, array  # one object, two outputs


@pipeline
def twice() -> None:
    x, y = make_twice()
    zero(x)
    total(y)


def test_one_object_as_two_outputs_is_copied_for_each(stack: Stack) -> None:
    run = run_pipeline(twice, stack=stack)
    assert run.steps["zero"].output.load() == fresh().sum()
    assert run.steps["total"].output.load() == fresh().sum()


ATTEMPTS: list[float] = []


@step(enable_cache=False, retries=1, retry_delay=0.0)
def flaky(a: np.ndarray) -> float:
    ATTEMPTS.append(float(a.sum()))
    a[:] = -1  # mutates, then fails: the next attempt must see the recorded input
    if len(ATTEMPTS) == 1:
        raise RuntimeError("first attempt fails")
    return ATTEMPTS[-1]


@pipeline
def retried() -> None:
    flaky(make())


def test_a_retried_step_loads_its_input_again(stack: Stack) -> None:
    ATTEMPTS.clear()
    run = run_pipeline(retried, stack=stack)
    expected = float(fresh().sum())
    assert [expected, expected] == ATTEMPTS
    assert run.steps["flaky"].output.load() == fresh().sum()
    check_record(run)


SWEPT: list[tuple[int, float]] = []


@step(enable_cache=False)
def scored(a: np.ndarray, scale: float = 1.0) -> float:
    SWEPT.append((id(a), float(a.sum())))
    a[:] = 0  # each trial mutates its input: the next one must not see it
    log_metric("score", scale)
    return scale


@pipeline
def swept() -> None:
    scored.sweep({"scale": {"low": 0.1, "high": 1.0}}, n_trials=3, metric="score")(make())


def test_no_trial_of_a_sweep_owns_its_input(stack: Stack) -> None:
    """A sweep's trials all read the input: none owns it, so each gets the in-memory copy
    (were the first to own it, the others would load the stored artifact: a read and a hash
    each)."""
    pytest.importorskip("optuna")
    SWEPT.clear()
    run_pipeline(swept, stack=stack)
    assert [s for _, s in SWEPT] == [float(fresh().sum())] * 3
    assert IDS["made"] not in {i for i, _ in SWEPT}
