"""Hypothesis over random DAGs: compiled order, upstream sets, results, and failure propagation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bevel import pipeline, step
from bevel.api import compile_pipeline, run_pipeline
from bevel.dag.graph import downstream_of, is_topological, upstream_of

# Each node i lists up to 3 earlier nodes it reads (slots a, b, c).
Dag = list[list[int]]


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 12) -> Dag:
    n = draw(st.integers(1, max_nodes))
    return [
        draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        for i in range(n)
    ]


FAIL_AT: dict[str, int] = {"node": -1}


@step
def node(index: int, a: int = 0, b: int = 0, c: int = 0) -> int:
    if index == FAIL_AT["node"]:
        raise RuntimeError(f"node {index} fails on purpose")
    return index + a + b + c


def build(dag: Dag):
    @pipeline(enable_cache=False)
    def random_dag() -> None:
        outs = []
        for i, parents in enumerate(dag):
            inputs = {slot: outs[p] for slot, p in zip("abc", parents)}
            outs.append(node(i, **inputs))

    return random_dag


def expected_values(dag: Dag) -> list[int]:
    values: list[int] = []
    for i, parents in enumerate(dag):
        values.append(i + sum(values[p] for p in parents))
    return values


def ids(dag: Dag) -> list[str]:
    return ["node" if i == 0 else f"node_{i + 1}" for i in range(len(dag))]


@given(dags())
def test_compiled_plan_matches_the_graph(dag: Dag) -> None:
    plan = compile_pipeline(build(dag)).plan
    names = ids(dag)
    assert [s.id for s in plan.steps] == names
    assert is_topological(plan)
    for i, parents in enumerate(dag):
        spec = plan.steps[i]
        assert set(spec.upstream) == {names[p] for p in parents}
        closure: set[int] = set()
        stack = list(parents)
        while stack:
            p = stack.pop()
            if p not in closure:
                closure.add(p)
                stack.extend(dag[p])
        assert upstream_of(plan, names[i]) == {names[p] for p in closure}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dag=dags(max_nodes=8), fail=st.integers(-1, 7))
def test_runs_compute_the_graph_and_failures_skip_exactly_downstream(
    dag: Dag, fail: int, bevel_home: Path
) -> None:
    FAIL_AT["node"] = fail if fail < len(dag) else -1
    try:
        run = run_pipeline(build(dag), raise_on_failure=False)
    finally:
        FAIL_AT["node"] = -1
    names = ids(dag)
    plan = compile_pipeline(build(dag)).plan
    if fail < 0 or fail >= len(dag):
        assert run.status == "completed"
        values = [run.steps[n].output.load() for n in names]
        assert values == expected_values(dag)
        return
    assert run.status == "failed"
    skipped = downstream_of(plan, [names[fail]])
    for i, name in enumerate(names):
        status = run.steps[name].status
        if i == fail:
            assert status == "failed"
        elif name in skipped:
            assert status == "skipped"
        else:
            assert status == "completed"
            assert run.steps[name].output.load() == expected_values(dag)[i]


def test_a_cycle_cannot_be_written() -> None:
    # Outputs only exist after a call, so a traced pipeline is acyclic by construction;
    # a forward reference is a plain NameError in the user's body.
    @pipeline
    def p() -> None:
        node(0, a=later)  # type: ignore[name-defined] # noqa: F821
        later = node(1)  # noqa: F841

    with pytest.raises(NameError):
        compile_pipeline(p)
