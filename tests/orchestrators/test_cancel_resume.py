"""`bevel runs cancel` from another process stops a run and its steps (worker processes too);
`bevel runs resume` re-runs a failed or cancelled run as a new run, reusing what completed."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from orch_helpers import process_gone

from bevel import Client
from bevel.api import load_pipeline, run_pipeline
from bevel.errors import RunCancelled

HERE = Path(__file__).parent
BEVEL = [sys.executable, "-m", "bevel"]


@pytest.fixture
def project(bevel_home: Path, tmp_path: Path, invoke: Callable[..., Result]) -> Path:
    shutil.copy(HERE / "control_pipelines.py", tmp_path / "pipes.py")
    for args in (
        ("component", "register", "orchestrator", "par", "--flavor", "local_parallel",
         "--processes", "2"),
        ("stack", "register", "parallel", "-o", "par", "-a", "local-artifacts"),
    ):  # fmt: skip
        done = invoke(*args)
        assert done.exit_code == 0, done.output
    return tmp_path


def _ignore_sigint() -> None:
    """Start the driver with SIGINT ignored, as a background job or a daemon's child is (then
    Python installs no KeyboardInterrupt handler): a cancel must stop it all the same."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(project: Path, marker: Path, stack: str) -> subprocess.Popen[str]:
    """The run `to-cancel`, once its long step runs (and, on the parallel stack, its quick
    branch has completed beside it)."""
    args = ["run", "pipes.py:cancellable", "-p", f"marker={marker}", "--name", "to-cancel"]
    if stack:
        args += ["--stack", stack]
    driver = subprocess.Popen(
        [*BEVEL, *args], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_ignore_sigint,
    )  # fmt: skip
    while not marker.exists() or not marker.read_text() or (stack and not _quick_done()):
        assert driver.poll() is None, driver.communicate()[0]
        time.sleep(0.05)
    return driver


def _quick_done() -> bool:
    """The short branch of the run being cancelled has completed (so a resume reuses it)."""
    runs = Client().runs(name="to-cancel")
    step = runs[0].steps.get("quick") if runs else None
    return step is not None and step.status == "completed"


