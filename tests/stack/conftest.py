"""Fixtures for the stack tests: a clean environment, the example flavor package, a pipeline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bevel.settings import Settings, load_settings
from bevel.stack.definitions import Definitions

THIRDPARTY = Path(__file__).resolve().parent / "thirdparty"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No stack choice, secrets key or shared store leaks in from the environment."""
    for name in ("BEVEL_STACK", "BEVEL_SECRETS_KEY", "BEVEL_STORE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(bevel_home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def defs(settings: Settings) -> Iterator[Definitions]:
    with Definitions(settings) as opened:
        yield opened


@pytest.fixture
def thirdparty(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example flavor package on sys.path (this process) and PYTHONPATH (subprocesses)."""
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    current = os.environ.get("PYTHONPATH")
    value = str(THIRDPARTY) + (os.pathsep + current if current else "")
    monkeypatch.setenv("PYTHONPATH", value)
    return THIRDPARTY


PIPELINE = """
from bevel import pipeline, step


@step
def make(n: int = 3) -> list[int]:
    return list(range(n))


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def demo(n: int = 3):
    total(make(n))
"""


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "demo_pipeline.py"
    path.write_text(PIPELINE)
    return path
