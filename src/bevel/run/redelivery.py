"""A task delivered to a worker a second time: the engine's view stays one step run per try.

Engines that re-run a task whose worker died (Dask reschedules it on another worker; a
Kubernetes Job retries its pod) deliver the same :class:`~bevel.run.worker.StepTask`, with the
same step run id, again. The first delivery records which worker took it (step run metadata
``worker``, written with the step run's start in one transaction: :func:`note`); a later one finds that step run still RUNNING, records it failed with the reason
("the worker tcp://10.0.0.7:40123 died while running step 'train'"), and either runs the step
again under a new step run id, when the step has retries left, or reports the failure. A task
whose step run already ended (the engine gave up on it, or a lost result is recomputed) is not
run again: its recorded outcome is returned.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bevel.dag.plan import StepSpec
from bevel.errors import NotFound, StepFailed, WorkerLost
from bevel.metadata.records import (
    MetadataEntry,
    RunRecord,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.run.task import StepOutcome, new_id
from bevel.stack.stack import Stack

_DIED = "died while running step"


def claim(
    stack: Stack, run: RunRecord, spec: StepSpec, step_run_id: str, worker: str
) -> str | StepOutcome:
    """The step run id to run the task under on ``worker``, or the outcome to report
    without running it. The caller records :func:`note` with the step run it starts."""
    store = stack.metadata_store
    try:
        earlier = store.get_step_run(step_run_id)
    except NotFound:
        return step_run_id
    if earlier.status is not StepStatus.RUNNING:
        return _recorded(stack, run, earlier)
    dead = store.get_metadata("step_run", earlier.id).get("worker", "that ran it")
    lost = sum(
        1
        for s in store.step_runs(run.id)
        if s.step_id == spec.id and s.status is StepStatus.FAILED and _DIED in (s.error or "")
    )
    again = lost < spec.options.retries
    message = f"the worker {dead} {_DIED} '{spec.id}'"
    if again:
        message += f"; running it again on {worker} (retry {lost + 1} of {spec.options.retries})"
    final = replace(earlier, status=StepStatus.FAILED, ended=datetime.now(UTC), error=message)
    store.finish_step_run(StepCompletion(step_run=final))
    if not again:
        return StepOutcome(final, {}, error=WorkerLost(message, step=spec.id))
    return new_id()


def note(step_run_id: str, worker: str) -> MetadataEntry:
    """The metadata saying that ``worker`` took the step run ``step_run_id``."""
    return MetadataEntry("step_run", step_run_id, "worker", worker, datetime.now(UTC))


def _recorded(stack: Stack, run: RunRecord, record: StepRunRecord) -> StepOutcome:
    outputs = stack.metadata_store.step_io(run.id).get(record.id, {}).get("out", {})
    ok = record.status in (StepStatus.COMPLETED, StepStatus.CACHED)
    error = None if ok else StepFailed(record.error or record.status.value, step=record.step_id)
    return StepOutcome(record, dict(outputs), error=error)
