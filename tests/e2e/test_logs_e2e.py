"""`bevel logs` through real processes: following a running step from another process, and what a
running step printed so far (the cached-step case is in tests/cli/test_cli_views.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import BEVEL, Runner

PIPE = """
import os, time
from bevel import pipeline, step

@step(enable_cache=False)
def slow(marker: str) -> int:
    print("first line", flush=True)
    while not os.path.exists(marker):  # the test creates it once it has seen the first line
        time.sleep(0.02)
    print("second line")
    return 1

@pipeline
def follow(marker: str):
    slow(marker)
"""


Procs = list["subprocess.Popen[str]"]


@pytest.fixture
def procs() -> Iterator[Procs]:
    """The processes a test starts; any still running at its end is killed."""
    started: Procs = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _start(procs: Procs, folder: Path, *args: str, output: bool = False) -> subprocess.Popen[str]:
    """``bevel ARGS`` in the background, in the project in ``folder``."""
    proc = subprocess.Popen(
        [BEVEL, *args],
        cwd=folder,
        env={**os.environ, "BEVEL_HOME": str(folder / ".bevel"), "NO_COLOR": "1"},
        stdout=subprocess.PIPE if output else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs.append(proc)
    return proc


def _run(
    procs: Procs, folder: Path, bevel_cli: Runner, target: str, marker: Path, name: str
) -> subprocess.Popen[str]:
    """``bevel run TARGET`` in the background, once its run is recorded."""
    runner = _start(procs, folder, "run", target, "-p", f"marker={marker}", "--name", name)
    while bevel_cli("runs", "show", name, ok=False).returncode != 0:
        assert runner.poll() is None, runner.stderr.read() if runner.stderr else ""
    return runner


def _follow(procs: Procs, folder: Path, run: str, step: str) -> subprocess.Popen[str]:
    """``bevel logs -f RUN STEP`` in the background, its output read by the test."""
    return _start(procs, folder, "logs", "-f", run, step, "--interval", "0.05", output=True)


@pytest.mark.timeout(120)
def test_logs_follow_a_running_step_from_another_process(
    tmp_path: Path, bevel_cli: Runner, procs: Procs
) -> None:
    (tmp_path / "pipe.py").write_text(PIPE)
    marker = tmp_path / "go-on"
    runner = _run(procs, tmp_path, bevel_cli, "pipe.py:follow", marker, "followed")
    follower = _follow(procs, tmp_path, "followed", "slow")
    try:
        assert follower.stdout is not None
        # Before: the log was written when the step ended, and there was no --follow.
        assert follower.stdout.readline() == "first line\n"  # while the step still runs
        so_far = bevel_cli("logs", "followed", "slow")
        assert so_far.stdout == "first line\n"
        marker.touch()
        rest, errors = follower.communicate(timeout=60)
        assert follower.returncode == 0, errors
        assert rest == "second line\n"
        assert errors.splitlines()[-1] == "step slow completed"
        assert runner.wait(timeout=60) == 0, runner.stderr.read() if runner.stderr else ""
    finally:
        marker.touch()  # the step ends however the test went
    assert bevel_cli("logs", "followed", "slow").stdout == "first line\nsecond line\n"


@pytest.mark.timeout(120)
def test_logs_follow_ends_when_the_runs_driver_is_killed(
    tmp_path: Path, bevel_cli: Runner, procs: Procs
) -> None:
    (tmp_path / "pipe.py").write_text(PIPE)
    marker = tmp_path / "never"  # the step waits for ever
    runner = _run(procs, tmp_path, bevel_cli, "pipe.py:follow", marker, "doomed")
    follower = _follow(procs, tmp_path, "doomed", "slow")
    assert follower.stdout is not None
    assert follower.stdout.readline() == "first line\n"
    runner.kill()  # SIGKILL: nothing records the end of the run
    runner.wait()
    # Before: the follower waited for ever on a step that nobody would end.
    rest, errors = follower.communicate(timeout=60)
    assert follower.returncode == 0, errors
    assert rest == ""
    assert errors.splitlines()[-1] == (
        f"step slow is recorded as running, but the process driving run doomed is gone (pid "
        f"{runner.pid} on this host no longer exists): nothing will end it (bevel runs reap "
        "records it as failed)"
    )
    assert "running" in bevel_cli("runs", "list").stdout  # following wrote nothing
    so_far = bevel_cli("logs", "doomed", "slow")  # not following: the same word on the end
    assert so_far.stdout == "first line\n" and "nothing will end it" in so_far.stderr
    bevel_cli("runs", "reap")  # what the message says to do
    followed = bevel_cli("logs", "-f", "doomed", "slow")
    assert followed.stdout == "first line\n"
    assert followed.stderr.splitlines()[-1] == "step slow failed"


@pytest.mark.timeout(120)
def test_waiting_for_a_step_ends_when_the_runs_driver_is_killed(
    tmp_path: Path, bevel_cli: Runner, procs: Procs
) -> None:
    (tmp_path / "pipe.py").write_text(
        PIPE + "\n\n@step\ndef after_slow(n: int) -> int:\n    return n\n\n\n"
        "@pipeline\ndef two(marker: str):\n    after_slow(slow(marker))\n"
    )
    runner = _run(procs, tmp_path, bevel_cli, "pipe.py:two", tmp_path / "never", "stuck")
    while "first line" not in bevel_cli("logs", "stuck", "slow", ok=False).stdout:
        assert runner.poll() is None
    runner.kill()
    runner.wait()
    # Before: "waiting for step after_slow of run stuck to start..." for ever.
    waited = bevel_cli("logs", "-f", "stuck", "after_slow", "--interval", "0.05", ok=False)
    assert waited.returncode == 1
    assert waited.stderr.splitlines()[-1] == (
        f"step after_slow of run stuck has not started, and the process driving the run is gone "
        f"(pid {runner.pid} on this host no longer exists): it never will (bevel runs reap "
        "records the run as failed)"
    )
