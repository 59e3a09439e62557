"""The ``dask`` orchestrator: steps on a Dask cluster (``pip install 'bevel[dask]'``).

``address`` names a running scheduler (``tcp://10.0.0.5:8786``; the same client code reaches
clusters on Kubernetes, Slurm, YARN or clouds through dask-kubernetes, dask-jobqueue...); without
one, a ``LocalCluster`` of worker processes on this machine lives for the run. Each step is one
Dask task of bevel's own installed function :func:`run_on_worker` with the step's
:class:`~bevel.run.worker.StepTask` (references and records, never a pickled user function): the
worker rebuilds the stack from its name, fetches the shipped project source
(:mod:`bevel.run.shipping`) and runs the same ``run_step``.

- **Resources**: a step's ``gpu`` becomes the Dask worker resource ``GPU``, custom keys keep
  their name, and ``cpu`` / ``memory`` become ``CPU`` / ``memory`` where workers declare them
  (``dask worker ... --resources "GPU=1,memory=16e9"``; otherwise they are left to Dask's
  threads and memory limits). A step asking for a resource no worker offers is refused before
  the run starts.
- **Dead workers**: Dask runs the task again on another worker; bevel records the first try
  failed ("the worker tcp://... died while running step 'train'") and runs it again only when
  the step has retries left (:mod:`bevel.run.redelivery`). When Dask gives up (``KilledWorker``)
  the step fails with that message.
- **Chaining**: a step whose upstream steps are still running is submitted at once with their
  Dask futures as dependencies (:meth:`DaskExecutor.submit_after`), so the scheduler starts it
  as soon as they end, with no round trip through the driver.
- **Timeouts** count from submission, or for a chained step from the end of the steps it
  waited for (Dask does not say when a task starts), and cannot stop the worker's thread: the step is recorded failed at its deadline, what it writes later is
  refused. **Cancelling** a step's future cancels its task only while no worker runs it: a
  started task cannot be stopped, so its future then refuses the cancel (it is running),
  and the engine waits for its real outcome, as on every other executor (a crash or Ctrl-C
  winding the run down). Cancelling the run (``bevel runs cancel``) cancels every task; a
  running one finishes on its worker and its late report is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Executor, Future
from dataclasses import field
from typing import Any
from urllib.parse import urlparse

from bevel._dataclass import dataclass
from bevel.authoring.resources import parse_memory
from bevel.dag.plan import Plan
from bevel.errors import StackError, StepInterrupted, StepTimedOut, WorkerLost
from bevel.run.shipping import DEFAULT_LIMIT
from bevel.run.worker import NotStarted, StepTask

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
_WATCH_SECONDS = 0.2


def run_on_worker(
    fn: Callable[..., Any], task: StepTask, upstream: dict[str, Any] | None = None
) -> Any:
    """What each Dask task runs (importable wherever bevel is installed): ``fn`` is
    :func:`bevel.run.worker.run_task`, told which worker it is on. A chained task gets the
    outcomes of the steps it waited for (``upstream``, resolved by Dask from their futures),
    and answers :class:`~bevel.run.worker.NotStarted` without running when one failed."""
    from distributed import get_worker  # optional dependency: only ever on a Dask worker

    if upstream:
        resolved = task.after(upstream)
        if isinstance(resolved, NotStarted):
            return resolved
        task = resolved
    return fn(task, worker=get_worker().address)


def dask_resources(wanted: Mapping[str, Any], offered: set[str]) -> dict[str, float]:
    """A step's ``resources`` as Dask resource restrictions (see the module docstring)."""
    out: dict[str, float] = {}
    for key, value in wanted.items():
        if key == "gpu":
            if value:
                out["GPU"] = float(value)
        elif key == "cpu":
            if "CPU" in offered:
                out["CPU"] = float(value)
        elif key == "memory":
            if "memory" in offered:
                out["memory"] = float(parse_memory(value))
        else:
            out[key] = float(value)
    return out


