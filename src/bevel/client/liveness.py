"""What is known about the process driving a run, and reaping the runs whose driver died.

The engine records ``host`` ("hostname:pid") and a heartbeat every 30 s. :func:`assess` says,
from the record alone and without writing anything, whether a RUNNING run's driver is alive: on
this host, a pid that no longer exists means the driver died (a SIGKILL, a crashed kernel), and
so does a heartbeat older than :data:`STALE_AFTER` (the pid was reused by another process);
elsewhere, only the heartbeat counts. (Containers that share a hostname but not a process
namespace look like "this host": give them distinct hostnames, as Docker and Kubernetes do by
default.) Reading never changes a status: the Client and ``bevel runs list`` show what is known
("running, no heartbeat for 6 min").

:func:`reap_dead_runs` is the explicit write that records such runs (and their running steps)
as failed. Writers call it: a run that starts, ``bevel runs reap`` (``Client.reap()``) and, later,
the server on a timer. Each reaped run's error names its own driver. The update is conditional
in the store: a run that finished or beat meanwhile is left alone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bevel._dataclass import dataclass
from bevel._system import hostname
from bevel.client import format as fmt
from bevel.metadata.base import MetadataStore, RunFilter
from bevel.metadata.records import RunRecord, RunStatus

#: A driver beats every 30 s while it lives; this much silence means it is gone.
STALE_AFTER = timedelta(minutes=5)
#: The prefix of the error a reaped run gets (``bevel runs show`` prints it).
REAPED = "marked failed: the process driving this run died"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Driven(Protocol):
    """What liveness is judged from: a :class:`RunRecord` or a ``RunView``."""

    @property
    def status(self) -> RunStatus: ...
    @property
    def host(self) -> str: ...
    @property
    def heartbeat(self) -> datetime | None: ...
    @property
    def created(self) -> datetime: ...


@dataclass(frozen=True)
class Liveness:
    """What is known about the driver of one RUNNING run, at ``now``.

    ``dead`` is the reaper's verdict; ``reason`` says why in words (it becomes the reaped run's
    error); ``silent_for`` is the time since the last sign of life (heartbeat, else creation).
    """

    dead: bool
    reason: str
    silent_for: timedelta
    last_seen: datetime
    pid_gone: bool = False

    def describe(self) -> str:
        """The status as a listing shows it: ``running``, or what is wrong with it."""
        if self.pid_gone:
            return f"running, but its process is gone ({self.reason})"
        if self.silent_for > STALE_AFTER:
            return f"running, no heartbeat for {fmt.age(self.silent_for)}"
        return "running"


def assess(run: Driven, now: datetime | None = None) -> Liveness | None:
    """The liveness of ``run``'s driver (``None`` when the run is not RUNNING). Pure: reads the
    record, and this host's process table for a driver on this host."""
    if run.status is not RunStatus.RUNNING:
        return None
    now = now or datetime.now(UTC)
    last = run.heartbeat or run.created
    silent_for = max(now - last, timedelta(0))
    silent = silent_for > STALE_AFTER
    driver = run.host or "an unknown host"
    host, _, pid = run.host.rpartition(":")
    if host == hostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return Liveness(False, f"driven by this process ({driver})", silent_for, last)
        if not _pid_alive(int(pid)):
            return Liveness(
                True, f"pid {pid} on this host no longer exists", silent_for, last, True
            )
        # a live pid that stopped beating belongs to another process now (a reused pid)
        if silent:
            reason = f"no heartbeat from {driver} for {fmt.age(silent_for)}; its pid was reused"
            return Liveness(True, reason, silent_for, last)
        return Liveness(False, f"{driver} is alive", silent_for, last)
    if silent:
        return Liveness(
            True, f"no heartbeat from {driver} for {fmt.age(silent_for)}", silent_for, last
        )
    return Liveness(False, f"{driver} beat {fmt.age(silent_for)} ago", silent_for, last)


@dataclass(frozen=True)
class Reaped:
    """A run that :func:`reap_dead_runs` recorded as failed (or would, in a dry run)."""

    run: RunRecord  # as it was read, still RUNNING
    liveness: Liveness

    @property
    def error(self) -> str:
        return f"{REAPED} ({self.liveness.reason})"


def reap_dead_runs(
    store: MetadataStore, *, now: datetime | None = None, dry_run: bool = False
) -> list[Reaped]:
    """Record every RUNNING run whose driver is known to be dead as failed, with its running
    steps; each run's error names its own driver. Returns those runs, oldest first.

    One query for the running runs, then one conditional update per dead run (rare), which
    changes nothing if the run finished or beat again since it was read.
    """
    now = now or datetime.now(UTC)
    running = store.list_runs(RunFilter(status=RunStatus.RUNNING, limit=0))
    found: list[Reaped] = []
    for run in sorted(running, key=lambda r: r.created):
        verdict = assess(run, now)
        if verdict is None or not verdict.dead:
            continue
        reaped = Reaped(run, verdict)
        if not dry_run:
            # a gone pid is dead whatever its last beat; silence is re-checked by the store
            older_than = now if verdict.pid_gone else now - STALE_AFTER
            marked = store.mark_stale_runs(older_than, run_ids=[run.id], reason=reaped.error)
            if not marked:
                continue  # it finished, or beat, since it was read
        found.append(reaped)
    return found
