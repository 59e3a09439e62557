"""The one scheduling loop: submit ready steps to the orchestrator's executor, collect outcomes.

Whatever the executor (inline, pool, Dask), the loop is the same: a step is submitted when every
step it waits for has succeeded (or, on an executor that chains, ``submit_after``: Dask, as soon
as they are all running there: the task carries their futures as dependencies, and answers
``NotStarted`` when one of them did not complete, which puts the step back as if it had never
been submitted); a failed step skips its downstream steps while independent branches go on;
the run ends completed, failed or cancelled (Ctrl-C, SIGTERM), never stuck "running":

- everything after the run is recorded is inside the loop's error handling (an executor that
  cannot start or a listener that raises fails the run);
- on Ctrl-C or a crash, nothing more is submitted, steps that have not started are cancelled
  and running ones are waited for (a second Ctrl-C stops waiting), so every step's real outcome
  is recorded before the run's final status; a step still running then is recorded as ended
  with the run, and its late report is refused by the store;
- when another process ended the run (a reaper declared it dead, ``bevel runs cancel``), the
  store refuses this process's heartbeats and writes; the loop stops and says so
  (:attr:`RunResult.lost`) instead of recording anything more.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bevel.dag.compile import Compiled
from bevel.dag.plan import Plan, StepSpec
from bevel.errors import MetadataError, NotFound, StatusConflict, StepFailed, StepInterrupted
from bevel.metadata.base import RunFilter
from bevel.metadata.records import (
    MetadataEntry,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from bevel.redaction import redact
from bevel.run import names, resume, shipping
from bevel.run.events import NullListener, RunListener
from bevel.run.heartbeat import (
    HEARTBEAT_SECONDS,
    Heartbeat,
    sigint_as_interrupt,
    sigterm_as_interrupt,
)
from bevel.run.interrupts import Terminated, deferred
from bevel.run.interrupts import describe as describe_interrupt
from bevel.run.notify import with_components
from bevel.run.scheduler import Scheduler
from bevel.run.task import StepInputs, StepOutcome, new_id, run_step
from bevel.run.worker import NotStarted, StackRef, StepTask, run_task
from bevel.settings import Settings, load_settings
from bevel.stack.stack import Stack

__all__ = ["HEARTBEAT_SECONDS", "RunResult", "default_run_name", "execute", "new_run"]


@dataclass(frozen=True)
class RunResult:
    run: RunRecord  # as recorded (when ``lost``: as the other process left it)
    errors: dict[str, BaseException]  # step id -> what it raised (chained into RunFailed)
    #: Set when another process ended (or deleted) the run while this one drove it: what the
    #: store answered. Nothing this process did after that is recorded.
    lost: MetadataError | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def default_run_name(plan: Plan, run_id: str, at: datetime) -> str:
    return names.default_run_name(plan.pipeline, run_id, at.astimezone())


def new_run(plan: Plan, stack: Stack, run_name: str | None = None) -> RunRecord:
    """The record of a new run; its name from ``run_name`` or the plan's template (made unique
    against the store, see :mod:`bevel.run.names`), else generated."""
    run_id = new_id()
    created = _now()
    template = run_name or plan.run_name
    name = (
        names.render(
            template,
            pipeline=plan.pipeline,
            run_id=run_id,
            at=created.astimezone(),
            existing=lambda prefix: [
                r.name for r in stack.metadata_store.list_runs(RunFilter(name=prefix, limit=0))
            ],
        )
        if template
        else default_run_name(plan, run_id, created)
    )
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


class _GuardedListener:
    """Passes events on; once the listener has raised (which fails the run), it hears nothing
    more, so that a broken progress display cannot stop the run's outcome being recorded."""

    def __init__(self, listener: RunListener) -> None:
        self._listener = listener
        self._broken = False

    def _call(self, event: str, *args: Any) -> None:
        if self._broken:
            return
        try:
            getattr(self._listener, event)(*args)
        except BaseException:
            self._broken = True
            raise

    def on_run_start(self, run: RunRecord, plan: Plan) -> None:
        self._call("on_run_start", run, plan)

    def on_step_start(self, step_id: str, step_name: str) -> None:
        self._call("on_step_start", step_id, step_name)

    def on_step_end(self, step_run: StepRunRecord) -> None:
        self._call("on_step_end", step_run)

    def on_run_end(self, run: RunRecord) -> None:
        self._call("on_run_end", run)


