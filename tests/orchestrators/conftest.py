"""Helpers for the orchestrator tests: stacks with a given orchestrator, and what the steps
recorded about when and where they ran."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bevel import Client
from bevel.client.views import RunView
from bevel.stack.stack import Stack, default_stack


@pytest.fixture
def on(bevel_home: Path) -> Iterator[Any]:
    """``on(orchestrator)``: the default stack with that orchestrator (closed after the test)."""
    built: list[Stack] = []

    def make(orchestrator: Any) -> Stack:
        stack = dataclasses.replace(default_stack(), orchestrator=orchestrator)
        built.append(stack)
        return stack

    yield make
    for stack in built:
        stack.close()


def ran(run: RunView) -> dict[str, dict[str, Any]]:
    """step id -> what the step logged about itself (start, end, pid, cuda), for steps that did."""
    store = Client().store
    found = {}
    for step_id, view in run.steps.items():
        meta = store.get_metadata("step_run", view.id)
        if "start" in meta:
            found[step_id] = meta
    return found


def overlap(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Seconds during which both ran."""
    return min(a["end"], b["end"]) - max(a["start"], b["start"])


def peak(intervals: list[tuple[float, float, float]]) -> float:
    """The largest sum of amounts held at one instant, from (start, end, amount) intervals."""
    events = sorted(
        [(s, 1, amount) for s, _, amount in intervals]
        + [(e, 0, -amount) for _, e, amount in intervals]
    )  # ends sort before starts at the same instant
    held = best = 0.0
    for _, _, delta in events:
        held += delta
        best = max(best, held)
    return best
