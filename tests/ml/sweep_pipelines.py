"""Pipelines for the sweep tests on an out-of-process orchestrator (its workers import them by
name, so they live in a module, not in a test function)."""

from __future__ import annotations

import os
import time

from bevel import current, log_metric, pipeline, step


@step
def timed_trial(x: float = 0.0, nap: float = 2.0) -> float:
    """Records when and where it ran (start, end, pid), sleeps, scores -(x - 2)^2."""
    start = time.time()
    time.sleep(nap)
    current.log_metadata({"start": start, "end": time.time(), "pid": os.getpid()})
    log_metric("score", -((x - 2.0) ** 2))
    return x


@pipeline
def par_sweep(parallel: int = 2) -> None:
    timed_trial.sweep({"x": (-10.0, 10.0)}, n_trials=4, metric="score", parallel=parallel)()


@step
def curve(x: float = 0.5) -> float:
    """Reports x * (epoch + 1) / 5 for 5 epochs, stopping when the sweep's pruner says so."""
    from bevel.errors import TrialPruned

    current.log_metadata({"pid": os.getpid()})
    for epoch in range(5):
        current.trial.report(x * (epoch + 1) / 5, step=epoch)
        if current.trial.should_prune():
            raise TrialPruned()
    return x


@pipeline
def pruned_par_sweep() -> None:
    curve.sweep({"x": (0.0, 1.0)}, n_trials=8, metric="score", parallel=2,
                pruner={"name": "median", "n_startup_trials": 2})()  # fmt: skip