def _called(fn: Any, task: StepTask) -> Future[StepOutcome]:
    """``fn(task)`` run now, as a finished future (what an inline executor gives)."""
    future: Future[StepOutcome] = Future()
    try:
        future.set_result(fn(task))
    except Exception as exc:  # collected like an executor's failure; Ctrl-C propagates
        future.set_exception(exc)
    return future


class _InProcess:
    """What an in-process executor calls: ``run_step`` with the live stack, the step's
    definition and its inputs' objects (the in-memory hand-off)."""

    def __init__(self, sched: Scheduler, spec: StepSpec, objects: dict[str, Any]) -> None:
        self.sched = sched
        self.definition = sched.definition(spec.id)
        self.objects = objects

    def __call__(self, task: StepTask) -> StepOutcome:
        return run_step(
            self.sched.plan,
            task.step_id,
            run=self.sched.run,
            stack=self.sched.stack,
            inputs=StepInputs(dict(task.inputs), self.objects),
            definition=self.definition,
            step_run_id=task.step_run_id,
        )


class _Driver:
    """One run through the loop: submit, collect, wind down, finish."""

    def __init__(
        self,
        compiled: Compiled,
        stack: Stack,
        run: RunRecord,
        listener: RunListener,
        settings: Settings | None,
    ) -> None:
        self.sched = Scheduler(compiled, stack, run, listener)
        self.stack = stack
        self.run = run
        self.listener = listener
        self.settings = settings
        self._stack_ref: StackRef | None = None
        self.code: shipping.CodeRef | None = None  # the shipped source, when workers import it
        self.reuse: dict[str, resume.Completed] = {}  # resuming: steps the old run completed
        self.notes: dict[str, str] = {}  # run metadata recorded when the run starts
        self.running: dict[Future[StepOutcome], StepSpec] = {}
        self.submitted: dict[str, StepTask] = {}  # step id -> task, until its outcome is in
        self._tried: set[str] = set()  # submitted steps whose future ended without an outcome
        self._interruptions: dict[str, int] = {}  # step id -> times its worker died / timed out
        self._continue = bool(getattr(stack.orchestrator, "continue_on_failure", True))
        self.lost: MetadataError | None = None
        self.beat = Heartbeat(
            stack.metadata_store, run.id, HEARTBEAT_SECONDS, on_lost=self._interrupt_inline
        )
        self._inline_in: int | None = None  # the thread running inline steps, while it does
        self._inline = False  # the executor runs each step inside submit, in this thread

    # --- the loop -------------------------------------------------------------------------

    def execute(self) -> RunResult:
        executor: Executor | None = None
        try:
            with self.beat, sigterm_as_interrupt():
                try:
                    self.listener.on_run_start(self.run, self.sched.plan)
                    if self.notes:  # inside the loop's error handling, like everything else
                        at = _now()
                        notes = [
                            MetadataEntry("run", self.run.id, k, v, at)
                            for k, v in self.notes.items()
                        ]
                        self.stack.metadata_store.log_metadata(notes)
                    executor = self.stack.orchestrator.executor()
                    self._inline = bool(getattr(executor, "inline", False))
                    inline = self._inline and _in_main_thread()
                    if inline:  # a cancel from elsewhere interrupts it with SIGINT
                        self._inline_in = threading.main_thread().ident
                    with sigint_as_interrupt() if inline else contextlib.nullcontext():
                        self._loop(executor)
                except KeyboardInterrupt as interrupt:
                    why = describe_interrupt(interrupt) if isinstance(interrupt, Terminated) else ""
                    self._wind_down(f"the run was {why or 'cancelled'}", StepStatus.CANCELLED)
                    raise
                except BaseException as exc:
                    why = f"the run crashed: {_describe(exc)}"
                    self._wind_down(why, StepStatus.FAILED, StepStatus.SKIPPED)
                    raise
                finally:
                    if executor is not None:
                        executor.shutdown(wait=False, cancel_futures=True)
        except KeyboardInterrupt as interrupt:
            result = self._finish(RunStatus.CANCELLED, describe_interrupt(interrupt))
            if self.beat.lost.done() and self._inline_in is not None:
                return result  # our own interrupt: the run was cancelled from elsewhere
            raise
        except BaseException as exc:
            self._finish(RunStatus.FAILED, f"the run crashed: {_describe(exc)}")
            raise
        if self.sched.failed:
            error = f"step(s) failed: {', '.join(self.sched.failed)}"
            return self._finish(RunStatus.FAILED, error)
        return self._finish(RunStatus.COMPLETED, None)

    def _loop(self, executor: Executor) -> None:
        sched = self.sched
        chains = callable(getattr(executor, "submit_after", None)) and not self._in_process
        while self.lost is None and (sched.pending or self.running):
            ready = sched.ready()
            for spec in ready:
                self._submit(executor, spec)
                if self.lost is not None:
                    return
            if chains:
                self._chain(executor)
            if not self.running:
                if ready:
                    continue  # an inline executor ran them: look for the next ready steps
                return  # nothing can run: everything left was skipped
            watched: list[Future[Any]] = [*self.running, self.beat.lost]
            finished, _ = wait(watched, return_when=FIRST_COMPLETED)
            if self.beat.lost.done():
                self.lost = self.beat.lost.result()
            for future in finished:
                if future in self.running:
                    self._collect(future)  # type: ignore[arg-type]

    def _chain(self, executor: Executor) -> None:
        """Submit every step that waits only for steps running on an executor that chains
        (``submit_after``: Dask), chained on their futures, in plan order (so a whole chain
        is handed over at once). Not mapped steps, fan-ins of mapped steps, sweeps or steps
        a resume may reuse: those need their upstream's outcome here first."""
        sched = self.sched
        futures = {spec.id: f for f, spec in self.running.items() if not f.done()}
        for spec in list(sched.pending.values()):
            if spec.map_over or spec.gather or spec.options.sweep or spec.id in self.reuse:
                continue
            if not all(u in sched.outputs or u in futures for u in spec.upstream):
                continue
            waits = {u: futures[u] for u in spec.upstream if u not in sched.outputs}
            if waits:
                future = self._submit(executor, spec, waits)
                if self.lost is not None:
                    return
                if future is not None and not future.done():
                    futures[spec.id] = future

    def _submit(
        self,
        executor: Executor,
        spec: StepSpec,
        upstream: dict[str, Future[StepOutcome]] | None = None,
    ) -> Future[StepOutcome] | None:
        """Submit ``spec``, chained on the steps ``upstream`` when they still run; its future
        (None: it was reused from the run resumed)."""
        sched = self.sched
        sched.listener.on_step_start(spec.id, spec.name)
        if upstream:
            done = {n: r for n, r in spec.inputs.items() if r.step not in upstream}
            artifacts = {n: sched.outputs[r.step][r.output] for n, r in done.items()}
            inputs = StepInputs(artifacts)
        else:
            inputs = sched.inputs_for(spec)
        done_before = self.reuse.get(spec.id)
        if done_before is not None:  # resuming: what completed in the old run is reused as it is
            reused = resume.reuse(
                self.stack, self.run, spec, new_id(), done_before, inputs.artifacts
            )
            if reused is not None:
                del sched.pending[spec.id]
                sched.collect(spec, reused)
                return None
        task = StepTask(
            run_id=self.run.id,
            step_id=spec.id,
            step_run_id=new_id(),
            stack=self._ref(),
            inputs=inputs.artifacts,
            resources=dict(spec.options.resources),
            timeout=spec.options.timeout,
            code=self.code,
            awaits={
                n: (r.step, r.output) for n, r in spec.inputs.items() if r.step in (upstream or {})
            },
        )
        del sched.pending[spec.id]
        self.submitted[spec.id] = task
        # A sweep's driver stays in this process whatever the orchestrator: it submits its
        # trials to the orchestrator itself (bevel.integrations.optuna), so it runs inline here.
        here = spec.options.sweep is not None and not self._in_process
        fn: Any = _InProcess(sched, spec, inputs.objects) if self._in_process or here else run_task
        future: Future[StepOutcome]
        if here or self._inline:  # the step runs now, in this thread: Ctrl-C must reach it
            future = _called(fn, task) if here else executor.submit(fn, task)
            self.running[future] = spec
        else:  # handed over and noted as running together, whenever Ctrl-C comes
            with deferred():
                if upstream:
                    future = executor.submit_after(fn, task, upstream)  # type: ignore[attr-defined]
                else:
                    future = executor.submit(fn, task)
                self.running[future] = spec
        if future.done():  # an inline executor ran it already
            self._collect(future)
        return future

    def _not_started(self, spec: StepSpec, because: str) -> None:
        """A chained step did not start, since step ``because`` did not complete: it is pending
        again (the loop submits it when that step is run again), or skipped when that step
        is failed or skipped for good."""
        sched = self.sched
        del self.submitted[spec.id]
        sched.pending[spec.id] = spec
        running = {other.id for other in self.running.values()}
        if because not in sched.pending and because not in running | sched.outputs.keys():
            sched.skip({spec.id}, because=f"step '{because}' did not complete")

    def _collect(self, future: Future[StepOutcome]) -> None:
        spec = self.running.pop(future)
        if future.exception() is None and isinstance(future.result(), NotStarted):
            self._not_started(spec, future.result().because)  # type: ignore[attr-defined]
            return
        exc = future.exception()
        if exc is not None:
            self._tried.add(spec.id)
        if isinstance(exc, StatusConflict | NotFound):
            self.lost = exc  # the run ended elsewhere: the store refused the step's record
            return
        if isinstance(exc, StepInterrupted | StepFailed):
            self._interrupted(spec, exc, retry=isinstance(exc, StepInterrupted))
            return
        if exc is not None:  # interrupted, or a bug in bevel or the executor, not in the step
            raise exc
        del self.submitted[spec.id]
        outcome = future.result()
        self.sched.collect(spec, outcome)
        if not outcome.ok:
            self._after_failure(spec)

    def _interrupted(
        self, spec: StepSpec, exc: StepInterrupted | StepFailed, *, retry: bool = True
    ) -> None:
        """The orchestrator stopped the step (its worker died, a timeout) or the worker could
        not run it (StepFailed: it does not import there): record the attempt failed with the
        reason, and submit the step again while it has retries left."""
        task = self.submitted.pop(spec.id)
        self._tried.discard(spec.id)
        times = self._interruptions[spec.id] = self._interruptions.get(spec.id, 0) + 1
        again = retry and times <= spec.options.retries
        what = (exc.message if isinstance(exc, StepInterrupted) else str(exc)) + (
            f"; running it again (retry {times} of {spec.options.retries})" if again else ""
        )
        record = self.sched.record_not_run(spec, task.step_run_id, StepStatus.FAILED, what)
        if again:
            self.sched.pending[spec.id] = spec  # submitted again by the loop's next turn
            return
        self.sched.collect(spec, StepOutcome(record, {}, error=exc), notify=False)
        self._after_failure(spec)

    def _after_failure(self, spec: StepSpec) -> None:
        """Fail fast (``continue_on_failure=False`` on the orchestrator): start nothing more;
        steps already running finish and are recorded as they end."""
        if self._continue:
            return
        because = f"fail fast: step '{spec.id}' failed"
        for future, other in list(self.running.items()):
            if future.cancel():
                self.running.pop(future)
                task = self.submitted.pop(other.id)
                self.sched.record_not_run(
                    other, task.step_run_id, StepStatus.CANCELLED, f"not run: {because}"
                )
        self.sched.skip(set(self.sched.pending), because=because, status=StepStatus.CANCELLED)

    # --- ending ---------------------------------------------------------------------------

    def _wind_down(
        self, because: str, not_finished: StepStatus, not_run: StepStatus | None = None
    ) -> None:
        """Stop submitting; cancel what has not started; wait for what runs (a second Ctrl-C
        stops waiting); then record every step that did not finish (``not_finished``) or did
        not start (``not_run``, default the same), unless the run ended elsewhere: then nothing
        more may be recorded."""
        not_run = not_run or not_finished
        for future in list(self.running):
            if future.cancel():
                self.running.pop(future)
        try:
            while self.running and self.lost is None:
                finished, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
                for future in finished:
                    self._settle(future)
        except KeyboardInterrupt:
            pass  # stop waiting: what still runs is recorded as not finished, below
        if self.lost is None and self.beat.lost.done():
            self.lost = self.beat.lost.result()
        if self.lost is not None:
            return
        still_running = {spec.id for spec in self.running.values()}
        try:
            for spec_id, task in list(self.submitted.items()):
                spec = self.sched.specs[spec_id]
                if spec_id in still_running:
                    status, what = not_finished, "not finished"
                else:  # cancelled before it started, or its worker failed to report
                    status, what = (
                        (not_finished, "not finished")
                        if spec_id in self._tried
                        else (
                            not_run,
                            "not run",
                        )
                    )
                self.sched.record_not_run(spec, task.step_run_id, status, f"{what}: {because}")
            self.sched.skip(set(self.sched.pending), because=because, status=not_run)
        except (StatusConflict, NotFound) as exc:
            self.lost = exc

    def _settle(self, future: Future[StepOutcome]) -> None:
        """Collect a step that ended while the run winds down; what it raised is not raised
        again (the step is recorded as not finished by _wind_down)."""
        if future.exception() is None:
            self._collect(future)
            return
        spec = self.running.pop(future)
        exc = future.exception()
        if isinstance(exc, StepInterrupted | StepFailed) and self.lost is None:
            self._interrupted(spec, exc, retry=False)  # its worker died: say so, not "not finished"
            return
        self._tried.add(spec.id)
        if isinstance(exc, StatusConflict | NotFound):
            self.lost = exc

    def _finish(self, status: RunStatus, error: str | None) -> RunResult:
        store = self.stack.metadata_store
        final = replace(self.run, status=status, ended=_now(), error=error)
        if self.lost is None:
            try:
                with deferred():  # one more Ctrl-C must not leave the run "running"
                    store.finish_run(self.run.id, status, ended=final.ended or _now(), error=error)
            except (StatusConflict, NotFound) as exc:
                self.lost = exc
        if self.lost is not None:
            try:
                final = store.get_run(self.run.id)
            except NotFound:
                final = replace(final, status=RunStatus.FAILED, error=str(self.lost.message))
        self.listener.on_run_end(final)
        return RunResult(final, self.sched.errors, self.lost)

    def _interrupt_inline(self) -> None:
        """The run was ended elsewhere (``bevel runs cancel``) while a step may be running
        inline, in the main thread: interrupt it there (as Ctrl-C would) so that it stops now;
        nothing more is recorded (the store refuses it)."""
        if self._inline_in is not None:
            signal.pthread_kill(self._inline_in, signal.SIGINT)

    # --- helpers --------------------------------------------------------------------------

    @property
    def _in_process(self) -> bool:
        return bool(self.stack.orchestrator.in_process)

    def _ref(self) -> StackRef:
        if self._stack_ref is None:
            self._stack_ref = StackRef.of(self.stack, self.settings or load_settings(create=False))
        return self._stack_ref


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _describe(exc: BaseException) -> str:

    return redact(f"{type(exc).__name__}: {exc}")  # recorded: never with a secret in it


