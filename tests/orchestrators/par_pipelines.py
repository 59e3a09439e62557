"""Pipelines for the orchestrator tests, importable by worker processes.

Every step records when it ran (``start``/``end``: ``time.time()``), in which process and with
which ``CUDA_VISIBLE_DEVICES``, so the tests measure overlap and placement from the record
instead of timing the run.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from bevel import current, log_metadata, pipeline, step


def _ran(started: float) -> None:
    log_metadata(
        {
            "start": started,
            "end": time.time(),
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }
    )


@step
def nap(i: int, seconds: float = 0.5) -> int:
    started = time.time()
    time.sleep(seconds)
    _ran(started)
    return i


@step(resources={"gpu": 1})
def gpu_nap(i: int, seconds: float = 0.5) -> int:
    started = time.time()
    time.sleep(seconds)
    _ran(started)
    return i


@step(resources={"cpu": 2})
def wide_nap(i: int, seconds: float = 0.5) -> int:
    started = time.time()
    time.sleep(seconds)
    _ran(started)
    return i


@step
def total(a: int, b: int) -> int:
    return a + b


@step
def meet(i: int, folder: str, others: list[int]) -> int:
    """Arrive, then wait for the other branches to arrive: only steps that run at the same time
    can all get past this (run one after the other, the first would give up)."""
    started = time.time()
    Path(folder, f"{i}.here").write_text("")
    deadline = time.monotonic() + 60
    while not all(Path(folder, f"{o}.here").exists() for o in others):
        if time.monotonic() > deadline:
            raise TimeoutError(f"branch {i}: the others never arrived: steps ran one at a time")
        time.sleep(0.01)
    time.sleep(0.2)
    _ran(started)
    return i


@pipeline
def two_branches(folder: str) -> None:
    total(meet(1, folder, [2]), meet(2, folder, [1]))


@pipeline
def placed(seconds: float = 0.5) -> None:
    for i in range(4):
        gpu_nap(i, seconds)
    for i in range(2):
        wide_nap(i, seconds)
    for i in range(3):
        nap(i, seconds)


@step(resources={"gpu": 4})
def greedy() -> int:
    return 1


@pipeline
def too_big() -> None:
    greedy()


@step(timeout=1)
def sleeper(seconds: float = 30.0) -> int:
    time.sleep(seconds)
    return 1


@step(timeout=1)
def deaf_sleeper(seconds: float = 30.0) -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # the alarm cannot stop it
    time.sleep(seconds)
    return 1


@pipeline
def timing_out(deaf: bool = False) -> None:
    (deaf_sleeper if deaf else sleeper)()
    nap(0, 0.1)


@step
def fails() -> int:
    raise RuntimeError("boom")


@step
def after(x: int) -> int:
    return x


@pipeline
def one_fails() -> None:
    fails()
    slow = nap(1, 1.0)
    after(slow)
    for i in range(2, 5):
        nap(i, 0.1)


@step(retries=1, retry_delay=0.0)
def dies_once(marker: str) -> int:
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return current.attempt


@step
def dies(marker: str) -> int:
    Path(marker).write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@pipeline
def killed(marker: str, retry: bool = True) -> None:
    x = nap(1, 0.1)
    (dies_once if retry else dies)(marker, after=x)
    nap(2, 0.1)


@step
def draw(i: int, folder: str) -> dict[str, float]:
    """Random numbers drawn by a worker, at the same time as another worker draws its own."""
    import random

    import numpy as np

    meet(i, folder, [3 - i])  # both branches at once: on two different workers
    return {"random": random.random(), "numpy": float(np.random.random())}


@pipeline
def two_draws(folder: str) -> None:
    draw(1, folder)
    draw(2, folder)


@step
def sleep_and_tell(marker: str, seconds: float = 60.0) -> int:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return 1


@pipeline
def long_sleep(marker: str) -> None:
    sleep_and_tell(marker)
