"""Fixtures for the orchestrator tests: stacks with a given orchestrator (what the steps recorded
about when and where they ran is read by ``orch_helpers``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