class DaskOrchestrator:
    """Steps as tasks on a Dask cluster (see the module docstring)."""

    name = "dask"
    in_process = False
    ships_code = True

    def __init__(
        self,
        address: str | None = None,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        connect_timeout: float = 10.0,
        code_size_limit: str = "50MiB",
        continue_on_failure: bool = True,
        **_config: Any,
    ) -> None:
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.connect_timeout = connect_timeout
        self.code_size_limit = parse_memory(code_size_limit) if code_size_limit else DEFAULT_LIMIT
        self.continue_on_failure = continue_on_failure
        self._ready: tuple[Any, Any] | None = None  # (client, cluster) opened by check_plan
        self._offered: set[str] = set()  # the workers' resources, as check_plan found them

    @property
    def remote(self) -> bool:
        """Workers may be on other machines: only a scheduler on this machine's loopback (or a
        LocalCluster) may use local stores."""
        if self.address is None:
            return False
        host = urlparse(self.address if "://" in self.address else f"tcp://{self.address}")
        return (host.hostname or "") not in _LOCAL_HOSTS

    def _connect(self) -> tuple[Any, Any]:
        import distributed  # optional dependency (bevel[dask])

        Client: Any = distributed.Client
        LocalCluster: Any = distributed.LocalCluster

        if self.address is None:
            cluster = LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=self.threads_per_worker,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            return Client(cluster), cluster
        try:
            return Client(self.address, timeout=self.connect_timeout), None
        except (OSError, TimeoutError) as exc:
            raise StackError(
                f"cannot reach the Dask scheduler at {self.address}: {type(exc).__name__}: {exc}",
                hint="start it (dask scheduler --host 0.0.0.0) or fix the orchestrator's"
                " address (bevel component update NAME --address tcp://HOST:8786)",
            ) from exc

    def check_plan(self, plan: Plan) -> None:
        """Connect, and refuse a step asking for a resource that no worker offers."""
        client, cluster = self._ready or self._connect()
        self._ready = (client, cluster)
        offered = _offered(client)
        self._offered = set(offered)  # the run's executor needs no second round trip for it
        for spec in plan.steps:
            for key, amount in dask_resources(spec.options.resources, set(offered)).items():
                if amount > offered.get(key, 0.0):
                    self.close()
                    have = f"at most {offered[key]:g}" if key in offered else "none"
                    raise StackError(
                        f"{spec.where}: step '{spec.id}' needs the Dask resource {key}={amount:g},"
                        f" and the workers of {self.address or 'the local cluster'} offer {have}",
                        hint=f'start workers that offer it: dask worker ... --resources "{key}='
                        f'{amount:g}", or ask for less in @step(resources=...)',
                    )

    def executor(self) -> DaskExecutor:
        offered = self._offered if self._ready is not None else None
        client, cluster = self._ready or self._connect()
        self._ready = None
        return DaskExecutor(client, cluster, offered=offered)

    def close(self) -> None:
        if self._ready is not None:
            client, cluster = self._ready
            self._ready = None
            client.close()
            if cluster is not None:
                cluster.close()


@dataclass(eq=False)
class _Remote:
    """A step's Dask future, and what the deadline watcher needs to know about it."""

    remote: Any
    step: str
    timeout: float | None
    deadline: float | None
    upstream: dict[str, Any] = field(default_factory=dict)  # step id -> Dask future


class _StepFuture(Future[Any]):
    """A step's future: it cannot be cancelled once a worker runs the step's task, since
    nothing stops a task a worker has started (the cluster is asked, at cancel time only)."""

    def __init__(self, executor: DaskExecutor) -> None:
        super().__init__()
        self._executor = executor

    def cancel(self) -> bool:
        if not self.done() and self._executor.on_a_worker(self):
            self._executor.started(self)
        return super().cancel()  # refused once running or done


