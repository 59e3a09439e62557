"""The one scheduling loop: submit ready steps to the orchestrator's executor, collect outcomes.

Whatever the executor (inline, pool, Dask), the loop is the same: a step is submitted when every
step it waits for has succeeded; a failed step skips its downstream steps while independent
branches go on; the run ends completed, failed or cancelled (Ctrl-C), never stuck "running".
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bevel.dag.compile import Compiled
from bevel.dag.graph import downstream_of
from bevel.dag.plan import Plan, StepSpec
from bevel.metadata.records import (
    ArtifactRecord,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.run.events import NullListener, RunListener
from bevel.run.interrupts import Terminated
from bevel.run.interrupts import describe as describe_interrupt
from bevel.run.task import StepInputs, StepOutcome, new_id, run_step
from bevel.stack.stack import Stack

HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class RunResult:
    run: RunRecord
    errors: dict[str, BaseException]  # step id -> what it raised (chained into RunFailed)


def _now() -> datetime:
    return datetime.now(UTC)


def default_run_name(plan: Plan, run_id: str, at: datetime) -> str:
    return f"{plan.pipeline}-{at:%Y%m%d-%H%M%S}-{run_id[:6]}"


def new_run(plan: Plan, stack: Stack, run_name: str | None = None) -> RunRecord:
    run_id = new_id()
    created = _now()
    name = run_name or plan.run_name or default_run_name(plan, run_id, created)
    name = name.replace("{date}", f"{created:%Y%m%d}").replace("{time}", f"{created:%H%M%S}")
    return RunRecord(
        id=run_id,
        pipeline=plan.pipeline,
        name=name,
        status=RunStatus.RUNNING,
        created=created,
        params=plan.params,
        config=plan.config,
        plan=plan.to_dict(),
        code_fingerprint=plan.code_fingerprint,
        stack=stack.name,
        host=f"{socket.gethostname()}:{os.getpid()}",
        heartbeat=created,
    )


class _Heartbeat:
    """Tells the metadata store every 30 s that the process driving the run is alive."""

    def __init__(self, stack: Stack, run_id: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(stack, run_id), name="bevel-heartbeat", daemon=True
        )

    def _beat(self, stack: Stack, run_id: str) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception):  # a missed beat is harmless; the next retries
                stack.metadata_store.heartbeat(run_id, _now())

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler or `kill` stopping the run) unwinds like Ctrl-C: the run is
    recorded as cancelled ("terminated by SIGTERM") instead of being left "running"."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Scheduler:
    """State of one run: which steps are done, failed, skipped, and which objects are live."""

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
        self.cancelled = False

    def ready(self) -> list[StepSpec]:
        done = self.outputs.keys()
        return [s for s in self.pending.values() if all(u in done for u in s.upstream)]

    def inputs_for(self, spec: StepSpec) -> StepInputs:
        artifacts = {n: self.outputs[r.step][r.output] for n, r in spec.inputs.items()}
        objects = {
            n: self.objects[(r.step, r.output)]
            for n, r in spec.inputs.items()
            if (r.step, r.output) in self.objects
        }
        return StepInputs(artifacts, objects)

    def submit(self, executor: Any, spec: StepSpec) -> Future[StepOutcome]:
        del self.pending[spec.id]
        self.listener.on_step_start(spec.id, spec.name)
        return executor.submit(  # type: ignore[no-any-return]
            run_step,
            self.plan,
            spec.id,
            run=self.run,
            stack=self.stack,
            inputs=self.inputs_for(spec),
            definition=self.definitions.get(spec.id),
        )

    def _release_inputs(self, spec: StepSpec) -> None:
        """Free in-memory objects that no step still to run will read."""
        for ref in spec.inputs.values():
            key = (ref.step, ref.output)
            self.readers[key] -= 1
            if self.readers[key] == 0:
                self.objects.pop(key, None)

    def collect(self, spec: StepSpec, outcome: StepOutcome) -> None:
        self._release_inputs(spec)
        self.listener.on_step_end(outcome.step_run)
        if not outcome.ok:
            self.failed.append(spec.id)
            if outcome.error is not None:
                self.errors[spec.id] = outcome.error
            self.skip(
                downstream_of(self.plan, [spec.id]),
                because=f"step '{spec.id}' did not complete",
            )
            return
        self.outputs[spec.id] = outcome.outputs
        if self.stack.orchestrator.in_process:
            for name, obj in outcome.objects.items():
                if self.readers.get((spec.id, name)):
                    self.objects[(spec.id, name)] = obj

    def skip(
        self, step_ids: set[str], *, because: str, status: StepStatus = StepStatus.SKIPPED
    ) -> None:
        for spec in self.plan.steps:
            if spec.id not in step_ids or spec.id not in self.pending:
                continue
            del self.pending[spec.id]
            self._release_inputs(spec)
            at = _now()
            record = StepRunRecord(
                id=new_id(),
                run_id=self.run.id,
                step_id=spec.id,
                step_name=spec.name,
                status=status,
                started=at,
                ended=at,
                params=spec.params,
                code_hash=spec.code_hash,
                error=f"not run: {because}",
            )
            self.stack.metadata_store.finish_step_run(StepCompletion(step_run=record))
            self.listener.on_step_end(record)


def execute(
    compiled: Compiled,
    stack: Stack,
    *,
    run: RunRecord,
    listener: RunListener | None = None,
) -> RunResult:
    """Run ``compiled`` on ``stack`` as ``run`` (already created in the store)."""
    listener = listener or NullListener()
    sched = _Scheduler(compiled, stack, run, listener)
    listener.on_run_start(run, compiled.plan)
    executor = stack.orchestrator.executor()
    running: dict[Future[StepOutcome], StepSpec] = {}
    error: str | None = None
    try:
        with _Heartbeat(stack, run.id), _sigterm_as_interrupt():
            while sched.pending or running:
                for spec in sched.ready():
                    running[sched.submit(executor, spec)] = spec
                if not running:
                    break  # nothing can run: everything left was skipped
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    spec = running.pop(future)
                    exc = future.exception()
                    if isinstance(exc, KeyboardInterrupt):
                        raise exc
                    if exc is not None:  # a bug in bevel or the executor, not in the step
                        raise exc
                    sched.collect(spec, future.result())
    except KeyboardInterrupt as interrupt:
        sched.cancelled = True
        for future in running:
            future.cancel()
        why = describe_interrupt(interrupt) if isinstance(interrupt, Terminated) else "cancelled"
        sched.skip(set(sched.pending), because=f"the run was {why}", status=StepStatus.CANCELLED)
        error = describe_interrupt(interrupt)
        _finish(stack, run, RunStatus.CANCELLED, error, listener)
        raise
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        sched.skip(set(sched.pending), because="the run crashed")
        # a step that was running when bevel itself failed ends failed with the run (the store)
        _finish(stack, run, RunStatus.FAILED, error, listener)
        raise
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    if sched.failed:
        error = f"step(s) failed: {', '.join(sched.failed)}"
        return RunResult(_finish(stack, run, RunStatus.FAILED, error, listener), sched.errors)
    return RunResult(_finish(stack, run, RunStatus.COMPLETED, None, listener), {})


def _finish(
    stack: Stack, run: RunRecord, status: RunStatus, error: str | None, listener: RunListener
) -> RunRecord:
    ended = _now()
    stack.metadata_store.finish_run(run.id, status, ended=ended, error=error)
    final = replace(run, status=status, ended=ended, error=error)
    listener.on_run_end(final)
    return final
