"""The engine's own guarantees: a run never stays "running", whatever fails around the steps,
and a final status stays final (metadata on SQLite, PostgreSQL and MariaDB: ``all_databases``)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from pool_orchestrators import ThreadPoolOrchestrator

from bevel import Client, current, pipeline, step
from bevel.api import run_pipeline
from bevel.artifacts.local import LocalArtifactStore
from bevel.errors import NotFound, RunFailed, StatusConflict
from bevel.metadata.records import RunRecord
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.orchestrators.local import LocalOrchestrator
from bevel.run import engine
from bevel.settings import load_settings
from bevel.stack.stack import Stack, default_stack

HERE = Path(__file__).parent
pytestmark = pytest.mark.all_databases


@step
def inc(x: int) -> int:
    return x + 1


@pipeline
def chain(start: int = 0) -> None:
    x = inc(start)
    for _ in range(9):
        x = inc(x)


def memory_stack(tmp_path: Path) -> Stack:
    return Stack(
        name="memory",
        orchestrator=LocalOrchestrator(),
        artifact_store=LocalArtifactStore(str(tmp_path / "artifacts")),
        metadata_store=SqlMetadataStore("sqlite://"),
    )


def test_in_memory_sqlite_is_safe_with_a_busy_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: `sqlite://` shares one connection, and the heartbeat thread's transaction
    # collided with the run's ("cannot start a transaction within a transaction"): 10 of 10
    # runs failed with a 1 ms heartbeat.
    monkeypatch.setattr(engine, "HEARTBEAT_SECONDS", 0.001)
    stack = memory_stack(tmp_path)
    try:
        for start in range(10):
            run = run_pipeline(chain, params={"start": start}, stack=stack)
            assert run.status == "completed"
            assert run.steps["inc_10"].output.load() == start + 10
        assert len(Client(stack).runs(limit=0)) == 10
    finally:
        stack.close()


class BrokenOrchestrator(LocalOrchestrator):
    def executor(self) -> Any:
        raise RuntimeError("no workers available")


class FailingListener:
    def __init__(self, fail_in: str) -> None:
        self.fail_in = fail_in

    def _maybe_fail(self, where: str) -> None:
        if where == self.fail_in:
            raise RuntimeError(f"listener broke in {where}")

    def on_run_start(self, run: RunRecord, plan: Any) -> None:
        self._maybe_fail("on_run_start")

    def on_step_start(self, step_id: str, step_name: str) -> None:
        self._maybe_fail("on_step_start")

    def on_step_end(self, step_run: Any) -> None:
        self._maybe_fail("on_step_end")

    def on_run_end(self, run: RunRecord) -> None:
        self._maybe_fail("on_run_end")


def only_run(stack: Stack) -> RunRecord:
    (run,) = stack.metadata_store.list_runs()
    return run


def test_an_orchestrator_failing_at_start_fails_the_run(bevel_home: Path) -> None:
    # Regression: orchestrator.executor() raised after the run was recorded, and the run stayed
    # "running" forever (its own process is never reaped while it lives).
    stack = dataclasses.replace(default_stack(), orchestrator=BrokenOrchestrator())
    try:
        with pytest.raises(RuntimeError, match="no workers available"):
            run_pipeline(chain, stack=stack)
        run = only_run(stack)
        assert run.status == "failed" and run.ended is not None
        assert "no workers available" in (run.error or "")
        steps = stack.metadata_store.step_runs(run.id)
        assert len(steps) == 10  # every step is accounted for, none ran
        assert {(s.status, s.error) for s in steps} == {
            ("skipped", "not run: the run crashed: RuntimeError: no workers available")
        }
    finally:
        stack.close()


@pytest.mark.parametrize("fail_in", ["on_run_start", "on_step_start", "on_step_end"])
def test_a_listener_that_raises_fails_the_run_and_leaves_nothing_running(
    bevel_home: Path, fail_in: str
) -> None:
    stack = default_stack()
    try:
        with pytest.raises(RuntimeError, match=f"listener broke in {fail_in}"):
            run_pipeline(chain, stack=stack, listener=FailingListener(fail_in))
        run = only_run(stack)
        assert run.status == "failed" and f"listener broke in {fail_in}" in (run.error or "")
        steps = stack.metadata_store.step_runs(run.id)
        assert "running" not in {s.status for s in steps}
        assert len(steps) in (0, 10)  # every step is accounted for once any was
    finally:
        stack.close()


def test_a_listener_failing_at_the_end_does_not_change_the_recorded_outcome(
    bevel_home: Path,
) -> None:
    stack = default_stack()
    try:
        with pytest.raises(RuntimeError, match="listener broke in on_run_end"):
            run_pipeline(chain, stack=stack, listener=FailingListener("on_run_end"))
        assert only_run(stack).status == "completed"
    finally:
        stack.close()


# --- a run ended by another process ---------------------------------------------------------

REAP = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from bevel.settings import Settings
from bevel.stack.home import home_metadata_store
store = home_metadata_store(Settings(home=Path("."), store_url=sys.argv[1]))
marked = store.mark_stale_runs(
    datetime.now(UTC) + timedelta(hours=1), run_ids=[sys.argv[2]], reason="declared dead by a reader"
)
assert marked == [sys.argv[2]], marked
"""


