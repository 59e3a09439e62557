"""Status changes of runs and step runs, each conditional on the status the store holds.

Every change follows the table in :mod:`bevel.metadata.records` (``RUN_TRANSITIONS``,
``STEP_TRANSITIONS``): an UPDATE names the statuses it may start from in its WHERE clause, so
two processes racing to end the same run cannot both win, whatever the database. The loser gets
:class:`~bevel.errors.StatusConflict` with the status that won.

Ending a run takes its row for update and ends its RUNNING step runs in the same transaction,
so an ended run never has a RUNNING step run. That makes ending a step run safe with no look at
its run: the UPDATE is conditional on the step run still RUNNING. Adding a step run (started,
or recorded without running) reads the run's row with a shared lock first (``FOR SHARE`` on
PostgreSQL, ``LOCK IN SHARE MODE`` on MySQL/MariaDB; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers). Whichever commits first, the other sees it: no step run is added to, or
left running in, an ended run. The run's row is locked ``FOR NO KEY UPDATE`` on PostgreSQL, so
that a step finishing at the same moment (its artifacts' foreign keys take a key-share lock on
the run) waits for nothing; on MySQL/MariaDB that rare case is a deadlock the store retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from bevel.errors import StatusConflict
from bevel.metadata.records import (
    RunStatus,
    StepRunRecord,
    StepStatus,
    run_status_sources,
)
from bevel.metadata.sql.reads import run_not_found
from bevel.metadata.sql.schema import runs, step_runs

_RUN_STATE = select(runs.c.status, runs.c.error).where(runs.c.id == bindparam("id"))
_RUN_STATE_SHARED = _RUN_STATE.with_for_update(read=True)
_RUN_STATE_EXCLUSIVE = _RUN_STATE.with_for_update(key_share=True)
_STEP_STATE = select(step_runs.c.status, step_runs.c.error).where(step_runs.c.id == bindparam("id"))
_BEAT = (
    update(runs)
    .where(runs.c.id == bindparam("_id"), runs.c.status == RunStatus.RUNNING.value)
    .values(heartbeat=bindparam("_at"))
)

_HINT = (
    "a final status never changes; `bevel runs show RUN` shows what ended the run"
    " (a run whose process stopped sending heartbeats is marked failed by other readers)"
)


def _state(error: str | None) -> str:
    return f" ({error})" if error else ""


def _is(current: str) -> str:
    return "is running" if current == "running" else f"has already ended as {current}"


def run_conflict(run_id: str, current: str, error: str | None, wanted: str) -> StatusConflict:
    return StatusConflict(
        f"run {run_id} {_is(current)}{_state(error)}; it cannot {wanted}",
        entity="run",
        id=run_id,
        current=current,
        error=error,
        hint=_HINT,
    )


def require_running_run(conn: Connection, run_id: str, wanted: str) -> None:
    """Raise unless the run exists and is RUNNING, holding a shared lock on its row until the
    transaction ends (so the run cannot end while this transaction adds to it)."""
    row = conn.execute(_RUN_STATE_SHARED, {"id": run_id}).first()
    if row is None:
        raise run_not_found(run_id)
    if row.status != RunStatus.RUNNING.value:
        raise run_conflict(run_id, row.status, row.error, wanted)


def step_conflict(conn: Connection, sr: StepRunRecord) -> StatusConflict | None:
    """Why the conditional update of ``sr`` matched no row: None when there is no such step run
    yet (insert it), else the conflict with the status the store holds."""
    row = conn.execute(_STEP_STATE, {"id": sr.id}).first()
    if row is None:
        return None
    return StatusConflict(
        f"step run {sr.id} of step {sr.step_id!r} {_is(row.status)}"
        f"{_state(row.error)}; it cannot become {StepStatus(sr.status).value}",
        entity="step_run",
        id=sr.id,
        current=row.status,
        error=row.error,
        hint=_HINT,
    )


def finish_run(
    conn: Connection, run_id: str, status: RunStatus, ended: datetime, error: str | None
) -> None:
    """End a RUNNING run; its step runs still running end with it (cancelled, or failed)."""
    row = conn.execute(_RUN_STATE_EXCLUSIVE, {"id": run_id}).first()
    if row is None:
        raise run_not_found(run_id)
    if RunStatus(row.status) not in run_status_sources(status):
        raise run_conflict(run_id, row.status, row.error, f"become {status.value}")
    if status is RunStatus.COMPLETED:
        still = conn.execute(
            select(step_runs.c.step_id).where(
                step_runs.c.run_id == run_id, step_runs.c.status == StepStatus.RUNNING.value
            )
        ).scalars()
        names = sorted(still)
        if names:
            raise StatusConflict(
                f"run {run_id} cannot complete while step runs are running: {', '.join(names)}",
                entity="run",
                id=run_id,
                current=row.status,
                hint="end the step runs first (a run that stops early is failed or cancelled)",
            )
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == row.status)
        .values(status=status.value, ended=ended, error=error)
    )
    if status is not RunStatus.COMPLETED:
        step_status = StepStatus.CANCELLED if status is RunStatus.CANCELLED else StepStatus.FAILED
        why = f"not finished: the run was {status.value} while this step ran{_reason(error)}"
        _end_running_steps(conn, [run_id], step_status, ended, why)


def _reason(error: str | None) -> str:
    return f" ({error})" if error else ""


def heartbeat(conn: Connection, run_id: str, at: datetime) -> None:
    """Record a sign of life, only while the run is RUNNING."""
    if conn.execute(_BEAT, {"_id": run_id, "_at": at}).rowcount:
        return
    row = conn.execute(_RUN_STATE, {"id": run_id}).first()
    if row is None:
        raise run_not_found(run_id)
    raise run_conflict(run_id, row.status, row.error, "send heartbeats")


def mark_stale_runs(
    conn: Connection,
    older_than: datetime,
    *,
    run_ids: Sequence[str] | None = None,
    reason: str = "",
) -> list[str]:
    """Fail RUNNING runs (and their RUNNING step runs) with no sign of life since ``older_than``,
    only among ``run_ids`` when given.

    The silence is checked on rows locked for update and again in the UPDATE itself, so a
    heartbeat that commits while this runs keeps its run alive: a live run is never marked.
    """
    last_seen = func.coalesce(runs.c.heartbeat, runs.c.created)
    stale = [runs.c.status == RunStatus.RUNNING.value, last_seen < older_than]
    if run_ids is not None:
        if not run_ids:
            return []
        stale.append(runs.c.id.in_(list(run_ids)))
    query = select(runs.c.id).where(*stale).order_by(runs.c.created)
    query = query.with_for_update(key_share=True)
    ids = list(conn.execute(query).scalars())
    if not ids:
        return []
    now = datetime.now(UTC)
    error = reason or (
        f"marked failed: no heartbeat since before {older_than:%Y-%m-%d %H:%M:%S %Z}"
        " (the process driving the run probably died)"
    )
    conn.execute(
        update(runs)
        .where(runs.c.id.in_(ids), *stale)
        .values(status=RunStatus.FAILED.value, ended=now, error=error)
    )
    _end_running_steps(conn, ids, StepStatus.FAILED, now, error)
    return ids


def _end_running_steps(
    conn: Connection, run_ids: Sequence[str], status: StepStatus, ended: datetime, error: str
) -> None:
    conn.execute(
        update(step_runs)
        .where(
            step_runs.c.run_id.in_(list(run_ids)), step_runs.c.status == StepStatus.RUNNING.value
        )
        .values(status=status.value, ended=ended, error=error)
    )
