"""Pipelines the dashboard tests record: a fan-out (mapped steps), metrics, a log, a failure
with a hint, and a step that a second run takes from the cache."""

from __future__ import annotations

import pandas as pd

from bevel import log_metric, pipeline, step
from bevel.errors import ConfigError


@step
def seeds(n: int = 3) -> list[int]:
    print(f"making {n} seeds")
    return list(range(n))


@step
def train(seed: int, scale: int = 10) -> int:
    print(f"training with seed {seed}")
    return seed * scale


@step
def score(models: list[int], lr: float = 0.1) -> float:
    for i in range(len(models)):
        log_metric("loss", 1.0 / (i + 1 + lr), step=i)
    value = sum(models) * lr
    log_metric("accuracy", min(0.99, 0.5 + value / 100))
    print("<b>not html</b> scored", value)
    return value


@step
def check(value: float, limit: float = 1e9) -> float:
    if value > limit:
        raise ConfigError(f"score {value} is above the limit {limit}", hint="raise --limit")
    return value


@step
def table(models: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"seed": range(len(models)), "model": models})


@pipeline
def experiment(n: int = 3, lr: float = 0.1, limit: float = 1e9) -> None:
    models = train.map(seeds(n))
    table(models)
    value = score(models, lr=lr)
    check(value, limit=limit)


@step
def prepare() -> int:
    return 1


@step
def wait_for(start: int, flag: str, timeout: float = 120.0) -> int:
    """Runs until the file ``flag`` exists: the test decides when the run ends."""
    import time
    from pathlib import Path

    print("waiting for the flag", flush=True)
    deadline = time.monotonic() + timeout
    while not Path(flag).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{flag} never appeared")
        time.sleep(0.05)
    print("released", flush=True)
    return start + 1


@pipeline
def slow(flag: str = "") -> None:
    wait_for(prepare(), flag)