class DaskExecutor(Executor):
    """``submit(run_task, task)`` as a Dask task; concurrent.futures results.

    ``submit_after`` chains a step on steps still running: its task is handed to the
    scheduler at once with their Dask futures as dependencies, so the scheduler starts it on a
    worker as soon as they end, without a round trip through the driver (a chain of short
    steps is as quick as Dask's own chains). It then receives their outcomes and answers
    :class:`~bevel.run.worker.NotStarted` without running when one did not complete; so does
    this executor when one of them was cancelled or failed on Dask (a lost worker).
    """

    def __init__(self, client: Any, cluster: Any = None, offered: set[str] | None = None) -> None:
        self.client = client
        self.cluster = cluster
        self._offered = set(_offered(client)) if offered is None else offered
        self._lock = threading.Lock()
        self._resolving = threading.Lock()  # one thread at a time gives a future its outcome
        self._tasks: dict[Future[Any], _Remote] = {}
        self._remotes: dict[Future[Any], Any] = {}  # every step's Dask future, for chaining
        self._closed = threading.Event()
        self._watch = threading.Thread(target=self._deadlines, name="bevel-dask", daemon=True)
        self._watch.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        (task,) = args
        return self.submit_after(fn, task, {})

    def submit_after(
        self, fn: Callable[..., Any], task: StepTask, upstream: Mapping[str, Future[Any]]
    ) -> Future[Any]:
        """Run ``fn(task)`` once the steps ``upstream`` (step id -> the future this executor
        gave for it) have ended, with their outcomes (see the class docstring)."""
        future: Future[Any] = _StepFuture(self)
        resources = dask_resources(task.resources, self._offered) or None
        with self._lock:
            waits = {step: self._remotes[f] for step, f in upstream.items()}
        args = (run_on_worker, fn, task, waits) if waits else (run_on_worker, fn, task)
        remote = self.client.submit(
            *args, key=f"bevel-{task.step_id}-{task.step_run_id}", pure=False,
            resources=resources,
        )  # fmt: skip
        timeout = float(task.timeout) if task.timeout else None
        deadline = time.monotonic() + timeout if timeout and not waits else None
        with self._lock:
            self._tasks[future] = _Remote(remote, task.step_id, timeout, deadline, waits)
            self._remotes[future] = remote
        future.add_done_callback(self._forget)
        remote.add_done_callback(lambda done: self._settle(done, future, task.step_id, waits))
        return future

    def _settle(
        self, remote: Any, future: Future[Any], step: str, upstream: dict[str, Any]
    ) -> None:
        if future.done():
            return
        failed = next((s for s, r in upstream.items() if r.status in ("error", "cancelled")), None)
        if failed is not None and remote.status != "finished":
            self._resolve(future, NotStarted(step, failed))  # its upstream did not end
            return
        try:
            result = remote.result()
        except CancelledError:
            error: BaseException = StepInterrupted(
                f"the Dask task of step '{step}' was cancelled", step=step
            )
        except BaseException as exc:
            error = _translated(exc, step)
        else:
            self._resolve(future, result)
            return
        self._resolve(future, error=error)

    def _resolve(
        self, future: Future[Any], result: Any = None, error: BaseException | None = None
    ) -> None:
        """Give ``future`` its outcome unless it has one or was cancelled (the Dask client's
        thread and the deadline watcher may both try)."""
        with self._resolving:
            if future.done() or not (future.running() or future.set_running_or_notify_cancel()):
                return
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    def on_a_worker(self, future: Future[Any]) -> bool:
        """Whether a worker runs the task of ``future`` now (asks the scheduler which worker
        has it, then that worker whether it has started it)."""
        with self._lock:
            remote = self._remotes.get(future)
        if remote is None or remote.done():
            return False
        try:
            processing = self.client.processing()
            where = [w for w, keys in processing.items() if remote.key in keys]
            if not where:
                return False
            answers = self.client.run(_executing, remote.key, workers=where)
        except Exception:  # the scheduler or the worker is gone: nothing runs it any more
            return False
        return any(answers.values())

    def started(self, future: Future[Any]) -> None:
        """Mark ``future`` running (a worker has its task): it can no longer be cancelled."""
        with self._resolving:
            if not future.done() and not future.running():
                future.set_running_or_notify_cancel()

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            found = self._tasks.pop(future, None)
        if future.cancelled() and found is not None:
            self.client.cancel([found.remote])

    def _deadlines(self) -> None:
        """Fail steps past their timeout, counted from submission, or for a chained step from
        the end of the steps it waited for."""
        while not self._closed.wait(_WATCH_SECONDS):
            now = time.monotonic()
            with self._lock:
                for entry in self._tasks.values():
                    waited = all(r.done() for r in entry.upstream.values())
                    if entry.deadline is None and entry.timeout is not None and waited:
                        entry.deadline = now + entry.timeout
                late = [
                    (f, entry.remote, entry.step)
                    for f, entry in self._tasks.items()
                    if entry.deadline is not None and now >= entry.deadline
                ]
            for future, remote, step in late:
                self.client.cancel([remote])
                self._resolve(
                    future,
                    error=StepTimedOut(
                        f"step '{step}' ran past its timeout and was stopped (on Dask the"
                        " timeout counts from submission; the worker's thread cannot be"
                        " stopped, and what it records after this is refused)",
                        step=step,
                        hint="raise @step(timeout=...) if the step needs longer",
                    ),
                )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._closed.set()
        with self._lock:
            remotes = [entry.remote for entry in self._tasks.values()]
            self._remotes.clear()
        if cancel_futures and remotes:
            self.client.cancel(remotes, force=True)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _executing(key: str, dask_worker: Any) -> bool:
    """On a worker (``client.run``): whether one of its threads runs the task ``key``."""
    return key in dask_worker.active_keys


def _offered(client: Any) -> dict[str, float]:
    """The most of each resource that one of the cluster's workers offers."""
    offered: dict[str, float] = {}
    for info in client.scheduler_info().get("workers", {}).values():
        for key, amount in (info.get("resources") or {}).items():
            offered[key] = max(offered.get(key, 0.0), float(amount))
    return offered


def _translated(exc: BaseException, step: str) -> BaseException:
    """Dask's own failures as bevel's; a step's own error passes as it is."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return WorkerLost(
            f"the workers running step '{step}' died, and Dask gave up on it ({exc})",
            step=step,
            hint="a step that uses more memory than a worker has is killed: give the workers"
            " more memory (dask worker --memory-limit) or the step less data",
        )
    return exc
