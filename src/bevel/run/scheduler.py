"""The state of one run inside the engine's loop: what is pending, done, failed, and what the
next steps receive (see :mod:`bevel.run.driver`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bevel.artifacts.handoff import Owned
from bevel.dag.compile import Compiled
from bevel.dag.graph import downstream_of
from bevel.dag.plan import StepSpec, element, instance, split_instance
from bevel.errors import NotFound, StatusConflict
from bevel.metadata.records import (
    STEP_TRANSITIONS,
    ArtifactRecord,
    RunRecord,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.run.events import RunListener
from bevel.run.task import StepInputs, StepOutcome, new_id
from bevel.stack.stack import Stack


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """State of one run: which steps are done, failed, skipped, and which objects are live.

    A mapped step (``step.map(...)``) is expanded when the lists it maps over are known: it
    is replaced by one instance per element (``evaluate[0]``, ``evaluate[1]``...), each a step
    of its own; the mapped step counts as done when every instance is, and a step gathering
    its outputs (fan-in) then receives them all, in order."""

    def __init__(self, compiled: Compiled, stack: Stack, run: RunRecord, listener: RunListener):
        self.plan = compiled.plan
        self.definitions = compiled.steps
        self.stack = stack
        self.run = run
        self.listener = listener
        self.specs = {s.id: s for s in self.plan.steps}
        self.pending: dict[str, StepSpec] = dict(self.specs)
        self.outputs: dict[str, dict[str, ArtifactRecord]] = {}
        self.objects: dict[tuple[str, str], Any] = {}
        self.readers: dict[tuple[str, str], int] = {}
        for spec in self.plan.steps:
            for ref in spec.inputs.values():
                key = (ref.step, ref.output)
                self.readers[key] = self.readers.get(key, 0) + 1
        self.failed: list[str] = []
        self.errors: dict[str, BaseException] = {}
        self.mapped = {s.id for s in self.plan.steps if s.map_over}
        self.calls: dict[str, list[str]] = {}  # mapped step -> its instances, once expanded
        self.waiting: dict[str, set[str]] = {}  # mapped step -> instances not done yet
        self.base_of: dict[str, str] = {}  # instance -> its mapped step
        # pending step -> an upstream step it was found waiting for (see ready)
        self._blocked: dict[str, str] = {}

    def definition(self, step_id: str) -> Any:
        """The in-process definition of a step (an instance's is its mapped step's)."""
        return self.definitions.get(self.base_of.get(step_id, step_id))

    def ready(self) -> list[StepSpec]:
        """The pending steps whose upstream steps are all done.

        The engine asks after every step, so each pending step remembers an upstream step it
        was found waiting for: while that one is not done, the step is passed over with one
        lookup instead of a look at all its upstream (a 100-step chain asked ~5,000 times).
        """
        done = self.outputs.keys()
        blocked = self._blocked
        found: list[StepSpec] = []
        for spec in list(self.pending.values()):
            waits = blocked.get(spec.id)
            if waits is not None and waits not in done:
                continue
            waits = next((u for u in spec.upstream if u not in done), None)
            if waits is not None:
                blocked[spec.id] = waits
                continue
            if spec.map_over and spec.id not in self.calls:
                found += self.expand(spec)
            else:
                found.append(spec)
        return found

    def expand(self, spec: StepSpec) -> list[StepSpec]:
        """Replace the mapped step ``spec`` by one instance per element of what it maps over."""
        lengths = {}
        for arg, ref in spec.map_over.items():
            if ref.step in self.mapped:
                lengths[arg] = len(self.calls[ref.step])
            else:
                names = (split_instance(name) for name in self.outputs[ref.step])
                lengths[arg] = sum(1 for base, i in names if base == ref.output and i is not None)
        del self.pending[spec.id]
        self._release_inputs(spec)
        if len(set(lengths.values())) > 1:
            sizes = ", ".join(f"'{arg}' has {n}" for arg, n in lengths.items())
            message = f"step '{spec.id}' is mapped over lists of different lengths: {sizes}"
            record = self.record_not_run(spec, new_id(), StepStatus.FAILED, message)
            self.collect(spec, StepOutcome(record, {}), notify=False, released=True)
            return []
        count = next(iter(lengths.values()), 0)
        ids = []
        for index in range(count):
            call = instance(spec, index, self.mapped)
            self.specs[call.id] = call
            self.pending[call.id] = call
            self.base_of[call.id] = spec.id
            for ref in call.inputs.values():
                key = (ref.step, ref.output)
                self.readers[key] = self.readers.get(key, 0) + 1
            ids.append(call.id)
        self.calls[spec.id] = ids
        self.waiting[spec.id] = set(ids)
        if not ids:
            self.outputs[spec.id] = {}  # mapped over an empty list: done, with no calls
        return [self.pending[i] for i in ids]

    def inputs_for(self, spec: StepSpec) -> StepInputs:
        artifacts = {n: self.outputs[r.step][r.output] for n, r in spec.inputs.items()}
        for arg, ref in spec.gather.items():
            for index, call in enumerate(self.calls[ref.step]):
                artifacts[element(arg, index)] = self.outputs[call][ref.output]
        objects: dict[str, Any] = {}
        for n, r in spec.inputs.items():
            key = (r.step, r.output)
            if key not in self.objects:
                continue
            # Its last reader: the engine lets go of it (not to a sweep, whose trials all read
            # it: the first would own it, the others load the stored artifact).
            if self.readers.get(key) == 1 and spec.options.sweep is None:
                objects[n] = Owned(self.objects.pop(key))
            else:
                objects[n] = self.objects[key]
        return StepInputs(artifacts, objects)

    def _release_inputs(self, spec: StepSpec) -> None:
        """Free in-memory objects that no step still to run will read."""
        for ref in spec.inputs.values():
            key = (ref.step, ref.output)
            if key not in self.readers:
                continue
            self.readers[key] -= 1
            if self.readers[key] == 0:
                self.objects.pop(key, None)

    def collect(
        self, spec: StepSpec, outcome: StepOutcome, *, notify: bool = True, released: bool = False
    ) -> None:
        if not released:
            self._release_inputs(spec)
        if notify:
            self.listener.on_step_end(outcome.step_run)
        base = self.base_of.get(spec.id, spec.id)
        if not outcome.ok:
            self.failed.append(spec.id)
            if outcome.error is not None:
                self.errors[spec.id] = outcome.error
            self.skip(
                downstream_of(self.plan, [base]),
                because=f"step '{spec.id}' did not complete",
            )
            return
        self.outputs[spec.id] = outcome.outputs
        if base != spec.id:
            self.waiting[base].discard(spec.id)
            if not self.waiting[base] and not any(c in self.failed for c in self.calls[base]):
                self.outputs[base] = {}  # every call done: what waits for the mapped step runs
        if self.stack.orchestrator.in_process:
            for name, obj in outcome.objects.items():
                if self.readers.get((spec.id, name)):
                    self.objects[(spec.id, name)] = obj
            outcome.objects = {}  # held here only, so that the last reader may own them

    def skip(
        self, step_ids: set[str], *, because: str, status: StepStatus = StepStatus.SKIPPED
    ) -> None:
        for spec in self.plan.steps:
            if spec.id not in step_ids or spec.id not in self.pending:
                continue
            del self.pending[spec.id]
            self._release_inputs(spec)
            self.record_not_run(spec, new_id(), status, f"not run: {because}")

    def record_not_run(
        self, spec: StepSpec, step_run_id: str, status: StepStatus, error: str
    ) -> StepRunRecord:
        """Record that a step did not run (or did not finish) under ``step_run_id``.

        A step run the worker already ended under that id keeps its status, and the listener
        hears the stored record. One the worker started after all (its task was cancelled
        too late to stop it: nothing will report its end) is ended now, as not finished:
        ``status``, or failed where ``status`` says it never ran (skipped).
        """
        store = self.stack.metadata_store
        at = _now()
        try:
            current: StepRunRecord | None = store.get_step_run(step_run_id)
        except NotFound:
            current = None
        if current is not None and current.status is not StepStatus.RUNNING:
            self.listener.on_step_end(current)
            return current
        if current is not None:  # it runs (or ran): it did not finish, whatever we thought
            error = _not_finished(error)
            if status not in STEP_TRANSITIONS[StepStatus.RUNNING]:
                status = StepStatus.FAILED
        record = (
            replace(current, status=status, ended=at, error=error)
            if current is not None
            else StepRunRecord(
                id=step_run_id,
                run_id=self.run.id,
                step_id=spec.id,
                step_name=spec.name,
                status=status,
                started=at,
                ended=at,
                params=spec.params,
                code_hash=spec.code_hash,
                error=error,
            )
        )
        try:
            store.finish_step_run(StepCompletion(step_run=record))
        except StatusConflict as conflict:
            if conflict.entity == "run":
                raise
            if current is None and conflict.current == StepStatus.RUNNING:
                # The worker started it between our read and our write: end it as above.
                return self.record_not_run(spec, step_run_id, status, error)
            record = store.get_step_run(step_run_id)  # the worker's own report got there first
        self.listener.on_step_end(record)
        return record


def _not_finished(error: str) -> str:
    """The message of a step about to be recorded "not run" that turned out to have started."""
    prefix = "not run: "
    return f"not finished: {error.removeprefix(prefix)}" if error.startswith(prefix) else error
