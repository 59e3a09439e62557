"""Hyper-parameter sweeps on Optuna: trials as step runs with their own cache entries, the best
trial's outputs downstream, a re-run fully cached, trials in parallel on a parallel orchestrator."""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from bevel import Client, Model, log_metric, pipeline, step, trainer
from bevel.api import run_pipeline
from bevel.errors import DefinitionError, RunFailed
from bevel.metadata.records import StepStatus
from bevel.stack.stack import Stack, default_stack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from pool_orchestrators import ThreadPoolOrchestrator

pytestmark = pytest.mark.usefixtures("bevel_home")

SPACE = {"C": {"low": 1e-3, "high": 10.0, "log": True}}
ACTIVE: deque[int] = deque()
PEAK: deque[int] = deque()
LOCK = threading.Lock()


@step
def load() -> tuple[Annotated[np.ndarray, "X"], Annotated[np.ndarray, "y"]]:
    data = load_iris()
    order = np.random.default_rng(0).permutation(len(data.target))
    return data.data[order], data.target[order]


@trainer
def fit(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> LogisticRegression:
    model = LogisticRegression(C=C, max_iter=500).fit(X[:100], y[:100])
    log_metric("accuracy", float(model.score(X[100:], y[100:])))
    return model


@step
def evaluate(model: LogisticRegression, X: np.ndarray, y: np.ndarray) -> Annotated[float, "acc"]:
    return float(model.score(X[100:], y[100:]))


@pipeline(model=Model("iris"))
def tuned(n_trials: int = 8, parallel: int = 2) -> None:
    X, y = load()
    model = fit.sweep(SPACE, n_trials=n_trials, metric="accuracy", parallel=parallel)(X, y)
    evaluate(model, X, y)


def test_trials_are_step_runs_and_the_best_continues() -> None:
    run = tuned()
    trials = [s for sid, s in run.steps.items() if sid.startswith("fit.trial-")]
    assert sorted(sid for sid in run.steps if sid.startswith("fit.")) == [
        f"fit.trial-{i}" for i in range(8)
    ]
    assert all(s.status is StepStatus.COMPLETED for s in trials)
    assert len({s.params["C"] for s in trials}) == 8  # eight different points
    assert len({s.cache_key for s in trials}) == 8  # each its own cache entry
    sweep = run.steps["fit"].metadata["sweep"]
    best = max(trials, key=lambda s: s.metrics["accuracy"])
    assert sweep["best_value"] == best.metrics["accuracy"]
    assert run.steps["fit"].metrics["accuracy"] == best.metrics["accuracy"]
    chosen = f"fit.trial-{sweep['best_trial']}"
    assert run.steps["fit"].output.id == run.steps[chosen].output.id
    assert run.steps["evaluate"].inputs["model"].id == run.steps[chosen].output.id
    assert [t["number"] for t in sweep["trials"]] == list(range(8))
    # the model version is the best trial's model
    version = Client().models.version("iris", "latest")
    assert version.artifacts["model"].artifact_id == run.steps[chosen].output.id


def test_a_rerun_is_fully_cached() -> None:
    first = tuned()
    again = tuned()
    trials = [s for sid, s in again.steps.items() if sid.startswith("fit.trial-")]
    assert len(trials) == 8 and all(s.status is StepStatus.CACHED for s in trials)
    assert again.steps["evaluate"].status is StepStatus.CACHED
    assert again.steps["fit"].output.id == first.steps["fit"].output.id
    assert {s.params["C"] for s in trials} == {
        s.params["C"] for sid, s in first.steps.items() if sid.startswith("fit.trial-")
    }


@trainer
def slow_fit(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> LogisticRegression:
    with LOCK:
        ACTIVE.append(1)
        PEAK.append(len(ACTIVE))
    time.sleep(0.2)
    with LOCK:
        ACTIVE.pop()
    model = LogisticRegression(C=C, max_iter=500).fit(X[:100], y[:100])
    log_metric("accuracy", float(model.score(X[100:], y[100:])))
    return model


@pipeline(model=Model("iris"))
def tuned_slowly() -> None:
    X, y = load()
    slow_fit.sweep(SPACE, n_trials=4, metric="accuracy", parallel=2)(X, y)


def test_trials_run_in_parallel_on_a_parallel_orchestrator(bevel_home: Path) -> None:
    base = default_stack()
    stack = Stack("threads", ThreadPoolOrchestrator(4), base.artifact_store, base.metadata_store)
    PEAK.clear()
    run_pipeline(tuned_slowly, stack=stack)
    assert max(PEAK) == 2  # two trials at a time: the waves of parallel=2
    PEAK.clear()
    run_pipeline(tuned_slowly)  # on local: one at a time (and all cached now)
    assert not PEAK
    stack.close()


@trainer
def picky(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> LogisticRegression:
    if C > 0.5:
        raise ValueError("too large")
    model = LogisticRegression(C=C, max_iter=500).fit(X[:100], y[:100])
    log_metric("accuracy", float(model.score(X[100:], y[100:])))
    return model


def test_failed_trials_are_told_and_the_sweep_goes_on() -> None:
    @pipeline(model=Model("iris"))
    def sometimes() -> None:
        X, y = load()
        picky.sweep(SPACE, n_trials=6, metric="accuracy", sampler="random")(X, y)

    run = sometimes()
    sweep = run.steps["picky"].metadata["sweep"]
    assert {t["state"] for t in sweep["trials"]} == {"complete", "failed"}
    failed = [t for t in sweep["trials"] if t["state"] == "failed"]
    assert all(t["params"]["C"] > 0.5 for t in failed)
    assert run.steps[f"picky.trial-{failed[0]['number']}"].status is StepStatus.FAILED
    assert run.steps["picky"].status is StepStatus.COMPLETED
    assert sweep["best_params"]["C"] <= 0.5


def test_every_trial_failing_fails_the_step_with_a_hint() -> None:
    @pipeline(model=Model("iris"))
    def never() -> None:
        X, y = load()
        picky.sweep({"C": (1.0, 10.0)}, n_trials=3, metric="accuracy")(X, y)

    with pytest.raises(RunFailed, match="every one of the 3 trials"):
        never()


def test_bad_sweeps_are_refused_where_they_are_written() -> None:
    with pytest.raises(DefinitionError, match=r"low .* must be below high"):
        fit.sweep({"C": (1.0, 0.1)}, n_trials=2, metric="accuracy")
    with pytest.raises(DefinitionError, match="n_trials must be a positive integer"):
        fit.sweep(SPACE, n_trials=0, metric="accuracy")

    @pipeline
    def unknown_param() -> None:
        X, y = load()
        fit.sweep({"gamma": (0.1, 1.0)}, n_trials=2, metric="accuracy")(X, y)

    with pytest.raises(DefinitionError, match="'gamma' is not a parameter of step 'fit'"):
        unknown_param()


@pytest.mark.slow  # worker processes start under load: ~1 min
def test_trials_run_in_worker_processes_on_local_parallel(bevel_home: Path) -> None:
    import dataclasses
    import os

    import sweep_pipelines as sp

    from bevel.orchestrators.local_parallel import LocalParallelOrchestrator

    stack = dataclasses.replace(
        default_stack(), orchestrator=LocalParallelOrchestrator(processes=2)
    )
    try:
        run = run_pipeline(sp.par_sweep, stack=stack)
        store = stack.metadata_store
        trials = {
            sid: store.get_metadata("step_run", view.id)
            for sid, view in run.steps.items()
            if sid.startswith("timed_trial.trial-")
        }
        assert len(trials) == 4
        pids = {meta["pid"] for meta in trials.values()}
        assert os.getpid() not in pids  # trials ran in the orchestrator's worker processes
        # two at a time, once both workers are up (a fresh pool starts its processes lazily)
        spans = [(m["start"], m["end"]) for m in trials.values()]
        assert any(
            min(a[1], b[1]) - max(a[0], b[0]) > 0
            for i, a in enumerate(spans)
            for b in spans[i + 1 :]
        )
        again = run_pipeline(sp.par_sweep, stack=stack)
        assert all(
            again.steps[sid].status is StepStatus.CACHED for sid in trials
        )  # the re-run is fully cached on local_parallel too
    finally:
        stack.close()


def test_runs_show_counts_the_planned_steps_and_the_trials_apart(invoke: Any) -> None:
    """It said "steps 11 of 3" (trials counted as steps of a 3-step plan)."""
    run = tuned(n_trials=5)
    shown = invoke("runs", "show", run.name)
    assert shown.exit_code == 0, shown.output
    fields = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in
              shown.output.split("\n\n")[0].splitlines() if line.strip()}  # fmt: skip
    assert fields["steps"] == "3 of 3: 3 ran, 0 cached, 0 failed"
    assert (
        fields["trials"]
        == "5 of fit (sweep, best trial-"
        + str(run.steps["fit"].metadata["sweep"]["best_trial"])
        + "): 5 ran, 0 cached, 0 failed, 0 pruned"
    )
    again = invoke("runs", "show", tuned(n_trials=5).name)
    # the sweep's driver asks its study again (trials cached): it ran, cheaply
    assert "steps     3 of 3: 1 ran, 2 cached, 0 failed" in again.output
    assert ": 0 ran, 5 cached, 0 failed, 0 pruned" in again.output


def test_trials_are_compared_side_by_side(invoke: Any) -> None:
    """Client().compare(trials=True) and bevel runs compare --trials: one row per trial, its
    parameters and objective in the columns the run's own (best) values are in."""
    run = tuned(n_trials=4)
    table = Client().compare([run.name], trials=True)
    names = [f"{run.name}/fit.trial-{i}" for i in range(4)]
    assert list(table.index) == [run.name, *names]
    for i, name in enumerate(names):
        trial = run.steps[f"fit.trial-{i}"]
        assert table.loc[name, "steps.fit.C"] == trial.params["C"]
        assert table.loc[name, "metrics.accuracy"] == trial.metrics["accuracy"]
        assert table.loc[name, "status"] == "completed"
    best = run.steps["fit"].metadata["sweep"]
    assert table.loc[run.name, "steps.fit.C"] == best["best_params"]["C"]
    assert table.loc[run.name, "metrics.accuracy"] == best["best_value"]
    # without trials=True, a sweep run is one row: no column per trial
    plain = Client().compare([run.name, tuned(n_trials=2).name])
    assert not [c for c in plain.columns if ".trial-" in c]

    shown = invoke("runs", "compare", run.name, "--trials")
    assert shown.exit_code == 0, shown.output
    header = shown.output.splitlines()[0]
    assert "fit.trial-0" in header and "fit.trial-3" in header
    assert any(line.split()[:1] == ["*"] and "steps.fit.C" in line
               for line in shown.output.splitlines())  # fmt: skip
