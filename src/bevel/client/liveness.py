"""Runs never stay "running" after the process driving them died.

The engine records ``host`` ("hostname:pid") and a heartbeat every 30 s. Whenever the client
reads runs, the ones still RUNNING are checked: on this host, a pid that no longer exists means
the driver died (a SIGKILL, a crashed kernel), and so does a heartbeat older than
:data:`STALE_AFTER` (the pid was reused by another process); elsewhere, only the heartbeat
counts. (Containers that share a hostname but not a process namespace look like "this host":
give them distinct hostnames, as Docker and Kubernetes do by default.) Such runs (and their running steps) are recorded as failed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bevel.metadata.base import MetadataStore
from bevel.metadata.records import RunRecord, RunStatus

STALE_AFTER = timedelta(minutes=5)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def driver_dead(run: RunRecord, now: datetime) -> bool:
    """Whether the process that drove ``run`` is known to be gone."""
    last = run.heartbeat or run.created
    silent = now - last > STALE_AFTER  # the driver beats every 30 s while it lives
    host, _, pid = run.host.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        # a gone pid is dead at once; a live one that stopped beating is a reused pid
        return not _pid_alive(int(pid)) or silent
    return silent


def reap(store: MetadataStore, runs: Sequence[RunRecord]) -> bool:
    """Record RUNNING runs whose driver died as failed; True when anything changed.

    ``runs`` may be stale by the time this writes: the store marks a run only if it is still
    RUNNING and has not beaten since the instant that made it look dead (now, for a driver
    whose pid is gone; now minus :data:`STALE_AFTER` for a silent one), so a driver that beats
    again after ``runs`` were read is never declared dead.
    """
    now = datetime.now(UTC)
    marked = False
    for run in runs:
        if run.status is not RunStatus.RUNNING or not driver_dead(run, now):
            continue
        older_than = now if _pid_gone(run) else now - STALE_AFTER
        # also fails its RUNNING step runs, in one transaction
        marked |= bool(
            store.mark_stale_runs(
                older_than,
                run_ids=[run.id],
                reason="marked failed: the process driving this run died "
                f"({run.host or 'unknown host'})",
            )
        )
    return marked


def _pid_gone(run: RunRecord) -> bool:
    host, _, pid = run.host.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))