@pytest.mark.parametrize("stack", ["parallel", ""], ids=["local_parallel", "local"])
def test_cancel_from_another_process_stops_the_run_and_its_steps(
    project: Path, tmp_path: Path, stack: str
) -> None:
    marker = tmp_path / "started"
    driver = _start(project, marker, stack)
    step_pid = int(marker.read_text())
    cancel = subprocess.run(
        [*BEVEL, "runs", "cancel", "to-cancel"], cwd=project, capture_output=True, text=True
    )
    assert cancel.returncode == 0, cancel.stderr
    assert cancel.stdout.startswith("cancelled run to-cancel; its driver (")
    out, _ = driver.communicate(timeout=60)  # it stopped: the step would sleep 120 s
    assert driver.returncode == 130, out
    assert "run cancelled: cancelled with `bevel runs cancel` by" in out
    run = Client().get_run("to-cancel")
    assert run.status == "cancelled"
    assert (run.error or "").startswith("cancelled with `bevel runs cancel` by ")
    assert run.steps["long_step"].status == "cancelled"
    deadline = time.monotonic() + 30
    while not process_gone(step_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process_gone(step_pid)  # the step's process was stopped, not left sleeping
    again = subprocess.run(
        [*BEVEL, "runs", "cancel", "to-cancel"], cwd=project, capture_output=True, text=True
    )
    assert again.returncode == 2
    assert "run to-cancel is not running (it cancelled): nothing to cancel" in again.stderr


def test_resume_after_a_failure_reuses_what_completed(
    project: Path, tmp_path: Path, invoke: Callable[..., Result]
) -> None:
    fixed = tmp_path / "fixed"
    first = invoke("run", "pipes.py:fixable", "-p", f"fixed={fixed}", "--no-cache", "--name", "r1")
    assert first.exit_code == 1
    old = Client().get_run("r1")
    assert {s: v.status.value for s, v in old.steps.items()} == {
        "start": "completed", "flaky": "failed", "finish": "skipped", "side": "completed"
    }  # fmt: skip
    fixed.write_text("")  # the problem is fixed
    resumed = invoke("runs", "resume", "r1")
    assert resumed.exit_code == 0, resumed.output
    new = Client().last_run("fixable")
    assert new.id != old.id and new.metadata["resumed_from"] == old.id
    got = {s: v.status.value for s, v in new.steps.items()}
    assert got == {"start": "cached", "side": "cached", "flaky": "completed", "finish": "completed"}
    assert new.steps["start"].cached_from == old.steps["start"].id  # despite --no-cache
    assert new.steps["finish"].output.load() == 21
    assert new.params == old.params


def test_resume_refuses_completed_and_running_runs_and_the_hints_work(
    project: Path, tmp_path: Path, invoke: Callable[..., Result]
) -> None:
    fixed = tmp_path / "fixed"
    fixed.write_text("")
    assert invoke("run", "pipes.py:fixable", "-p", f"fixed={fixed}", "--name", "ok").exit_code == 0
    done = invoke("runs", "resume", "ok")
    assert done.exit_code == 2
    assert "run ok completed: there is nothing to resume" in done.output

    marker = tmp_path / "started"
    driver = _start(project, marker, "parallel")
    try:
        running = invoke("runs", "resume", "to-cancel")
        assert running.exit_code == 2
        assert (
            "hint: cancel it first (bevel runs cancel to-cancel), then resume it" in running.output
        )
        assert invoke("runs", "cancel", "to-cancel").exit_code == 0  # the hint, followed
        driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    marker.unlink()
    resumed = subprocess.Popen(
        [*BEVEL, "runs", "resume", "to-cancel"], cwd=project, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    while not marker.exists():
        assert resumed.poll() is None, resumed.communicate()[0]
        time.sleep(0.05)
    new = Client().runs(pipeline="cancellable")[0]
    assert new.metadata["resumed_from"] == Client().get_run("to-cancel").id
    assert new.stack == "parallel"  # resumed on the stack the run ran on
    assert new.steps["quick"].status == "cached"  # it had completed
    resumed.kill()
    resumed.wait()


def test_a_run_whose_driver_was_killed_is_resumed_without_cancelling_it_first(
    project: Path, tmp_path: Path
) -> None:
    """Before: the killed run was still recorded running and resume refused it ("cancel it
    first"); resume is a writer, so it reaps the dead run (recorded failed) and resumes it."""
    marker = tmp_path / "started"
    driver = _start(project, marker, "")
    driver.send_signal(signal.SIGKILL)
    driver.communicate(timeout=60)
    assert Client().get_run("to-cancel").status == "running"  # reading never reaps
    marker.unlink()
    resumed = subprocess.Popen(
        [*BEVEL, "runs", "resume", "to-cancel"], cwd=project, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        while not marker.exists():
            assert resumed.poll() is None, resumed.communicate()[0]
            time.sleep(0.05)
    finally:
        resumed.kill()
        resumed.wait()
    old = Client().get_run("to-cancel")
    assert old.status == "failed"
    assert (old.error or "").startswith("marked failed: the process driving this run died")
    new = Client().runs(pipeline="cancellable")[0]
    assert new.metadata["resumed_from"] == old.id


def test_run_pipeline_raises_run_cancelled_when_cancelled_from_another_process(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    marker = tmp_path / "started"
    cancelled: list[subprocess.CompletedProcess[str]] = []

    def cancel_once_started() -> None:
        while not marker.exists() or not marker.read_text():
            time.sleep(0.05)
        cancel = [*BEVEL, "runs", "cancel", "in-process"]
        cancelled.append(subprocess.run(cancel, cwd=project, capture_output=True, text=True))

    canceller = threading.Thread(target=cancel_once_started, daemon=True)
    canceller.start()
    with pytest.raises(RunCancelled) as caught:
        run_pipeline(
            load_pipeline("pipes.py:cancellable"), params={"marker": str(marker)},
            run_name="in-process", stack="parallel",
        )  # fmt: skip
    canceller.join(timeout=60)
    assert cancelled and cancelled[0].returncode == 0, cancelled
    assert str(caught.value).startswith(
        "run in-process was cancelled from another process (cancelled with `bevel runs cancel` by "
    )
    assert caught.value.run_id == Client().get_run("in-process").id
    assert Client().get_run("in-process").status == "cancelled"
