"""What crosses to a worker, and what the worker rebuilds: the step task.

An orchestrator whose steps run in other processes (a process pool, Dask workers, a Kubernetes
Job) receives a :class:`StepTask` per step: ids, artifact records and a reference to the stack,
plain picklable data (about 0.5 KB, plus 0.8 KB per input record), never the live
:class:`~bevel.stack.stack.Stack` or a user function. The worker calls :func:`run_task`, which rebuilds the stack from its
reference and reads the run's plan from the metadata store (both once per process), imports the
step function by its ``"module:qualname"`` and calls the same
:func:`~bevel.run.task.run_step` that in-process orchestrators call::

    future = executor.submit(run_task, task)   # task.resources tells the executor what it needs
    outcome = future.result()                  # a StepOutcome: records only, picklable

In-process orchestrators (``Orchestrator.in_process``) get the same task but call ``run_step``
with the live stack and hand objects over in memory (see :mod:`bevel.run.engine`).
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel.artifacts.materializers.refs import import_ref, unimportable_hint
from bevel.dag.plan import Plan, StepSpec
from bevel.errors import BevelError, StackError, StepFailed
from bevel.metadata.records import ArtifactRecord, MetadataEntry, RunRecord
from bevel.run.task import StepInputs, StepOutcome, run_step
from bevel.settings import Settings
from bevel.stack.build import build_stack
from bevel.stack.stack import Stack

if TYPE_CHECKING:
    import pickle
    from pathlib import Path

    from bevel.run import redelivery, shipping
else:  # a failed step's error is checked for crossing processes: not what most steps need
    pickle = lazy_module("pickle")
    # a worker that claims its task, and shipped code: an in-process run uses neither
    redelivery = lazy_module("bevel.run.redelivery")
    shipping = lazy_module("bevel.run.shipping")


@dataclass(frozen=True)
class StackRef:
    """How a worker rebuilds the driver's stack: its name and the settings it was built with
    (where the home store and the stack definitions are). ``metadata_store`` and
    ``artifact_store`` are the addresses the driver records into, checked after rebuilding so
    a worker never writes anywhere else. Secrets stay in the definitions: a worker resolves
    them itself."""

    name: str
    settings: Settings
    metadata_store: str  # the store's url (credentials masked)
    artifact_store: str  # the store's root

    @classmethod
    def of(cls, stack: Stack, settings: Settings) -> StackRef:
        return cls(stack.name, settings, stack.metadata_store.url, stack.artifact_store.root)

    def check(self, stack: Stack) -> None:
        """Raise StackError unless ``stack`` records where the driver's stack does."""
        got = (stack.metadata_store.url, stack.artifact_store.root)
        if got != (self.metadata_store, self.artifact_store):
            raise StackError(
                f"the worker's stack {self.name!r} is not the stack the run was started with:"
                f" it records into {got[0]} and {got[1]}, the run into {self.metadata_store}"
                f" and {self.artifact_store}",
                hint="an orchestrator that runs steps in other processes rebuilds the stack by"
                " its name: run on a registered stack (bevel stack register ...), not one put"
                " together in Python, and give workers the same BEVEL_HOME / BEVEL_STORE_URL",
            )


@dataclass(frozen=True)
class StepTask:
    """One step of one run, as submitted to an orchestrator's executor.

    ``step_run_id`` is chosen by the engine, so that it can record the step's end itself when
    the worker never reports (cancelled, abandoned, crashed) without a duplicate.
    ``resources`` is the step's ``@step(resources=...)``, for executors that place work by it;
    ``timeout`` its ``@step(timeout=...)`` in seconds, for executors that stop steps.
    """

    run_id: str
    step_id: str
    step_run_id: str
    stack: StackRef
    inputs: dict[str, ArtifactRecord] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    code: shipping.CodeRef | None = None  # the shipped project source, for remote workers
    #: Chained on steps still running (an executor that starts it when they end, without a
    #: round trip to the driver): input name -> (upstream step id, its output name).
    awaits: dict[str, tuple[str, str]] = field(default_factory=dict)

    def after(self, upstream: dict[str, StepOutcome]) -> StepTask | NotStarted:
        """This task with the inputs it awaited taken from its upstream steps' outcomes
        (step id -> outcome), or :class:`NotStarted` when one of them did not complete."""
        for step_id, outcome in upstream.items():
            if not isinstance(outcome, StepOutcome) or not outcome.ok:
                return NotStarted(self.step_id, step_id)
        inputs = dict(self.inputs)
        for name, (step_id, output) in self.awaits.items():
            found = upstream[step_id].outputs.get(output) if step_id in upstream else None
            if found is None:
                return NotStarted(self.step_id, step_id)
            inputs[name] = found
        return replace(self, inputs=inputs, awaits={})


@dataclass(frozen=True)
class NotStarted:
    """What a chained task gives back, recording nothing, when a step it waited for did not
    complete: the engine then handles the step as if it had never been submitted."""

    step_id: str
    because: str  # the upstream step that did not complete


# --- the worker side ----------------------------------------------------------------------------

_lock = threading.Lock()
_stacks: dict[StackRef, Stack] = {}
_runs: dict[tuple[StackRef, str], tuple[Plan, RunRecord]] = {}
_MAX_RUNS = 16  # plans kept per process (a worker serves few runs at a time)