def execute(
    compiled: Compiled,
    stack: Stack,
    *,
    run: RunRecord,
    listener: RunListener | None = None,
    settings: Settings | None = None,
    resumes: RunRecord | None = None,
) -> RunResult:
    """Record ``run`` and run ``compiled`` on ``stack``; return how it ended.

    ``resumes`` is a failed or cancelled run that this one continues: its completed steps
    are reused (:mod:`bevel.run.resume`) and the link is recorded (run metadata
    ``resumed_from``).

    ``settings`` are those the stack was built with: an out-of-process orchestrator's workers
    rebuild the stack from its name and them (default: this process's settings). Ctrl-C and
    SIGTERM record the run as cancelled and re-raise ``KeyboardInterrupt``; any other error
    records it as failed and is re-raised.
    """
    code = _ship_code(stack, settings, compiled.plan)  # before recording: too big is refused
    stack.metadata_store.create_run(run)
    # The stack's alerter and experiment tracker hear the run's end (bevel.run.notify), even
    # after the caller's listener broke.
    guarded = with_components(stack, _GuardedListener(listener or NullListener()))
    driver = _Driver(compiled, stack, run, guarded, settings)
    notes: dict[str, str] = {}
    if code is not None:
        driver.code = code
        notes["code.archive"] = code.digest
    if resumes is not None:
        driver.reuse = resume.completed_steps(stack.metadata_store, resumes.id)
        notes["resumed_from"] = resumes.id
    driver.notes = notes
    return driver.execute()


def _ship_code(stack: Stack, settings: Settings | None, plan: Plan) -> shipping.CodeRef | None:
    """Upload the project's source for an orchestrator whose workers import it from there."""
    orchestrator = stack.orchestrator
    if not getattr(orchestrator, "ships_code", False):
        return None
    project = (settings or load_settings(create=False)).project_root
    root = shipping.code_root(project, plan.file)
    limit = int(getattr(orchestrator, "code_size_limit", shipping.DEFAULT_LIMIT))
    return shipping.ship(stack.artifact_store, root, limit)
