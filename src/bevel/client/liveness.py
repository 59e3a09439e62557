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
    """Record RUNNING runs whose driver died as failed; True when anything changed."""
    now = datetime.now(UTC)
    dead = [r for r in runs if r.status is RunStatus.RUNNING and driver_dead(r, now)]
    if not dead:
        return False
    # also fails their RUNNING step runs, in one transaction
    store.mark_stale_runs(
        now,
        run_ids=[r.id for r in dead],
        reason="marked failed: the process driving this run died "
        f"({', '.join(sorted({r.host or 'unknown host' for r in dead}))})",
    )
    return True
