"""Runs whose driving process died are recorded as failed when the client next reads them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from bevel.client.client import Client
from bevel.client.liveness import reap
from bevel.metadata.records import RunRecord, RunStatus, StepRunRecord, StepStatus
from bevel.run.task import new_id
from bevel.stack.stack import Stack


def running(stack: Stack, name: str, host: str, heartbeat: datetime) -> str:
    run_id = new_id()
    stack.metadata_store.create_run(
        RunRecord(
            id=run_id,
            pipeline="p",
            name=name,
            status=RunStatus.RUNNING,
            created=heartbeat,
            host=host,
            heartbeat=heartbeat,
        )
    )
    stack.metadata_store.start_step_run(
        StepRunRecord(
            id=new_id(),
            run_id=run_id,
            step_id="s",
            step_name="s",
            status=StepStatus.RUNNING,
            started=heartbeat,
        )
    )
    return run_id


def test_dead_local_driver_and_silent_remote_driver_are_failed(stack: Stack) -> None:
    now = datetime.now(UTC)
    here = socket.gethostname()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    running(stack, "killed", f"{here}:{dead_pid}", now)
    running(stack, "alive", f"{here}:{os.getpid()}", now)
    running(stack, "remote-silent", "elsewhere:1", now - timedelta(minutes=30))
    running(stack, "remote-beating", "elsewhere:2", now - timedelta(seconds=20))
    client = Client(stack)
    status = {r.name: r.status for r in client.runs()}
    assert status == {
        "killed": "failed",
        "alive": "running",
        "remote-silent": "failed",
        "remote-beating": "running",
    }
    killed = client.get_run("killed")
    assert killed.error and "died" in killed.error
    assert killed.steps["s"].status == "failed"


def test_last_run_of_a_dead_driver_is_failed(stack: Stack) -> None:
    # last_run() is the notebook's usual way in: it must not show a dead run as running.
    running(stack, "remote-silent", "elsewhere:1", datetime.now(UTC) - timedelta(minutes=30))
    run = Client(stack).last_run("p")
    assert run.name == "remote-silent"
    assert run.status == "failed"
    assert run.error and "the process driving this run died" in run.error
    assert run.steps["s"].status == "failed"


def test_a_reused_pid_does_not_keep_a_silent_run_alive(stack: Stack) -> None:
    """The pid recorded for the run now belongs to a live process (here: this test's parent),
    but the run has not beaten for 30 minutes: its driver is gone."""
    now = datetime.now(UTC)
    running(stack, "reused", f"{socket.gethostname()}:{os.getppid()}", now - timedelta(minutes=30))
    running(stack, "young", f"{socket.gethostname()}:{os.getppid()}", now)
    status = {r.name: r.status for r in Client(stack).runs()}
    assert status == {"reused": "failed", "young": "running"}


def test_a_run_that_beats_again_after_it_was_read_is_not_reaped(stack: Stack) -> None:
    """A reader saw the run silent; before it wrote, the run's driver beat again (a laptop
    waking up): the run is alive and must stay running. Regression: the reaper marked every
    run it had judged dead without checking the heartbeat again."""
    store = stack.metadata_store
    run_id = running(stack, "waking", "elsewhere:7", datetime.now(UTC) - timedelta(minutes=30))
    seen = store.list_runs()
    store.heartbeat(run_id, datetime.now(UTC))
    reap(store, seen)
    assert store.get_run(run_id).status == "running"
