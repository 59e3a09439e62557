"""One of several processes running pipelines against one store (see test_many_processes.py).

Prints one line: ``<runs> <seconds>``."""

from __future__ import annotations

import sys
import time

import numpy as np

from bevel import pipeline, step


@step
def make(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(1000)


@step
def scale(a: np.ndarray, factor: float = 2.0) -> np.ndarray:
    return a * factor


@step
def total(a: np.ndarray) -> float:
    return float(a.sum())


@pipeline
def many(seed: int = 0, factor: float = 2.0) -> None:
    total(scale(make(seed), factor=factor))


if __name__ == "__main__":
    worker, runs = int(sys.argv[1]), int(sys.argv[2])
    began = time.monotonic()
    for i in range(runs):
        # a mix of fresh work (unique factor), cache hits (shared seeds) and identical bytes
        many(seed=i % 5, factor=float(worker * 1000 + i) if i % 2 else 2.0)
    print(runs, round(time.monotonic() - began, 3))
