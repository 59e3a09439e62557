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
  is recorded before the run's final status (:mod:`bevel.run.ending`); a step still running
  then is recorded as ended with the run, and its late report is refused by the store;
- when another process ended the run (a reaper declared it dead, ``bevel runs cancel``), the
  store refuses this process's heartbeats and writes; the loop stops and says so
  (:attr:`RunResult.lost`) instead of recording anything more.

The run's state (pending, done, failed steps, live objects) is the :class:`Scheduler`'s; the
driver adds what is in flight: the futures running and the tasks submitted.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.dag.compile import Compiled
from bevel.dag.plan import StepSpec
from bevel.errors import MetadataError, NotFound, StatusConflict, StepFailed, StepInterrupted
from bevel.metadata.records import MetadataEntry, RunRecord, RunStatus, StepStatus
from bevel.run import ending
from bevel.run.ending import RunResult
from bevel.run.events import RunListener
from bevel.run.heartbeat import Heartbeat, sigint_as_interrupt, sigterm_as_interrupt
from bevel.run.inprocess import InProcess, called
from bevel.run.interrupts import Terminated, deferred
from bevel.run.interrupts import describe as describe_interrupt
from bevel.run.scheduler import Scheduler
from bevel.run.task import StepInputs, StepOutcome, new_id
from bevel.run.worker import NotStarted, StackRef, StepTask, run_task
from bevel.settings import Settings, load_settings
from bevel.stack.stack import Stack

if TYPE_CHECKING:
    from bevel.run import resume, shipping
else:  # resuming, and shipping code to remote workers: not what most runs do
    resume = lazy_module("bevel.run.resume")
    shipping = lazy_module("bevel.run.shipping")


class Driver:
    """One run through the loop: submit, collect, wind down, finish."""

    def __init__(
        self,
        compiled: Compiled,
        stack: Stack,
        run: RunRecord,
        listener: RunListener,
        settings: Settings | None,
        heartbeat_seconds: float,
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
        self.tried: set[str] = set()  # submitted steps whose future ended without an outcome
        self._interruptions: dict[str, int] = {}  # step id -> times its worker died / timed out
        self._continue = bool(getattr(stack.orchestrator, "continue_on_failure", True))
        self.lost: MetadataError | None = None
        self.beat = Heartbeat(
            stack.metadata_store, run.id, heartbeat_seconds, on_lost=self._interrupt_inline
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
                        at = ending.now()
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
                    ending.wind_down(
                        self, f"the run was {why or 'cancelled'}", StepStatus.CANCELLED
                    )
                    raise
                except BaseException as exc:
                    why = f"the run crashed: {ending.describe(exc)}"
                    ending.wind_down(self, why, StepStatus.FAILED, StepStatus.SKIPPED)
                    raise
                finally:
                    if executor is not None:
                        executor.shutdown(wait=False, cancel_futures=True)
        except KeyboardInterrupt as interrupt:
            result = ending.finish(self, RunStatus.CANCELLED, describe_interrupt(interrupt))
            if self.beat.lost.done() and self._inline_in is not None:
                return result  # our own interrupt: the run was cancelled from elsewhere
            raise
        except BaseException as exc:
            ending.finish(self, RunStatus.FAILED, f"the run crashed: {ending.describe(exc)}")
            raise
        if self.sched.failed:
            error = f"step(s) failed: {', '.join(self.sched.failed)}"
            return ending.finish(self, RunStatus.FAILED, error)
        return ending.finish(self, RunStatus.COMPLETED, None)

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
                    self.collect(future)  # type: ignore[arg-type]

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
        fn: Any = InProcess(sched, spec, inputs.objects) if self._in_process or here else run_task
        future: Future[StepOutcome]
        if here or self._inline:  # the step runs now, in this thread: Ctrl-C must reach it
            future = called(fn, task) if here else executor.submit(fn, task)
            self.running[future] = spec
        else:  # handed over and noted as running together, whenever Ctrl-C comes
            with deferred():
                if upstream:
                    future = executor.submit_after(fn, task, upstream)  # type: ignore[attr-defined]
                else:
                    future = executor.submit(fn, task)
                self.running[future] = spec
        if future.done():  # an inline executor ran it already
            self.collect(future)
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

    def collect(self, future: Future[StepOutcome]) -> None:
        spec = self.running.pop(future)
        if future.exception() is None and isinstance(future.result(), NotStarted):
            self._not_started(spec, future.result().because)  # type: ignore[attr-defined]
            return
        exc = future.exception()
        if exc is not None:
            self.tried.add(spec.id)
        if isinstance(exc, StatusConflict | NotFound):
            self.lost = exc  # the run ended elsewhere: the store refused the step's record
            return
        if isinstance(exc, StepInterrupted | StepFailed):
            self.interrupted(spec, exc, retry=isinstance(exc, StepInterrupted))
            return
        if exc is not None:  # interrupted, or a bug in bevel or the executor, not in the step
            raise exc
        del self.submitted[spec.id]
        outcome = future.result()
        self.sched.collect(spec, outcome)
        if not outcome.ok:
            self._after_failure(spec)

    def interrupted(
        self, spec: StepSpec, exc: StepInterrupted | StepFailed, *, retry: bool = True
    ) -> None:
        """The orchestrator stopped the step (its worker died, a timeout) or the worker could
        not run it (StepFailed: it does not import there): record the attempt failed with the
        reason, and submit the step again while it has retries left."""
        task = self.submitted.pop(spec.id)
        self.tried.discard(spec.id)
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
