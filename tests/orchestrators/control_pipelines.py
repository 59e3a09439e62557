"""Pipelines for `bevel runs cancel` and `bevel runs resume` (copied into each test's project)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bevel import pipeline, step


@step
def quick(x: int) -> int:
    return x


@step
def long_step(marker: str) -> int:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(120)  # cancelled meanwhile
    return 1


@pipeline
def cancellable(marker: str) -> None:
    long_step(marker)
    quick(1)


@step
def start() -> int:
    return 2


@step
def flaky(x: int, fixed: str) -> int:
    if not Path(fixed).exists():
        raise RuntimeError("not fixed yet")
    return x * 10


@step
def finish(x: int) -> int:
    return x + 1


@step
def side() -> str:
    return "independent"


@pipeline
def fixable(fixed: str) -> None:
    finish(flaky(start(), fixed))
    side()
