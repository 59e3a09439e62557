"""Optuna pruning: a trial reports intermediate values (current.trial.report), the sweep's
pruner stops the ones worse than the other trials at the same step, and those are recorded as
pruned (their step runs cancelled, the study told PRUNED), not failed."""

from __future__ import annotations

from typing import Any

import pytest

from bevel import Client, current, pipeline, step
from bevel.errors import DefinitionError, RunFailed, TrialPruned
from bevel.metadata.records import StepStatus

pytestmark = pytest.mark.usefixtures("bevel_home")
EPOCHS = 5


@step
def learn(x: float = 0.5) -> float:
    """A learning curve that ends at x: each epoch reports a fraction of it."""
    score = 0.0
    for epoch in range(EPOCHS):
        score = x * (epoch + 1) / EPOCHS
        current.trial.report(score, step=epoch)
        if current.trial.should_prune():
            raise TrialPruned()
    return score


@pipeline
def pruned_sweep(n_trials: int = 10) -> None:
    learn.sweep({"x": (0.0, 1.0)}, n_trials=n_trials, metric="score",
                pruner={"name": "median", "n_startup_trials": 2})()  # fmt: skip


def test_trials_worse_than_the_median_are_pruned_not_failed(invoke: Any) -> None:
    run = pruned_sweep()
    assert run.status.value == "completed"
    sweep = run.steps["learn"].metadata["sweep"]
    told = {t["number"]: t for t in sweep["trials"]}
    pruned = [n for n, t in told.items() if t["state"] == "pruned"]
    complete = [n for n, t in told.items() if t["state"] == "complete"]
    assert pruned and complete and len(pruned) + len(complete) == 10  # none failed
    for n in pruned:
        trial = run.steps[f"learn.trial-{n}"]
        assert trial.status is StepStatus.CANCELLED  # stopped early, not failed
        assert "pruner stopped this trial" in (trial.error or "")
        points = trial.metric_series["score"].points
        assert len(points) < EPOCHS  # it stopped before the last epoch
        last = points[-1]
        assert told[n]["value"] == last.value
        # the median of the trials that had ended before it, at the step it was stopped
        earlier = [run.steps[f"learn.trial-{m}"] for m in complete if m < n]
        at_step = sorted(
            p.value for t in earlier for p in t.metric_series["score"].points
            if p.step == last.step
        )  # fmt: skip
        assert len(at_step) >= 2 and last.value < at_step[len(at_step) // 2] + 1e-12
    best = sweep["best_trial"]
    assert told[best]["state"] == "complete"
    assert sweep["best_value"] == max(told[n]["value"] for n in complete)

    shown = invoke("runs", "show", run.name)
    assert f"0 failed, {len(pruned)} pruned" in shown.output
    again = pruned_sweep()  # a re-run: complete trials cached, pruned ones asked again
    assert {again.steps[f"learn.trial-{n}"].status for n in complete} == {StepStatus.CACHED}


def test_without_a_pruner_reports_are_a_metric_series_and_nothing_is_pruned() -> None:
    @pipeline
    def plain_sweep() -> None:
        learn.sweep({"x": (0.0, 1.0)}, n_trials=4, metric="score")()

    run = plain_sweep()
    states = {t["state"] for t in run.steps["learn"].metadata["sweep"]["trials"]}
    assert states == {"complete"}
    series = run.steps["learn.trial-0"].metric_series["score"].points
    assert [p.step for p in series] == list(range(EPOCHS))


def test_current_trial_outside_a_sweep_and_bad_pruners_are_clear_errors() -> None:
    @step
    def not_swept() -> float:
        return float(current.trial.number)

    @pipeline
    def plain() -> None:
        not_swept()

    with pytest.raises(RunFailed):
        plain()
    step_run = Client().runs()[0].steps["not_swept"]
    assert "is not a trial of a sweep, so current.trial is not available" in (step_run.error or "")
    with pytest.raises(DefinitionError, match="unknown pruner 'hyperband'") as err:
        learn.sweep({"x": (0.0, 1.0)}, metric="score", pruner="hyperband")
    assert err.value.hint and "median, percentile" in err.value.hint
    with pytest.raises(DefinitionError, match="has no argument 'patience'"):
        learn.sweep({"x": (0.0, 1.0)}, metric="score", pruner={"name": "median", "patience": 3})
    with pytest.raises(DefinitionError, match="needs its percentile"):
        learn.sweep({"x": (0.0, 1.0)}, metric="score", pruner="percentile")


def test_trials_in_worker_processes_are_pruned_from_the_store(bevel_home: Any) -> None:
    """On local_parallel the trials run in other processes: the pruner is asked there, on the
    study rebuilt from the trials the store has."""
    import dataclasses
    import os

    import sweep_pipelines as sp

    from bevel.api import run_pipeline
    from bevel.orchestrators.local_parallel import LocalParallelOrchestrator
    from bevel.stack.stack import default_stack

    stack = dataclasses.replace(
        default_stack(), orchestrator=LocalParallelOrchestrator(processes=2)
    )
    try:
        run = run_pipeline(sp.pruned_par_sweep, stack=stack)
    finally:
        stack.close()
    told = run.steps["curve"].metadata["sweep"]["trials"]
    states = [t["state"] for t in told]
    assert "pruned" in states and "failed" not in states
    store = Client().store
    statuses = {store.get_step_run(t["step_run"]).status.value for t in told}
    assert statuses == {"completed", "cancelled"}  # pruned ones cancelled, none failed
    pids = {store.get_metadata("step_run", t["step_run"])["pid"] for t in told}
    assert os.getpid() not in pids  # reported, and asked the pruner, in the workers
