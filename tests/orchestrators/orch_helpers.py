"""What the steps of the orchestrator tests recorded about when and where they ran (imported by
name: a module called ``conftest`` would clash with other folders' when pytest collects several)."""

from __future__ import annotations

import time
from typing import Any, TextIO

from bevel import Client
from bevel.client.views import RunView


def process_gone(pid: int) -> bool:
    """The process has exited (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return status_says_gone(status)
    except FileNotFoundError:
        return True


def status_says_gone(status: TextIO) -> bool:
    """What an open ``/proc/PID/status`` says. The process may exit and be reaped between the
    open and the read: the read then fails with ESRCH, and that too means it is gone."""
    try:
        return "\nState:\tZ" in status.read()
    except ProcessLookupError:
        return True


def wait_gone(pid: int, seconds: float = 30.0) -> bool:
    """Whether the process is gone within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process_gone(pid)


def ran(run: RunView) -> dict[str, dict[str, Any]]:
    """step id -> what the step logged about itself (start, end, pid, cuda), for steps that did."""
    store = Client().store
    found = {}
    for step_id, view in run.steps.items():
        meta = store.get_metadata("step_run", view.id)
        if "start" in meta:
            found[step_id] = meta
    return found


def overlap(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Seconds during which both ran."""
    return min(a["end"], b["end"]) - max(a["start"], b["start"])


def peak(intervals: list[tuple[float, float, float]]) -> float:
    """The largest sum of amounts held at one instant, from (start, end, amount) intervals."""
    events = sorted(
        [(s, 1, amount) for s, _, amount in intervals]
        + [(e, 0, -amount) for _, e, amount in intervals]
    )  # ends sort before starts at the same instant
    held = best = 0.0
    for _, _, delta in events:
        held += delta
        best = max(best, held)
    return best
