"""Fixtures for the CLI tests: a project seeded with recorded runs, and a click runner."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The seeding helper lives with the client tests; share it rather than copy it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))

from client_seed import Seeded, seed

from bevel.stack.stack import Stack


@pytest.fixture
def seeded(stack: Stack) -> Seeded:
    """Runs recorded in the project that BEVEL_HOME points at (what the CLI's Client opens)."""
    return seed(stack)
