"""A 6-step pipeline with array outputs, run again and again until it is killed (see
test_kill.py). Touches ``ready`` once imports are done, so the killer aims at the run itself."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bevel import pipeline, step


@step
def make(seed: int, n: int = 400_000) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


@step
def scale(a: np.ndarray, factor: float = 2.0) -> np.ndarray:
    return a * factor


@step
def shift(a: np.ndarray) -> np.ndarray:
    return a + 1.0


@step
def square(a: np.ndarray) -> np.ndarray:
    return a * a


@step
def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b])


@step
def total(a: np.ndarray) -> float:
    return float(a.sum())


@pipeline
def killed(seed: int = 0) -> None:
    a = make(seed)
    total(combine(square(scale(a)), shift(a)))


if __name__ == "__main__":
    ready, runs = Path(sys.argv[1]), int(sys.argv[2])
    ready.touch()
    for i in range(runs):
        killed.with_options(enable_cache=False)(seed=i)
