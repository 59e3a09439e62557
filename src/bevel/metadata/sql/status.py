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

from bevel.errors import StatusConflict
from bevel.metadata.records import (
    RunStatus,
    StepRunRecord,
    StepStatus,
    run_status_sources,
)
from bevel.metadata.sql.db import Conn
from bevel.metadata.sql.reads import run_not_found

_RUN_STATE = "SELECT status, error FROM runs WHERE id = :id"
_RUNNING = RunStatus.RUNNING.value
_STEP_RUNNING = StepStatus.RUNNING.value

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


def require_running_run(conn: Conn, run_id: str, wanted: str) -> None:
    """Raise unless the run exists and is RUNNING, holding a shared lock on its row until the
    transaction ends (so the run cannot end while this transaction adds to it)."""
    row = conn.first(_RUN_STATE + " {for_share}", id=run_id)
    if row is None:
        raise run_not_found(run_id)
    if row[0] != _RUNNING:
        raise run_conflict(run_id, row[0], row[1], wanted)


def step_conflict(conn: Conn, sr: StepRunRecord) -> StatusConflict | None:
    """Why the conditional update of ``sr`` matched no row: None when there is no such step run
    yet (insert it), else the conflict with the status the store holds."""
    row = conn.first("SELECT status, error FROM step_runs WHERE id = :id", id=sr.id)
    if row is None:
        return None
    current, error = row
    return StatusConflict(
        f"step run {sr.id} of step {sr.step_id!r} {_is(current)}"
        f"{_state(error)}; it cannot become {StepStatus(sr.status).value}",
        entity="step_run",
        id=sr.id,
        current=current,
        error=error,
        hint=_HINT,
    )


def finish_run(
    conn: Conn, run_id: str, status: RunStatus, ended: datetime, error: str | None
) -> None:
    """End a RUNNING run; its step runs still running end with it (cancelled, or failed)."""
    row = conn.first(_RUN_STATE + " {for_no_key_update}", id=run_id)
    if row is None:
        raise run_not_found(run_id)
    current, current_error = row
    if RunStatus(current) not in run_status_sources(status):
        raise run_conflict(run_id, current, current_error, f"become {status.value}")
    if status is RunStatus.COMPLETED:
        names = sorted(
            conn.scalars(
                "SELECT step_id FROM step_runs WHERE run_id = :run_id AND status = :running",
                run_id=run_id,
                running=_STEP_RUNNING,
            )
        )
        if names:
            raise StatusConflict(
                f"run {run_id} cannot complete while step runs are running: {', '.join(names)}",
                entity="run",
                id=run_id,
                current=current,
                hint="end the step runs first (a run that stops early is failed or cancelled)",
            )
    conn.run(
        "UPDATE runs SET status = :status, ended = :ended, error = :error"
        " WHERE id = :id AND status = :current",
        status=status.value,
        ended=ended,
        error=error,
        id=run_id,
        current=current,
    )
    if status is not RunStatus.COMPLETED:
        step_status = StepStatus.CANCELLED if status is RunStatus.CANCELLED else StepStatus.FAILED
        why = f"not finished: the run was {status.value} while this step ran{_state(error)}"
        _end_running_steps(conn, [run_id], step_status, ended, why)


def heartbeat(conn: Conn, run_id: str, at: datetime) -> None:
    """Record a sign of life, only while the run is RUNNING."""
    if conn.run(
        "UPDATE runs SET heartbeat = :at WHERE id = :id AND status = :running",
        at=at,
        id=run_id,
        running=_RUNNING,
    ):
        return
    row = conn.first(_RUN_STATE, id=run_id)
    if row is None:
        raise run_not_found(run_id)
    raise run_conflict(run_id, row[0], row[1], "send heartbeats")


_STALE = "status = :running AND COALESCE(heartbeat, created) < :older_than"


def mark_stale_runs(
    conn: Conn,
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
    stale = _STALE
    params: dict[str, object] = {"running": _RUNNING, "older_than": older_than}
    if run_ids is not None:
        if not run_ids:
            return []
        stale += " AND id IN (:run_ids)"
        params["run_ids"] = list(run_ids)
    ids = conn.scalars(
        f"SELECT id FROM runs WHERE {stale} ORDER BY created {{for_no_key_update}}", params
    )
    if not ids:
        return []
    now = datetime.now(UTC)
    error = reason or (
        f"marked failed: no heartbeat since before {older_than:%Y-%m-%d %H:%M:%S %Z}"
        " (the process driving the run probably died)"
    )
    conn.run(
        f"UPDATE runs SET status = :failed, ended = :now, error = :error"
        f" WHERE id IN (:ids) AND {stale}",
        {**params, "failed": RunStatus.FAILED.value, "now": now, "error": error, "ids": ids},
    )
    _end_running_steps(conn, ids, StepStatus.FAILED, now, error)
    return ids


def _end_running_steps(
    conn: Conn, run_ids: Sequence[str], status: StepStatus, ended: datetime, error: str
) -> None:
    conn.run(
        "UPDATE step_runs SET status = :status, ended = :ended, error = :error"
        " WHERE run_id IN (:run_ids) AND status = :running",
        status=status.value,
        ended=ended,
        error=error,
        run_ids=list(run_ids),
        running=_STEP_RUNNING,
    )