def declare_dead(url: str, run_id: str) -> None:
    """What a reader in another process does when it decides the run's driver is gone."""
    subprocess.run([sys.executable, "-c", REAP, url, run_id], check=True, timeout=120)


def test_a_run_declared_dead_does_not_complete_behind_the_readers_back(
    bevel_home: Path,
) -> None:
    # Regression: the engine recorded the step and then the run as completed over the failed
    # status another process had written.
    url = load_settings().database_url

    @step
    def unlucky() -> int:
        declare_dead(url, current.run_id)
        return 1

    @step
    def after(x: int) -> int:
        return x

    @pipeline
    def p() -> None:
        after(unlucky())

    with pytest.raises(RunFailed) as err:
        p()
    text = str(err.value)
    assert "ended as failed by another process" in text and "declared dead by a reader" in text
    assert isinstance(err.value.__cause__, StatusConflict)
    client = Client()
    run = client.get_run(err.value.run_id)
    assert (run.status, run.error) == ("failed", "declared dead by a reader")
    assert {k: s.status for k, s in run.steps.items()} == {"unlucky": "failed"}
    assert client.artifacts(limit=0) == []  # the refused outcome left no record


def test_the_heartbeat_tells_the_engine_at_once(
    bevel_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step runs long in a pool while another process ends the run: the engine learns it
    from its next heartbeat, stops submitting and returns without waiting for the step, whose
    late report the store then refuses."""
    monkeypatch.setattr(engine, "HEARTBEAT_SECONDS", 0.01)
    url = load_settings().database_url
    release, finished = threading.Event(), threading.Event()

    @step
    def slow() -> int:
        declare_dead(url, current.run_id)
        release.wait(60)
        finished.set()
        return 1

    @step
    def after(x: int) -> int:
        return x

    @pipeline
    def p() -> None:
        after(slow())

    orchestrator = ThreadPoolOrchestrator()
    stack = dataclasses.replace(default_stack(), orchestrator=orchestrator)
    try:
        with pytest.raises(RunFailed, match="ended as failed by another process"):
            run_pipeline(p, stack=stack)
        assert not finished.is_set()  # the engine did not wait for the step
        release.set()
        orchestrator.join()
        assert finished.is_set()
        run = Client(stack).get_run(only_run(stack).id)
        assert run.status == "failed"
        assert {k: s.status for k, s in run.steps.items()} == {"slow": "failed"}
        assert Client(stack).artifacts(limit=0) == []
    finally:
        release.set()
        stack.close()


# --- Ctrl-C with steps running in a pool ----------------------------------------------------


def cancel_script(bevel_home: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / "cancel_pipeline.py"), mode],
        env={
            **os.environ,
            "BEVEL_HOME": str(bevel_home),
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_ctrl_c_waits_for_running_steps_before_the_run_ends(bevel_home: Path) -> None:
    # Regression: the run was recorded cancelled at once, and the step still running in the
    # pool then recorded itself completed inside the ended run.
    result = cancel_script(bevel_home, "once")
    assert (result["interrupted"], result["status"]) == (True, "cancelled"), result
    steps = result["steps"]
    assert {k: s["status"] for k, s in steps.items()} == {
        "slow": "completed",  # its real outcome: it finished while the engine waited
        "trigger": "completed",
        "after": "cancelled",
    }
    assert steps["slow"]["outputs"] == 1
    assert steps["after"]["error"] == "not run: the run was cancelled"
    assert all(s["ended"] <= result["ended"] for s in steps.values()), result


def test_a_second_ctrl_c_stops_waiting_and_the_late_step_is_refused(bevel_home: Path) -> None:
    result = cancel_script(bevel_home, "twice")
    assert (result["interrupted"], result["status"]) == (True, "cancelled"), result
    steps = result["steps"]
    assert {k: s["status"] for k, s in steps.items()} == {
        "slow": "cancelled",  # finished after the run ended: its report was refused
        "trigger": "completed",
        "after": "cancelled",
    }
    assert steps["slow"]["error"] == "not finished: the run was cancelled"
    assert steps["slow"]["outputs"] == 0
    assert all(s["ended"] <= result["ended"] for s in steps.values()), result


def test_a_ctrl_c_inside_submit_does_not_lose_the_step_being_submitted(bevel_home: Path) -> None:
    # Regression (the flaky second-Ctrl-C test above, about 1 run in 5 on a busy machine): the
    # first Ctrl-C landed inside the executor's submit (Thread.start waits for the new thread),
    # after the pool had taken ``trigger`` but before the engine had its future. The engine then
    # did not know that ``trigger`` ran: it did not wait for it, never heard it end (so the
    # second Ctrl-C never came), and waited for ``slow`` until it completed inside the run.
    result = cancel_script(bevel_home, "submit")
    assert (result["interrupted"], result["status"]) == (True, "cancelled"), result
    steps = result["steps"]
    assert {k: s["status"] for k, s in steps.items()} == {
        "slow": "cancelled",
        "trigger": "completed",  # waited for: its real outcome
        "after": "cancelled",
    }, result
    assert steps["slow"]["error"] == "not finished: the run was cancelled"
    assert steps["slow"]["outputs"] == 0
    assert steps["trigger"]["outputs"] == 1
    assert all(s["ended"] <= result["ended"] for s in steps.values()), result


# --- what the run path opens, it closes ---------------------------------------------------------


def test_run_pipeline_closes_the_stack_it_built_and_not_the_one_it_was_given(
    bevel_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: run_pipeline built a stack (connections, clients of optional components) on
    # every call and never closed it.
    closed: list[Stack] = []
    real_close = Stack.close

    def spy(self: Stack) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(Stack, "close", spy)

    @step
    def broken() -> int:
        raise ValueError("nope")

    @pipeline
    def fails() -> None:
        broken()

    run = run_pipeline(chain)
    assert len(closed) == 1
    assert run.steps["inc_10"].output.load() == 10  # the returned view still reads
    with pytest.raises(RunFailed):
        run_pipeline(fails)
    assert len(closed) == 2
    mine = default_stack()
    run_pipeline(chain, stack=mine)
    assert len(closed) == 2  # the caller's stack stays open for the caller
    assert Client(mine).last_run("chain").status == "completed"
    mine.close()


@pytest.mark.parametrize("when", ["before the read", "between the read and the write"])
def test_a_step_recorded_not_run_that_its_worker_started_ends_once_as_not_finished(
    bevel_home: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """A crash's wind-down records "not run" for a step whose task it cancelled, but a worker
    had started it already (Dask cannot stop a task a worker has begun; the cancel came too
    late). Regression: the driver's SKIPPED insert collided with the worker's RUNNING step run
    and the store error replaced the run's own error. Now the step run is ended as not
    finished, once, whichever wrote first."""
    from bevel.api import compile_pipeline
    from bevel.metadata.records import StepRunRecord, StepStatus
    from bevel.run.events import NullListener
    from bevel.run.scheduler import Scheduler
    from bevel.run.task import new_id

    stack = default_stack()
    store = stack.metadata_store
    try:
        compiled = compile_pipeline(chain)
        run = store.create_run(engine.new_run(compiled.plan, stack))
        spec = compiled.plan.steps[0]
        started = StepRunRecord(
            id=new_id(), run_id=run.id, step_id=spec.id, step_name=spec.name,
            status=StepStatus.RUNNING, started=run.created, params=spec.params,
            code_hash=spec.code_hash,
        )  # fmt: skip
        if when == "before the read":
            store.start_step_run(started)
        else:
            reads = []

            def read_then_the_worker_starts(step_run_id: str) -> StepRunRecord:
                if not reads:  # the driver reads nothing; the worker then starts the step
                    reads.append(step_run_id)
                    store.start_step_run(started)
                    raise NotFound(f"step run {step_run_id} not found")
                return type(store).get_step_run(store, step_run_id)

            monkeypatch.setattr(store, "get_step_run", read_then_the_worker_starts)
        sched = Scheduler(compiled, stack, run, NullListener())
        because = "not run: the run crashed: RuntimeError: boom"
        record = sched.record_not_run(spec, started.id, StepStatus.SKIPPED, because)
        assert (record.status, record.error) == (
            StepStatus.FAILED,
            "not finished: the run crashed: RuntimeError: boom",
        )
        (stored,) = store.step_runs(run.id)
        assert (stored.id, stored.status, stored.error) == (started.id, record.status, record.error)
    finally:
        stack.close()
