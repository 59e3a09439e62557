"""The process helpers the orchestrator tests wait with must not turn a worker's normal exit into
a failure: CI once failed because a worker exited between the open of ``/proc/PID/status`` and
its read, and the read raised ``ProcessLookupError``."""

from __future__ import annotations

import subprocess

from orch_helpers import process_gone, status_says_gone, wait_gone


def test_a_process_that_exits_between_the_open_and_the_read_counts_as_gone() -> None:
    child = subprocess.Popen(["sleep", "60"])
    with open(f"/proc/{child.pid}/status") as status:
        child.kill()
        child.wait()  # reaped: the open file now names no process
        assert status_says_gone(status)


def test_a_running_process_is_not_gone_and_a_reaped_or_zombie_one_is() -> None:
    child = subprocess.Popen(["sleep", "60"])
    assert not process_gone(child.pid)
    child.kill()
    assert wait_gone(child.pid, seconds=10)  # a zombie, not yet reaped
    child.wait()
    assert process_gone(child.pid)
