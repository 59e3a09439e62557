"""Fan-in and dynamic fan-out: a list of outputs as one argument, ``step.map`` over a list made at
run time, each call a step run with its own cache entry, on every orchestrator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import map_pipelines as mp
import pytest
from click.testing import Result

from bevel import Client, pipeline, step, unmapped
from bevel.api import compile_pipeline, run_pipeline
from bevel.errors import DefinitionError
from bevel.orchestrators.local import LocalOrchestrator
from bevel.orchestrators.local_parallel import LocalParallelOrchestrator

ORCHESTRATORS = {
    "local": LocalOrchestrator,
    "processes": lambda: LocalParallelOrchestrator(processes=2),
    "threads": lambda: LocalParallelOrchestrator(processes=2, mode="thread"),
}


def statuses(run: Any) -> dict[str, str]:
    return {sid: s.status.value for sid, s in run.steps.items()}


@pytest.mark.parametrize("kind", list(ORCHESTRATORS))
def test_map_and_fan_in_on_every_orchestrator(on: Any, kind: str) -> None:
    run = run_pipeline(mp.sweep, params={"values": [1, 2, 3]}, stack=on(ORCHESTRATORS[kind]()))
    assert run.steps["best"].output.load() == 130.5
    assert run.steps["listing"].output.load() == [110.5, 120.5, 130.5]  # in the list's order
    calls = [sid for sid in run.steps if sid.startswith(("train[", "evaluate["))]
    assert sorted(calls) == [
        "evaluate[0]", "evaluate[1]", "evaluate[2]", "train[0]", "train[1]", "train[2]"
    ]  # fmt: skip
    assert run.steps["train[1]"].output.load() == 20
    assert run.steps["train[1]"].inputs["seed"].load() == 2  # its own element artifact
    best_inputs = sorted(run.steps["best"].inputs)
    assert best_inputs == ["scores[0]", "scores[1]", "scores[2]"]  # lineage per element


def test_each_call_is_cached_on_its_own_element(on: Any) -> None:
    stack = on(LocalOrchestrator())
    run_pipeline(mp.sweep, params={"values": [1, 2, 3]}, stack=stack)
    again = run_pipeline(mp.sweep, params={"values": [1, 2, 3, 4]}, stack=stack)
    got = statuses(again)
    assert {got[f"train[{i}]"] for i in range(3)} == {"cached"}
    assert got["train[3]"] == "completed"  # only the new element ran
    assert {got[f"evaluate[{i}]"] for i in range(3)} == {"cached"}
    assert got["evaluate[3]"] == "completed" and got["best"] == "completed"
    scaled = run_pipeline(mp.sweep, params={"values": [1, 2, 3, 4], "scale": 2}, stack=stack)
    assert {statuses(scaled)[f"train[{i}]"] for i in range(4)} == {"completed"}  # a param of all


def test_a_literal_list_of_outputs_is_one_argument(on: Any) -> None:
    run = run_pipeline(mp.fan_in, stack=on(LocalOrchestrator()))
    assert run.steps["pick_first"].output.load() == 3
    assert set(run.steps["pick_first"].inputs) == {"options[0]", "options[1]", "options[2]"}


def test_mapping_over_an_empty_list_gives_the_fan_in_an_empty_list(on: Any) -> None:
    run = run_pipeline(mp.sweep, params={"values": []}, stack=on(LocalOrchestrator()))
    assert run.status == "completed"
    assert run.steps["best"].output.load() == -1.0
    assert not any("[" in sid for sid in run.steps)


def test_two_lists_are_zipped_and_must_have_one_length(on: Any) -> None:
    stack = on(LocalOrchestrator())
    run = run_pipeline(mp.zipped, params={"left": [1, 2], "right": [3, 4]}, stack=stack)
    assert run.steps["listing"].output.load() == [3, 8]
    bad = run_pipeline(
        mp.zipped, params={"left": [1, 2], "right": [3]}, stack=stack, raise_on_failure=False
    )
    assert bad.status == "failed"
    assert bad.steps["pair"].error == (
        "step 'pair' is mapped over lists of different lengths: 'a' has 2, 'b' has 1"
    )
    assert bad.steps["listing"].status == "skipped"


@pytest.mark.parametrize("kind", ["local", "processes"])
def test_one_failed_call_skips_the_fan_in_and_the_others_finish(on: Any, kind: str) -> None:
    run = run_pipeline(
        mp.sweep, params={"values": [1, -1, 3]}, stack=on(ORCHESTRATORS[kind]()),
        raise_on_failure=False,
    )  # fmt: skip
    got = statuses(run)
    assert run.status == "failed"
    assert got["train[1]"] == "failed"
    assert "bad seed -1" in (run.steps["train[1]"].error or "")
    assert got["train[0]"] == got["train[2]"] == "completed"
    assert got["evaluate"] == "skipped" and got["best"] == "skipped"
    assert run.error == "step(s) failed: train[1]"


def test_runs_show_lists_mapped_steps_compactly(
    on: Any, invoke: Callable[..., Result], bevel_home: Path
) -> None:
    run = run_pipeline(mp.sweep, params={"values": list(range(12))}, stack=on(LocalOrchestrator()))
    shown = invoke("runs", "show", run.name)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "train[0..11]" in text and "evaluate[0..11]" in text
    assert "12 completed" in text
    assert "output[0..11]" in text and "12 artifacts" in text
    assert "train[5]" not in text  # one row for the twelve calls


def test_definition_errors_point_at_the_call() -> None:
    @pipeline
    def nothing_to_map() -> None:
        mp.train.map(3)

    with pytest.raises(DefinitionError, match=r"train.map\(\) was given no step output to map"):
        compile_pipeline(nothing_to_map)

    with pytest.raises(DefinitionError, match=r"maps a step over a list of step outputs inside"):
        mp.train.map([1, 2])

    @pipeline
    def plain_unmapped() -> None:
        mp.evaluate(mp.train(1), offset=unmapped(mp.offset()))

    with pytest.raises(DefinitionError, match=r"unmapped\(\) is for arguments of .map\(\)"):
        compile_pipeline(plain_unmapped)

    @pipeline
    def maps_an_int() -> None:
        mp.train.map(mp.not_a_list())

    with pytest.raises(DefinitionError, match="declared as int, not a list") as caught:
        compile_pipeline(maps_an_int)
    assert "map_pipelines.py:" in str(caught.value)

    @pipeline
    def mixed() -> None:
        mp.best([mp.offset(), 2.0])

    with pytest.raises(DefinitionError, match="mixes step outputs with other values"):
        compile_pipeline(mixed)

    @pipeline
    def iterates() -> None:
        for _ in mp.train.map(mp.seeds([1])):
            pass

    with pytest.raises(DefinitionError, match="known only at run time"):
        compile_pipeline(iterates)


def test_a_mapped_output_that_is_not_a_list_at_run_time(on: Any) -> None:
    run = run_pipeline(mp.maps_an_int, stack=on(LocalOrchestrator()), raise_on_failure=False)
    assert run.steps["untyped"].status == "failed"
    assert "returned an int, not a list" in (run.steps["untyped"].error or "")


def test_unannotated_steps_are_mapped_too(on: Any) -> None:
    @step
    def numbers():  # type: ignore[no-untyped-def]
        return [1, 2]

    @step
    def double(x):  # type: ignore[no-untyped-def]
        return x * 2

    @pipeline
    def doubled() -> None:
        mp.listing(double.map(numbers()))

    run = run_pipeline(doubled, stack=on(LocalOrchestrator()))
    assert run.steps["listing"].output.load() == [2, 4]
    assert Client().get_run(run.id).steps["double[1]"].output.load() == 4


@pipeline
def first_seed(values: list[int]) -> None:
    mp.pick_first(mp.seeds(values))


def test_a_list_saved_whole_is_not_reused_for_a_step_mapped_over_it(on: Any) -> None:
    """The producer of a mapped-over list also saves each element: a cached run of it that
    saved the list only must not be reused (the elements are part of its cache key)."""
    stack = on(LocalOrchestrator())
    run_pipeline(first_seed, params={"values": [1, 2]}, stack=stack)
    mapped = run_pipeline(mp.sweep, params={"values": [1, 2]}, stack=stack)
    assert statuses(mapped)["seeds"] == "completed"
    assert mapped.steps["train[1]"].output.load() == 20
    again = run_pipeline(mp.sweep, params={"values": [1, 2]}, stack=stack)
    assert statuses(again)["seeds"] == "cached"
    assert again.steps["train[1]"].inputs["seed"].load() == 2
