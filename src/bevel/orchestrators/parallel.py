"""A ``concurrent.futures`` executor that places steps by their resources, on worker processes
(or threads), and can stop one of them: the engine of the ``local_parallel`` orchestrator.

Why not ``ProcessPoolExecutor``: it cannot stop one task (a step past its timeout, a cancelled
run) and it breaks for good when one worker dies. Here each worker is a process of its own,
forked from a warm template with bevel imported (:mod:`bevel.orchestrators.workers`), one job
at a time, killed and replaced when needed:

- **placement**: a step starts when a worker is free and its claim fits what is left
  (:class:`Capacity`: CPUs, GPU devices, memory, custom resources), in submission order
  (first fit); a step that asks for more than the whole capacity fails at submit;
- **GPUs**: a step gets the ids of the devices it holds as ``CUDA_VISIBLE_DEVICES`` (a step
  that asks for none gets an empty one, so it cannot grab a GPU another step holds);
- **timeouts**: the worker's own alarm stops the step cleanly at its timeout (see
  :mod:`bevel.run.timeouts`); a step that does not return :data:`TIMEOUT_GRACE_SECONDS`
  later (code that blocks signals) has its worker killed (:class:`~bevel.errors.StepTimedOut`);
- **warm-up**: when a job goes to a worker, every idle worker that has not served yet is
  sent the same task as a warm-up (build the stack, read the run, import the step's module;
  it records nothing and is not answered), so a run's second worker starts its first step at
  once instead of after that setup;
- **a dead worker** fails its step with :class:`~bevel.errors.WorkerLost` naming the process
  and how it ended, and is replaced;
- ``shutdown(cancel_futures=True)`` kills the workers still running steps (the run was
  cancelled or ended elsewhere).

Thread mode runs each step in a thread of this process instead (for steps that release the
GIL; objects are handed between steps in memory). A thread cannot be stopped: past its timeout
the step is failed and its late report refused, and its claim is held until it returns.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import field
from multiprocessing.connection import wait
from typing import Any

from bevel._dataclass import dataclass
from bevel.errors import StackError, StepInterrupted, StepTimedOut, WorkerLost
from bevel.orchestrators.resources import Capacity, Claim, Free
from bevel.orchestrators.workers import WORKER_MODULE, Worker, worker_env

TIMEOUT_GRACE_SECONDS = 5.0
_MAX_START_FAILURES = 3  # workers dying before their first job: the environment is broken


@dataclass(eq=False)
class _Job:
    future: Future[Any]
    fn: Callable[[Any], Any]
    task: Any
    claim: Claim
    step: str
    timeout: float | None
    devices: list[str] = field(default_factory=list)
    deadline: float | None = None
    worker: Worker | None = None
    timed_out: bool = False


class ParallelExecutor(Executor):
    """See the module docstring. ``processes`` False runs steps in threads."""

    def __init__(
        self,
        capacity: Capacity,
        *,
        processes: bool = True,
        grace: float = TIMEOUT_GRACE_SECONDS,
    ) -> None:
        self.capacity = capacity
        self.processes = processes
        self.grace = grace
        self._free = Free(capacity)
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._running: list[_Job] = []
        self._finished: list[tuple[_Job, bool, Any]] = []  # thread mode: reported by threads
        self._closed = False
        self._cancel = False
        self._start_failures = 0
        self._wake_r, self._wake_w = os.pipe()
        fcntl.fcntl(self._wake_w, fcntl.F_SETFL, os.O_NONBLOCK)
        self._env = worker_env() if processes else {}
        self._workers: list[Worker] = (
            [Worker(self._env) for _ in range(capacity.slots)] if processes else []
        )
        self._thread = threading.Thread(target=self._dispatch, name="bevel-dispatch", daemon=True)
        self._thread.start()

    # --- the Executor interface -------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs or len(args) != 1:
            raise TypeError("the parallel executor runs fn(task): one argument, the task")
        task = args[0]
        future: Future[Any] = Future()
        claim = Claim.of(getattr(task, "resources", None) or {})
        step = str(getattr(task, "step_id", "?"))
        problem = self.capacity.refuse(claim)
        if problem:
            future.set_exception(StackError(f"step '{step}' asks for {problem}", hint=_MORE_HINT))
            return future
        timeout = getattr(task, "timeout", None)
        job = _Job(future, fn, task, claim, step, float(timeout) if timeout else None)
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to an executor that was shut down")
            self._queue.append(job)
        self._wake()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            self._cancel = cancel_futures
            if cancel_futures:
                for job in self._queue:
                    job.future.cancel()
                self._queue.clear()
        self._wake()
        if wait:
            self._thread.join()

    # --- the dispatcher thread --------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"x")

    def _dispatch(self) -> None:
        try:
            while self._turn():
                pass
        finally:
            self._stop_workers()

    def _turn(self) -> bool:
        """One round: place, wait, handle what happened. False when the executor is done."""
        with self._lock:
            if self._closed and self._cancel:
                self._abandon_running()
            if self._closed and not self._queue and not self._running:
                return False
            self._place()
            waiting: list[Any] = [self._wake_r, *(w.results for w in self._workers)]
            deadlines = [j.deadline for j in self._running if j.deadline and not j.timed_out]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        ready = wait(waiting, timeout)
        with self._lock:
            if self._wake_r in ready:
                with contextlib.suppress(BlockingIOError, OSError):
                    os.read(self._wake_r, 4096)
            for worker in list(self._workers):
                if worker.results in ready:
                    self._read(worker)
            for job, ok, value in self._finished:
                self._end(job, ok, value)
            self._finished.clear()
            self._check_deadlines()
        return True

    def _place(self) -> None:
        """Start every queued job that fits now, in submission order."""
        for job in list(self._queue):
            if not self._free.fits(job.claim):
                continue
            worker = self._idle_worker() if self.processes else None
            if self.processes and worker is None:
                break
            self._queue.remove(job)
            if not job.future.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            job.devices = self._free.take(job.claim)
            if job.timeout:
                job.deadline = time.monotonic() + job.timeout + (self.grace if worker else 0.0)
            self._running.append(job)
            if worker is not None:
                self._send(worker, job)
                self._warm_up(job)
            else:
                threading.Thread(
                    target=self._run_thread, args=(job,), name=f"bevel-step-{job.step}",
                    daemon=True,
                ).start()  # fmt: skip

    def _idle_worker(self) -> Worker | None:
        return next((w for w in self._workers if w.job is None), None)

    def _send(self, worker: Worker, job: _Job) -> None:
        env = {"CUDA_VISIBLE_DEVICES": ",".join(job.devices)} if self.capacity.gpus else {}
        worker.job, job.worker = job, worker
        try:
            worker.jobs.send((id(job), job.fn, job.task, env))
        except Exception as exc:  # the task does not pickle, or the worker is gone
            worker.job = job.worker = None
            self._end(job, False, exc)

    def _warm_up(self, job: _Job) -> None:
        """Send ``job``'s task as a warm-up to the idle workers that have not served yet."""
        for worker in self._workers:
            if worker.job is None and not worker.served and not worker.warmed:
                worker.warmed = True
                with contextlib.suppress(Exception):  # a warm-up only: the job reports problems
                    worker.jobs.send((None, None, job.task, {}))

    def _run_thread(self, job: _Job) -> None:
        try:
            outcome: tuple[_Job, bool, Any] = (job, True, job.fn(job.task))
        except BaseException as exc:
            outcome = (job, False, exc)
        with self._lock:
            self._finished.append(outcome)
        self._wake()

    def _read(self, worker: Worker) -> None:
        try:
            _, ok, value = worker.results.recv()
        except (EOFError, OSError):
            self._worker_died(worker)
            return
        job, worker.job = worker.job, None
        worker.served += 1
        self._start_failures = 0
        if job is not None:
            job.worker = None
            self._end(job, ok, value)

    def _end(self, job: _Job, ok: bool, value: Any) -> None:
        if job in self._running:
            self._running.remove(job)
            self._free.give(job.claim, job.devices)
        if job.future.done():
            return  # failed already (timed out in a thread)
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)

    def _worker_died(self, worker: Worker) -> None:
        how = worker.how_it_ended()
        worker.close()
        self._workers.remove(worker)
        job = worker.job
        if job is not None:
            self._end(
                job,
                False,
                WorkerLost(
                    f"the worker process (pid {worker.pid}) died while running step"
                    f" '{job.step}' ({how})",
                    step=job.step,
                    hint="a step that uses more memory than the machine has is killed by the"
                    " system (see: dmesg); give it resources={'memory': ...} so that fewer run"
                    " at once, or retries=N to run it again",
                ),
            )
        elif worker.served == 0:
            self._start_failures += 1
        if self._closed:
            return
        if self._start_failures >= _MAX_START_FAILURES:
            self._fail_queue(
                StackError(
                    f"the local_parallel orchestrator's worker processes exit as soon as they"
                    f" start ({how})",
                    hint=f"run `{sys.executable} -m {WORKER_MODULE}` to see the error",
                )
            )
            return
        self._workers.append(Worker(self._env))

    def _fail_queue(self, error: BaseException) -> None:
        for job in self._queue:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(error)
        self._queue.clear()

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for job in list(self._running):
            if job.deadline is None or job.timed_out or now < job.deadline:
                continue
            job.timed_out = True
            assert job.timeout is not None
            if job.worker is not None:
                worker = job.worker
                worker.kill()
                self._workers.remove(worker)
                self._workers.append(Worker(self._env))
                how = "its worker process was killed"
                self._end(job, False, _timed_out(job, how))
            else:  # a thread cannot be stopped: fail the step now, free its claim when it ends
                how = "its thread cannot be stopped; what it records after this is refused"
                job.future.set_exception(_timed_out(job, how))

    def _abandon_running(self) -> None:
        """The run is over while steps still run: kill their workers."""
        for job in list(self._running):
            worker = job.worker
            if worker is None:
                continue  # a thread: nothing can stop it
            worker.kill()
            self._workers.remove(worker)
            self._end(job, False, StepInterrupted(f"step '{job.step}' was stopped", step=job.step))

    def _stop_workers(self) -> None:
        for worker in self._workers:
            if worker.job is None:
                worker.stop()
            else:
                worker.kill()
        for worker in self._workers:
            worker.wait(timeout=10)
        self._workers.clear()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


def _timed_out(job: _Job, how: str) -> StepTimedOut:
    return StepTimedOut(
        f"step '{job.step}' ran past its timeout of {job.timeout:g} s and was stopped ({how})",
        step=job.step,
        hint="raise @step(timeout=...) if the step needs longer",
    )


_MORE_HINT = (
    "ask for less in @step(resources=...), or give the orchestrator more"
    " (bevel component update NAME --cpus N --gpus N --memory 64GiB)"
)
