"""The local parallel orchestrator: independent steps at once (measured overlap, from what the
steps recorded), placement by resources, timeouts, failure modes and dead workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import par_pipelines as pp
import pytest
from orch_helpers import overlap, peak, ran

from bevel import Client
from bevel.api import run_pipeline
from bevel.errors import RunFailed, StackError
from bevel.orchestrators.local import LocalOrchestrator
from bevel.orchestrators.local_parallel import LocalParallelOrchestrator


def test_independent_branches_run_at_once_in_worker_processes(on: Any, tmp_path: Path) -> None:
    orchestrator = LocalParallelOrchestrator(processes=2)
    params = {"folder": str(tmp_path)}
    run = run_pipeline(pp.two_branches, params=params, stack=on(orchestrator), enable_cache=False)
    assert run.status == "completed"  # each branch waited for the other: they ran at once
    assert run.steps["total"].output.load() == 3
    steps = ran(run)
    assert overlap(steps["meet"], steps["meet_2"]) > 0
    pids = {steps["meet"]["pid"], steps["meet_2"]["pid"]}
    assert len(pids) == 2 and os.getpid() not in pids


def test_thread_mode_runs_branches_at_once_in_this_process(on: Any, tmp_path: Path) -> None:
    orchestrator = LocalParallelOrchestrator(processes=2, mode="thread")
    params = {"folder": str(tmp_path)}
    run = run_pipeline(pp.two_branches, params=params, stack=on(orchestrator), enable_cache=False)
    steps = ran(run)
    assert overlap(steps["meet"], steps["meet_2"]) > 0
    assert {steps["meet"]["pid"], steps["meet_2"]["pid"]} == {os.getpid()}
    assert run.steps["total"].output.load() == 3


def test_placement_never_claims_more_than_the_orchestrator_has(on: Any) -> None:
    """4 one-GPU steps, 2 two-CPU steps and 3 one-CPU steps on 4 processes, 2 GPUs and 2 CPUs."""
    orchestrator = LocalParallelOrchestrator(processes=4, cpus=2, gpus=2)
    run = run_pipeline(
        pp.placed, params={"seconds": 0.4}, stack=on(orchestrator), enable_cache=False
    )
    assert run.status == "completed"
    steps = ran(run)
    assert len(steps) == 9
    cpu = {"gpu_nap": 1, "wide_nap": 2, "nap": 1}
    claims = [
        (m["start"], m["end"], cpu[run.steps[sid].name], 1 if sid.startswith("gpu") else 0, m)
        for sid, m in steps.items()
    ]
    assert peak([(s, e, c) for s, e, c, _, _ in claims]) <= 2
    assert peak([(s, e, g) for s, e, _, g, _ in claims]) <= 2
    gpu_runs = [m for _, _, _, g, m in claims if g]
    assert {m["cuda"] for m in gpu_runs} == {"0", "1"}  # both devices handed out
    for a in gpu_runs:  # two GPU steps running at once never share a device
        for b in gpu_runs:
            if a is not b and overlap(a, b) > 0:
                assert a["cuda"] != b["cuda"]
    assert {m["cuda"] for _, _, _, g, m in claims if not g} == {""}  # no GPU for the others


def test_a_step_asking_for_more_than_there_is_fails_before_anything_runs(on: Any) -> None:
    with pytest.raises(StackError) as caught:
        run_pipeline(pp.too_big, stack=on(LocalParallelOrchestrator(gpus=2)))
    text = str(caught.value)
    assert "step 'greedy' asks for 4 GPU(s) (there are 2)" in text
    assert "par_pipelines.py:" in text  # points at the step's definition
    assert "--gpus" in text
    assert Client().runs() == []  # nothing was recorded


def test_gpu_steps_are_refused_in_thread_mode(on: Any) -> None:
    with pytest.raises(StackError, match="cannot each get their own CUDA_VISIBLE_DEVICES"):
        run_pipeline(pp.placed, stack=on(LocalParallelOrchestrator(mode="thread", gpus=2)))


@pytest.mark.parametrize(
    "orchestrator",
    [LocalOrchestrator(), LocalParallelOrchestrator(processes=2)],
    ids=["local", "local_parallel"],
)
def test_a_step_past_its_timeout_is_stopped_and_recorded_failed(on: Any, orchestrator: Any) -> None:
    run = run_pipeline(
        pp.timing_out, stack=on(orchestrator), enable_cache=False, raise_on_failure=False
    )
    assert run.status == "failed"
    step = run.steps["sleeper"]
    assert step.status == "failed"
    assert "step 'sleeper' ran past its timeout of 1 s and was stopped" in (step.error or "")
    assert run.steps["nap"].status == "completed"  # the other branch was not disturbed


@pytest.mark.slow
def test_a_step_that_blocks_the_alarm_has_its_worker_killed(on: Any) -> None:
    orchestrator = LocalParallelOrchestrator(processes=2)
    run = run_pipeline(
        pp.timing_out, params={"deaf": True}, stack=on(orchestrator), enable_cache=False,
        raise_on_failure=False,
    )  # fmt: skip
    step = run.steps["deaf_sleeper"]
    assert step.status == "failed"
    assert "ran past its timeout of 1 s and was stopped (its worker process was killed)" in (
        step.error or ""
    )
    assert run.steps["nap"].status == "completed"


def test_fail_fast_starts_nothing_more_and_records_every_real_outcome(on: Any) -> None:
    """One process: `fails` runs first; its worker takes the next queued step (`nap`, 1 s)
    before the driver hears of the failure; everything still queued then is cancelled."""
    orchestrator = LocalParallelOrchestrator(processes=1, continue_on_failure=False)
    run = run_pipeline(
        pp.one_fails, stack=on(orchestrator), enable_cache=False, raise_on_failure=False
    )
    statuses = {sid: s.status.value for sid, s in run.steps.items()}
    assert run.status == "failed"
    assert statuses == {
        "fails": "failed",
        "nap": "completed",  # it was running: it finished and its outcome was recorded
        "after": "cancelled",
        "nap_2": "cancelled",
        "nap_3": "cancelled",
        "nap_4": "cancelled",
    }
    for sid in ("after", "nap_2", "nap_3", "nap_4"):
        assert run.steps[sid].error == "not run: fail fast: step 'fails' failed"


def test_continue_on_failure_lets_independent_branches_finish(on: Any) -> None:
    run = run_pipeline(
        pp.one_fails, stack=on(LocalParallelOrchestrator(processes=2)), enable_cache=False,
        raise_on_failure=False,
    )  # fmt: skip
    statuses = {sid: s.status.value for sid, s in run.steps.items()}
    assert statuses.pop("fails") == "failed"
    assert set(statuses.values()) == {"completed"}
    assert len(statuses) == 5


def test_a_killed_worker_is_retried_when_the_step_has_retries(on: Any, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    run = run_pipeline(
        pp.killed, params={"marker": str(marker)}, stack=on(LocalParallelOrchestrator(processes=2)),
        enable_cache=False,
    )  # fmt: skip
    assert run.status == "completed"
    assert run.steps["dies_once"].output.load() == 1  # a fresh attempt on a new worker
    attempts = [s for s in Client().store.step_runs(run.id) if s.step_id == "dies_once"]
    assert [s.status.value for s in attempts] == ["failed", "completed"]
    pid = marker.read_text()
    assert attempts[0].error == (
        f"the worker process (pid {pid}) died while running step 'dies_once' (killed by SIGKILL);"
        " running it again (retry 1 of 1)"
    )


def test_a_killed_worker_fails_its_step_cleanly_without_retries(on: Any, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    with pytest.raises(RunFailed) as caught:
        run_pipeline(
            pp.killed, params={"marker": str(marker), "retry": False},
            stack=on(LocalParallelOrchestrator(processes=2)), enable_cache=False,
        )  # fmt: skip
    run = Client().get_run(caught.value.run_id)
    assert run.status == "failed"
    pid = marker.read_text()
    assert run.steps["dies"].error == (
        f"the worker process (pid {pid}) died while running step 'dies' (killed by SIGKILL)"
    )
    assert run.steps["nap"].status == "completed" and run.steps["nap_2"].status == "completed"
    assert run.steps["nap"].output.load() == 1  # what ran before is kept


def test_a_step_workers_cannot_import_fails_with_how_to_fix_it(on: Any) -> None:
    from bevel import pipeline, step

    @step
    def local_only() -> int:  # defined in a function: other processes cannot import it
        return 1

    @pipeline
    def nested() -> None:
        local_only()
        pp.nap(1, 0.1)

    run = run_pipeline(
        nested, stack=on(LocalParallelOrchestrator(processes=2)), raise_on_failure=False
    )
    step_run = run.steps["local_only"]
    assert step_run.status == "failed"
    assert "step 'local_only' cannot be imported on the worker" in (step_run.error or "")
    assert "define it at the top level of a module" in (step_run.error or "")
    assert run.steps["nap"].status == "completed"