def run_task(task: StepTask, *, worker: str | None = None) -> StepOutcome:
    """Run one step on a worker: the function out-of-process orchestrators submit.

    ``worker`` names the worker (a Dask worker's address) for executors that may deliver the
    same task again after a worker died (see :mod:`bevel.run.redelivery`). Returns a
    :class:`~bevel.run.task.StepOutcome` that pickles: records only, no objects, and the step's
    exception as is when it pickles, else as a StepFailed carrying its text.
    """
    stack = worker_stack(task.stack)
    plan, run = _recorded_run(task.stack, stack, task.run_id)
    return run_recorded(stack, plan, run, task, worker=worker)


def prepare(task: StepTask) -> None:
    """Get a worker ready for the steps of ``task``'s run, recording nothing: the stack built,
    the run and its plan read, the step's module imported (all cached for :func:`run_task`).

    What an idle worker does while another runs the run's first step, so that it starts its own
    first step at once. Failing here changes nothing: the step's own run reports the error.
    """
    stack = worker_stack(task.stack)
    plan, _ = _recorded_run(task.stack, stack, task.run_id)
    if task.code is None:  # shipped code is fetched by the step that needs it
        import_step(plan.step(task.step_id))


def run_recorded(
    stack: Stack, plan: Plan, run: RunRecord, task: StepTask, *, worker: str | None = None
) -> StepOutcome:
    """:func:`run_task` on a stack already built here (``python -m bevel.entrypoint``)."""
    spec = plan.step(task.step_id)
    step_run_id = task.step_run_id
    notes: tuple[MetadataEntry, ...] = ()
    if worker is not None:
        claimed = redelivery.claim(stack, run, spec, task.step_run_id, worker)
        if isinstance(claimed, StepOutcome):
            return portable(claimed)
        step_run_id = claimed
        notes = (redelivery.note(step_run_id, worker),)
    folder = None
    if task.code is not None:
        folder = shipping.fetch(stack.artifact_store, task.code)
        shipping.activate(folder)
    outcome = run_step(
        plan,
        task.step_id,
        run=run,
        stack=stack,
        inputs=StepInputs(dict(task.inputs)),
        definition=import_step(spec, task.code, folder),
        step_run_id=step_run_id,
        notes=notes,
    )
    return portable(outcome)


def import_step(
    spec: StepSpec, code: shipping.CodeRef | None = None, folder: Path | None = None
) -> Any:
    """The step's definition, imported on a worker by its ``"module:qualname"``.

    A step defined in the script the driver ran (``python pipe.py``: module ``__main__``) is
    imported from that script's file instead, as a module of its own: its ``if __name__ ==
    "__main__":`` block does not run, and a pipeline it calls at top level is refused. Raises
    StepFailed, saying how to make it importable, when it does not import. With shipped code
    (``code`` extracted in ``folder``), the script is the archive's copy.
    """
    module, _, qualname = spec.source.rpartition(":")
    ref = spec.source
    if module == "__main__" and spec.file.endswith(".py"):
        file = spec.file
        if code is not None and folder is not None:
            file = shipping.localize(spec.file, code, folder) or spec.file
        ref = f"{file}:{qualname}"
    try:
        return import_ref(ref)
    except BevelError as exc:  # e.g. the script runs a pipeline when imported
        raise StepFailed(
            f"step '{spec.id}' cannot be imported on the worker ({ref}): {exc.message}",
            step=spec.id,
            where=exc.where,
            hint=exc.hint,
        ) from exc
    except Exception as exc:
        raise StepFailed(
            f"step '{spec.id}' cannot be imported on the worker ({ref}):"
            f" {type(exc).__name__}: {exc}",
            step=spec.id,
            where=spec.where,
            hint=unimportable_hint(ref),
        ) from exc


def worker_stack(ref: StackRef) -> Stack:
    """The stack ``ref`` names, built once per process and reused by every task."""
    with _lock:
        stack = _stacks.get(ref)
        if stack is None:
            stack = build_stack(ref.name, ref.settings)
            try:
                ref.check(stack)
            except BaseException:
                stack.close()
                raise
            _stacks[ref] = stack
        return stack


def _recorded_run(ref: StackRef, stack: Stack, run_id: str) -> tuple[Plan, RunRecord]:
    """The run and its plan as recorded by the driver (one read per run and process)."""
    key = (ref, run_id)
    with _lock:
        found = _runs.get(key)
    if found is not None:
        return found
    run = stack.metadata_store.get_run(run_id)
    found = (Plan.from_dict(run.plan), run)
    with _lock:
        while len(_runs) >= _MAX_RUNS:
            _runs.pop(next(iter(_runs)))
        _runs[key] = found
    return found


def portable(outcome: StepOutcome) -> StepOutcome:
    """``outcome`` as it can cross a process boundary."""
    error = outcome.error
    if error is not None:
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:
            step = outcome.step_run.step_id
            error = StepFailed(
                outcome.step_run.error or f"{type(error).__name__}: {error}",
                step=step,
                traceback=outcome.step_run.traceback,
            )
    return replace(outcome, objects={}, error=error)


def _close_stacks() -> None:
    with _lock:
        for stack in _stacks.values():
            stack.close()
        _stacks.clear()
        _runs.clear()


atexit.register(_close_stacks)
