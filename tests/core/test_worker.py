"""Steps submitted as small picklable tasks: the same pipeline through a pool of fresh worker
processes (``spawn``) gives exactly what the local orchestrator gives."""

from __future__ import annotations

import dataclasses
import os
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest
from pool_orchestrators import ProcessPoolOrchestrator
from worker_pipeline import worked

from bevel import Client
from bevel.api import compile_pipeline, run_pipeline
from bevel.artifacts.local import LocalArtifactStore
from bevel.client.views import RunView
from bevel.errors import StackError
from bevel.run.task import StepOutcome
from bevel.run.worker import StackRef, StepTask, portable
from bevel.settings import load_settings
from bevel.stack.stack import default_stack
from bevel.testing.records import done, make_artifact, make_run, make_step


def metadata(run: RunView, step_id: str) -> dict[str, Any]:
    return Client().store.get_metadata("step_run", run.steps[step_id].id)


def summary(run: RunView) -> dict[str, Any]:
    """What a user compares between two runs: statuses, outputs (bytes and values), metrics,
    metadata, logs, attempts."""
    steps = {}
    for step_id, s in run.steps.items():
        outputs = {}
        for name, art in s.outputs.items():
            value = art.load()
            plain = value.to_dict() if hasattr(value, "to_dict") else value
            plain = plain.tolist() if hasattr(plain, "tolist") else plain
            outputs[name] = (art.content_hash, art.type_ref, plain)
        steps[step_id] = {
            "status": s.status,
            "attempts": s.attempts,
            "outputs": outputs,
            "inputs": {n: a.content_hash for n, a in s.inputs.items()},
            "metadata": {k: v for k, v in metadata(run, step_id).items() if k != "pid"},
            "logs": s.logs(),
        }
    return {"status": run.status, "steps": steps, "metrics": run.metrics}


def pids(run: RunView) -> set[int]:
    return {int(metadata(run, step_id)["pid"]) for step_id in run.steps}


def test_a_process_pool_runs_a_pipeline_exactly_like_the_local_orchestrator(
    bevel_home: Path,
) -> None:
    local = run_pipeline(worked, params={"seed": 3}, enable_cache=False)
    orchestrator = ProcessPoolOrchestrator(workers=2)
    stack = dataclasses.replace(default_stack(), orchestrator=orchestrator)
    try:
        pooled = run_pipeline(worked, params={"seed": 3}, enable_cache=False, stack=stack)
        assert summary(pooled) == summary(local)
        assert summary(pooled)["steps"]["flaky"]["attempts"] == 2
        assert pids(local) == {os.getpid()}
        assert os.getpid() not in pids(pooled)  # every step ran in a worker process
        # what reached the orchestrator: one small task per step, with the step's resources
        tasks = {t.step_id: t for t in orchestrator.submitted}
        assert list(tasks) == [s.step_id for s in pooled.steps.values()]
        assert all(isinstance(t, StepTask) for t in tasks.values())
        assert tasks["stats"].resources == {"cpu": 2, "memory": "1GiB"}
        assert tasks["make"].resources == {}
        assert set(tasks["report"].inputs) == {"means", "rows", "total"}
        assert all(len(pickle.dumps(t)) < 8192 for t in tasks.values())
        # workers record cache hits too
        again = run_pipeline(worked, params={"seed": 3}, stack=stack)
        assert {s.status for s in again.steps.values()} == {"cached"}
        assert again.steps["report"].output.load() == local.steps["report"].output.load()
    finally:
        stack.close()


def test_a_step_task_is_plain_data_that_round_trips_through_pickle(bevel_home: Path) -> None:
    stack = default_stack()
    try:
        ref = StackRef.of(stack, load_settings())
        task = StepTask(
            run_id="r" * 32,
            step_id="report",
            step_run_id="s" * 32,
            stack=ref,
            inputs={"means": make_artifact("worked.stats.means", "means")},
            resources={"gpu": 1},
        )
        assert pickle.loads(pickle.dumps(task)) == task
        plan = compile_pipeline(worked).plan
        assert plan.from_dict(pickle.loads(pickle.dumps(plan.to_dict()))) == plan
    finally:
        stack.close()


class Unpicklable(Exception):
    """Fails to cross a process boundary under every pickling scheme: the standard one calls
    ``cls(*args)``, which fails; tblib's (installed by distributed) rebuilds it from its
    ``__dict__``, which holds a lock."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"code {code}")
        self.detail = detail
        self.lock = threading.Lock()


def test_an_outcome_crosses_processes_even_when_the_steps_error_does_not_pickle() -> None:
    run = make_run()
    record = dataclasses.replace(
        done(make_step(run, "s")), status="failed", error="Unpicklable: code 3", traceback="tb"
    )
    outcome = portable(StepOutcome(record, {}, {"output": object()}, Unpicklable(3, "x")))
    back = pickle.loads(pickle.dumps(outcome))
    assert back.objects == {} and back.step_run == record
    assert str(back.error) == "Unpicklable: code 3" and back.error.traceback == "tb"
    picklable = portable(StepOutcome(record, {}, {}, ValueError("plain")))
    assert isinstance(pickle.loads(pickle.dumps(picklable)).error, ValueError)


def test_a_worker_refuses_a_stack_it_cannot_rebuild(bevel_home: Path, tmp_path: Path) -> None:
    """A stack put together in Python (here: another artifact store) cannot be rebuilt by its
    name on a worker; the worker says so instead of writing into the named stack's stores."""
    stack = dataclasses.replace(
        default_stack(),
        orchestrator=ProcessPoolOrchestrator(workers=1),
        artifact_store=LocalArtifactStore(str(tmp_path / "elsewhere")),
    )
    try:
        with pytest.raises(StackError) as err:
            run_pipeline(worked, stack=stack)
        assert "not the stack the run was started with" in str(err.value)
        assert "bevel stack register" in (err.value.hint or "")
        run = Client(stack).last_run("worked")
        assert run.status == "failed"
        assert {s.status for s in run.steps.values()} <= {"failed", "skipped"}
        assert not (Path(load_settings().artifacts_path) / "data").exists()
    finally:
        stack.close()
