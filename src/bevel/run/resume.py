"""Resuming a failed or cancelled run: its completed steps are reused in the new run.

:func:`completed_steps` reads what the old run finished (step id -> the step run, its outputs
and the content hashes of its inputs). The engine offers each step it is about to submit to
:func:`reuse`: a step that completed before, whose inputs now are the same bytes as then and
whose outputs are still in the artifact store, is recorded CACHED (``cached_from`` the step run
that produced the outputs) instead of running. Everything else runs, with the code as it is
now. A completed step is reused even if its code changed since; to re-run it, run the
pipeline again (the cache then decides).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bevel._dataclass import dataclass
from bevel.artifacts.publish import artifact_path
from bevel.dag.plan import StepSpec
from bevel.errors import ArtifactError
from bevel.metadata.base import MetadataStore
from bevel.metadata.records import (
    ArtifactRecord,
    RunRecord,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.run.task import StepOutcome
from bevel.stack.stack import Stack


@dataclass(frozen=True)
class Completed:
    """A step that completed in the old run."""

    step_run: StepRunRecord
    outputs: dict[str, ArtifactRecord]
    inputs: dict[str, str]  # input name -> content hash


def completed_steps(store: MetadataStore, run_id: str) -> dict[str, Completed]:
    io = store.step_io(run_id)
    found = {}
    for record in store.step_runs(run_id):
        if record.status not in (StepStatus.COMPLETED, StepStatus.CACHED):
            continue
        edges = io.get(record.id, {})
        found[record.step_id] = Completed(
            record,
            dict(edges.get("out", {})),
            {name: art.content_hash for name, art in edges.get("in", {}).items()},
        )
    return found


def reuse(
    stack: Stack,
    run: RunRecord,
    spec: StepSpec,
    step_run_id: str,
    done: Completed,
    inputs: dict[str, ArtifactRecord],
) -> StepOutcome | None:
    """Record ``spec`` as reused from ``done`` when its inputs are unchanged (else None)."""
    if {name: art.content_hash for name, art in inputs.items()} != done.inputs:
        return None
    store = stack.artifact_store
    for art in done.outputs.values():
        try:
            if not store.exists(artifact_path(store, art.uri)):
                return None  # deleted since: run the step again
        except ArtifactError:
            return None  # in another artifact store
    now = datetime.now(UTC)
    before = done.step_run
    record = StepRunRecord(
        id=step_run_id,
        run_id=run.id,
        step_id=spec.id,
        step_name=spec.name,
        status=StepStatus.CACHED,
        started=now,
        ended=now,
        cache_key=before.cache_key,
        cached_from=before.cached_from or before.id,
        params=spec.params,
        code_hash=before.code_hash,
        cache_ingredients=before.cache_ingredients,
    )
    stack.metadata_store.finish_step_run(
        StepCompletion(
            step_run=record,
            reused_outputs=tuple((name, art.id) for name, art in done.outputs.items()),
            inputs=tuple((name, art.id) for name, art in inputs.items()),
        )
    )
    return StepOutcome(record, dict(done.outputs))
