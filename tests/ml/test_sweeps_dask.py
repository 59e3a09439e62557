"""A sweep on the dask orchestrator: a real scheduler and two real workers (separate processes
on 127.0.0.1, started in empty folders: the pipeline's code reaches them as bevel ships it).
Trials run on the workers, two at a time, and a re-run is fully cached."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orchestrators"))
from dask_cluster import dask_cluster

from bevel.api import load_pipeline, run_pipeline
from bevel.integrations.dask_orchestrator import DaskOrchestrator
from bevel.metadata.records import StepStatus
from bevel.stack.stack import default_stack

pytestmark = [pytest.mark.slow]
HERE = Path(__file__).parent


def test_trials_run_on_the_dask_workers_at_once_and_rerun_cached(
    bevel_home: Path, tmp_path: Path
) -> None:
    shutil.copy(HERE / "sweep_pipelines.py", tmp_path / "sweep_pipes.py")
    with dask_cluster(tmp_path / "dask", workers=2) as cluster:
        workers = set(cluster.worker_pids().values())
        stack = dataclasses.replace(
            default_stack(), orchestrator=DaskOrchestrator(address=cluster.address)
        )
        try:
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
                min(a[1], b[1]) - max(a[0], b[0]) > 0
                for i, a in enumerate(spans)
                for b in spans[i + 1 :]
            )  # two trials at once (parallel=2)
            best = run.steps["timed_trial"].metadata["sweep"]
            assert run.steps["timed_trial"].output.load() == best["best_params"]["x"]
            again = run_pipeline(load_pipeline("sweep_pipes.py:par_sweep"), stack=stack)
            assert all(again.steps[sid].status is StepStatus.CACHED for sid in trials)
        finally:
            stack.close()
