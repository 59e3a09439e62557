"""Pipelines for the Dask tests. They are copied into each test's project folder and shipped
to the workers by bevel (the workers have no test code on their path)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import helper  # a module of the project: shipped with it

from bevel import current, log_metadata, pipeline, step


@step
def first() -> int:
    return 1


@step(resources={"gpu": 1})
def on_gpu(x: int) -> int:
    log_metadata({"pid": os.getpid()})
    return x + 1


@pipeline
def gpu_pipeline() -> None:
    on_gpu(first())


@step
def value() -> int:
    log_metadata({"pid": os.getpid()})
    return helper.VALUE


@pipeline
def versioned() -> None:
    value()


def _slow_first_time(marker: str) -> int:
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(60)  # killed meanwhile
    return current.attempt


@step(retries=1, retry_delay=0.0)
def slow_retried(x: int, marker: str) -> int:
    return _slow_first_time(marker) + x


@step
def slow(x: int, marker: str) -> int:
    return _slow_first_time(marker) + x


@step
def keep(x: int) -> int:
    return x * 10


@pipeline
def worker_dies(marker: str, retry: bool = True) -> None:
    x = first()
    (slow_retried if retry else slow)(x, marker)
    keep(x)


@step
def numbers(n: int) -> list[int]:
    return list(range(n))


@step
def square(x: int) -> int:
    return x * x


@step
def added(values: list[int]) -> int:
    return sum(values)


@pipeline
def mapped(n: int = 5) -> None:
    added(square.map(numbers(n)))


@step(enable_cache=False)
def chatty(marker: str) -> int:
    print("first line", flush=True)
    while not Path(marker).exists():  # the test creates it once it has read the first line
        time.sleep(0.05)
    print("second line", flush=True)
    return 1


@pipeline
def talking(marker: str) -> None:
    chatty(marker)


@step
def gate(marker: str) -> int:
    """Waits for the test to open the gate (by creating ``marker``)."""
    while not Path(marker).exists():
        time.sleep(0.05)
    return 1


@step
def plus(x: int) -> int:
    log_metadata({"pid": os.getpid()})
    return x + 1


@pipeline
def gated_chain(marker: str) -> None:
    plus(plus(gate(marker)))


@step
def broken(x: int) -> int:
    raise RuntimeError("broken on purpose")


@pipeline
def broken_chain() -> None:
    x = first()
    plus(plus(broken(x)))
    keep(x)


@step
def nap(seconds: float) -> int:
    time.sleep(seconds)
    return 1


@step(timeout=2)
def quick(x: int) -> int:
    return x


@pipeline
def slow_then_quick(seconds: float = 4.0) -> None:
    quick(nap(seconds))


@step
def held(marker: str, release: str) -> int:
    """Says it started (writes ``marker``), then runs until the test creates ``release``."""
    Path(marker).write_text(str(os.getpid()))
    while not Path(release).exists():
        time.sleep(0.05)
    return 7


@step
def brief() -> int:
    return 1


@pipeline
def one_held_one_brief(marker: str, release: str) -> None:
    held(marker, release)
    brief()


@step
def broken_beside(marker: str) -> int:
    """Fails once step ``held`` runs (it wrote ``marker``)."""
    while not Path(marker).exists():
        time.sleep(0.05)
    raise RuntimeError("broken on purpose")


@pipeline
def held_beside_broken(marker: str, release: str) -> None:
    held(marker, release)
    broken_beside(marker)
    brief()


@step
def fixable_step(x: int, fixed: str) -> int:
    if not Path(fixed).exists():
        raise RuntimeError("not fixed yet")
    return x * 10


@pipeline
def fixable(fixed: str) -> None:
    x = first()
    plus(fixable_step(x, fixed))
    keep(x)
