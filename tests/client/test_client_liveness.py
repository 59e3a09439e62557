"""Runs whose driving process died: reading shows what is known, writers reap them explicitly.

Reading used to reap (a write) as a side effect; now the Client never writes on a read, a run's
``liveness`` says what is known, and ``Client.reap()`` / ``bevel runs reap`` / a starting run
record dead runs as failed, each naming only its own driver.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import Result

from bevel.client.client import Client
from bevel.client.liveness import reap_dead_runs
from bevel.metadata.base import MetadataStore, RunFilter
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


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def four_runs(stack: Stack) -> int:
    """killed (pid gone on this host), alive (this process), remote-silent, remote-beating."""
    now = datetime.now(UTC)
    pid = dead_pid()
    running(stack, "killed", f"{socket.gethostname()}:{pid}", now)
    running(stack, "alive", f"{socket.gethostname()}:{os.getpid()}", now)
    running(stack, "remote-silent", "elsewhere:1", now - timedelta(minutes=30))
    running(stack, "remote-beating", "elsewhere:2", now - timedelta(seconds=20))
    return pid


def test_reading_never_writes_and_says_what_is_known(stack: Stack) -> None:
    pid = four_runs(stack)
    client = Client(stack)
    views = {r.name: r for r in client.runs()}
    assert {name: v.status for name, v in views.items()} == dict.fromkeys(views, "running")
    assert views["killed"].liveness is not None and views["killed"].liveness.dead
    assert views["killed"].status_text == (
        f"running, but its process is gone (pid {pid} on this host no longer exists)"
    )
    assert views["remote-silent"].status_text == "running, no heartbeat for 30 min"
    assert views["alive"].status_text == "running" and views["remote-beating"].status_text == (
        "running"
    )
    # get_run() and last_run() (the notebook's usual way in) do not reap either
    assert client.get_run("killed").status == "running"
    assert client.last_run("p").status == "running"
    assert client.get_run("killed").steps["s"].status == "running"
    statuses = {r.name: r.status for r in stack.metadata_store.list_runs(RunFilter(limit=0))}
    assert set(statuses.values()) == {RunStatus.RUNNING}


def test_reap_fails_dead_runs_each_naming_its_own_driver(stack: Stack) -> None:
    pid = four_runs(stack)
    client = Client(stack)
    assert [r.run.name for r in client.reap(dry_run=True)] == ["remote-silent", "killed"]
    assert client.get_run("killed").status == "running"  # a dry run changes nothing
    reaped = client.reap()
    assert [r.run.name for r in reaped] == ["remote-silent", "killed"]
    status = {r.name: r.status for r in client.runs()}
    assert status == {
        "killed": "failed",
        "alive": "running",
        "remote-silent": "failed",
        "remote-beating": "running",
    }
    killed = client.get_run("killed")
    assert killed.error == (
        "marked failed: the process driving this run died "
        f"(pid {pid} on this host no longer exists)"
    )
    assert killed.steps["s"].status == "failed"
    silent = client.get_run("remote-silent")
    assert silent.error == (
        "marked failed: the process driving this run died "
        "(no heartbeat from elsewhere:1 for 30 min)"
    )
    assert str(pid) not in silent.error  # each run names only its own process
    assert client.reap() == []  # nothing left to reap


def test_a_reused_pid_does_not_keep_a_silent_run_alive(stack: Stack) -> None:
    """The pid recorded for the run now belongs to a live process (here: this test's parent),
    but the run has not beaten for 30 minutes: its driver is gone."""
    now = datetime.now(UTC)
    running(stack, "reused", f"{socket.gethostname()}:{os.getppid()}", now - timedelta(minutes=30))
    running(stack, "young", f"{socket.gethostname()}:{os.getppid()}", now)
    client = Client(stack)
    assert [r.run.name for r in client.reap()] == ["reused"]
    assert {r.name: r.status for r in client.runs()} == {"reused": "failed", "young": "running"}
    assert "its pid was reused" in (client.get_run("reused").error or "")


class StaleReads:
    """The real store, except that listing returns what it held when the snapshot was taken:
    the reaper then decides on a record that is out of date, as it does in a race."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store
        self._snapshot = store.list_runs(RunFilter(limit=0))

    def list_runs(self, flt: RunFilter) -> list[RunRecord]:
        return [r for r in self._snapshot if flt.status in (None, r.status)]

    def mark_stale_runs(self, *args: object, **kwargs: object) -> list[str]:
        return self._store.mark_stale_runs(*args, **kwargs)  # type: ignore[arg-type]


def test_a_run_that_beat_or_finished_since_it_was_read_is_not_reaped(stack: Stack) -> None:
    store = stack.metadata_store
    beating = running(stack, "beat-again", "elsewhere:1", datetime.now(UTC) - timedelta(hours=1))
    done = running(stack, "finished", "elsewhere:2", datetime.now(UTC) - timedelta(hours=1))
    stale = StaleReads(store)
    store.heartbeat(beating, datetime.now(UTC))  # the driver came back (a paused laptop)
    store.finish_run(done, RunStatus.FAILED, ended=datetime.now(UTC), error="its own error")
    assert reap_dead_runs(stale) == []  # type: ignore[arg-type]
    assert store.get_run(beating).status is RunStatus.RUNNING
    finished = store.get_run(done)
    assert finished.status is RunStatus.FAILED and finished.error == "its own error"


PIPELINE = """
import os, signal
from bevel import pipeline, step

@step
def work(n: int = 1) -> int:
    if os.environ.get("DIE"):
        os.kill(os.getpid(), signal.SIGKILL)
    return n

@pipeline
def job(n: int = 1):
    work(n)
"""


def test_a_starting_run_reaps_a_killed_one(bevel_home: Path, tmp_path: Path) -> None:
    """A real driver killed with SIGKILL mid-step; the next run records it as failed."""
    script = tmp_path / "job.py"
    script.write_text(PIPELINE)
    bevel = [
        sys.executable,
        "-c",
        "import sys; from bevel.cli.main import main; main(sys.argv[1:])",
    ]
    killed = subprocess.run(
        [*bevel, "run", f"{script}:job"], env={**os.environ, "DIE": "1"}, capture_output=True
    )
    assert killed.returncode == -9
    with Client() as client:
        (victim,) = client.runs()
        assert victim.status == "running" and victim.liveness and victim.liveness.dead
    ok = subprocess.run([*bevel, "run", f"{script}:job"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    with Client() as client:
        victim = client.get_run(victim.id)
        assert victim.status == "failed"
        assert victim.error and victim.error.startswith(
            "marked failed: the process driving this run died (pid "
        )
        assert victim.steps["work"].status == "failed"


def test_runs_list_shows_the_truth_and_reap_fixes_it(
    stack: Stack, invoke: Callable[..., Result]
) -> None:
    pid = four_runs(stack)
    listed = invoke("runs", "list", "--status", "running")
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[1]: line for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert (
        f"running, but its process is gone (pid {pid} on this host no longer exists)"
        in (lines["killed"])
    )
    assert "running, no heartbeat for 30 min" in lines["remote-silent"]
    assert "no heartbeat" not in lines["remote-beating"] and "gone" not in lines["alive"]
    assert "2 run(s) above are recorded as running but their process is gone: bevel runs reap" in (
        listed.stderr
    )
    shown = invoke("runs", "show", "remote-silent")
    assert "running, no heartbeat for 30 min (bevel runs reap records it as failed)" in (
        shown.stdout
    )
    dry = invoke("runs", "reap", "--dry-run")
    assert dry.exit_code == 0 and "would mark run remote-silent" in dry.stdout
    assert len(invoke("runs", "list", "--status", "running").stdout.splitlines()) == 5
    reaped = invoke("runs", "reap")  # what the hint says
    assert reaped.exit_code == 0, reaped.output
    assert "marked run killed" in reaped.stdout and f"pid {pid}" in reaped.stdout
    after = invoke("runs", "list", "--status", "running")
    names = {line.split()[1] for line in after.stdout.splitlines()[1:] if line.strip()}
    assert names == {"alive", "remote-beating"}
    assert after.stderr == ""
    assert invoke("runs", "reap").stdout.startswith("nothing to reap")


def test_reaped_records_keep_their_own_fields(stack: Stack) -> None:
    """Reaping touches status, end and error only."""
    run_id = running(stack, "remote-silent", "elsewhere:1", datetime.now(UTC) - timedelta(hours=1))
    before = stack.metadata_store.get_run(run_id)
    Client(stack).reap()
    after = stack.metadata_store.get_run(run_id)
    assert replace(after, status=before.status, ended=None, error=None) == before
