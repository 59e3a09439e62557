"""A sweep on the dask orchestrator: a real scheduler and two real workers (separate processes
on 127.0.0.1, started in empty folders: the pipeline's code reaches them as bevel ships it).
Trials run on the workers, two at a time, and a re-run is fully cached; a pruner stops trials
on the workers from the study the store holds."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orchestrators"))
from dask_cluster import Cluster, dask_cluster

from bevel import Client
from bevel.api import load_pipeline, run_pipeline
from bevel.integrations.dask_orchestrator import DaskOrchestrator
from bevel.metadata.records import StepStatus
from bevel.stack.stack import default_stack

pytestmark = [pytest.mark.slow]
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with dask_cluster(tmp_path_factory.mktemp("dask"), workers=2) as found:
        yield found


@pytest.fixture
def on_dask(bevel_home: Path, tmp_path: Path, cluster: Cluster) -> Iterator[Any]:
    """The default stack on the dask orchestrator, in a project holding sweep_pipes.py."""
    shutil.copy(HERE / "sweep_pipelines.py", tmp_path / "sweep_pipes.py")
    stack = dataclasses.replace(
        default_stack(), orchestrator=DaskOrchestrator(address=cluster.address)
    )
    yield stack
    stack.close()


def test_trials_run_on_the_dask_workers_at_once_and_rerun_cached(
    cluster: Cluster, on_dask: Any
) -> None:
    workers = set(cluster.worker_pids().values())
    stack = on_dask
    sweep = load_pipeline("sweep_pipes.py:par_sweep")
    run = run_pipeline(sweep, stack=stack)
    store = stack.metadata_store
    trials = {
        sid: store.get_metadata("step_run", view.id)
        for sid, view in run.steps.items()
        if sid.startswith("timed_trial.trial-")
    }
    assert len(trials) == 4
    assert all(run.steps[sid].status is StepStatus.COMPLETED for sid in trials)
    pids = {meta["pid"] for meta in trials.values()}
    assert pids == workers  # every trial on a worker, and both workers used
    spans = [(m["start"], m["end"]) for m in trials.values()]
    assert any(
        min(a[1], b[1]) - max(a[0], b[0]) > 0 for i, a in enumerate(spans) for b in spans[i + 1 :]
    )  # two trials at once (parallel=2)
    best = run.steps["timed_trial"].metadata["sweep"]
    assert run.steps["timed_trial"].output.load() == best["best_params"]["x"]
    again = run_pipeline(load_pipeline("sweep_pipes.py:par_sweep"), stack=stack)
    assert all(again.steps[sid].status is StepStatus.CACHED for sid in trials)


def test_a_pruner_stops_trials_on_the_dask_workers(cluster: Cluster, on_dask: Any) -> None:
    """Trials report and ask the pruner on the workers (each rebuilds the study from the trials
    the store holds): the ones below the median are recorded pruned (cancelled), not failed."""
    run = run_pipeline(load_pipeline("sweep_pipes.py:pruned_par_sweep"), stack=on_dask)
    told = run.steps["curve"].metadata["sweep"]["trials"]
    states = [t["state"] for t in told]
    assert len(told) == 8 and "pruned" in states and "failed" not in states
    store = Client().store
    statuses = {store.get_step_run(t["step_run"]).status.value for t in told}
    assert statuses == {"completed", "cancelled"}  # pruned ones cancelled, none failed
    pids = {store.get_metadata("step_run", t["step_run"])["pid"] for t in told}
    assert pids <= set(cluster.worker_pids().values())  # reported and pruned on the workers
    reported: dict[str, int] = {}
    for metric in store.metrics(run.id):
        if metric.key == "score" and metric.step is not None and metric.step_run_id:
            reported[metric.step_run_id] = reported.get(metric.step_run_id, 0) + 1
    for trial in told:  # a pruned trial stopped before its fifth epoch, the others ran all five
        assert (reported[trial["step_run"]] < 5) == (trial["state"] == "pruned"), trial
    best = run.steps["curve"].metadata["sweep"]
    assert run.steps["curve"].output.load() == best["best_params"]["x"]
