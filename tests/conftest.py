"""Shared fixtures: every test gets its own bevel home (BEVEL_HOME) and working directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def bevel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / ".bevel"
    monkeypatch.setenv("BEVEL_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.fixture
def stack(bevel_home: Path) -> Iterator[object]:
    from bevel.stack.stack import default_stack

    built = default_stack()
    yield built
    built.close()
