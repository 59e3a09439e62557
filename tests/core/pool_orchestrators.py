"""Test-only orchestrators backed by ``concurrent.futures`` pools (the orchestrators issue builds
the real ``local_parallel`` and Dask ones on the same contract).

``ThreadPoolOrchestrator`` runs steps in threads of this process (objects handed over in
memory); ``ProcessPoolOrchestrator`` runs them in fresh worker processes (``spawn``), so
everything it is given must pickle. Both record what they were asked to run, so tests can check
what reached the orchestrator with each task.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any


class _Recording:
    """Wraps an executor: records each task (pickled, for out-of-process pools) and who ran it."""

    def __init__(self, inner: Any, submitted: list[Any], pickled: bool) -> None:
        self.inner = inner
        self.submitted = submitted
        self.pickled = pickled

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.pickled:
            pickle.dumps((fn, args, kwargs))  # what crosses to the worker must pickle as it is
        self.submitted.append(args[0] if len(args) == 1 and not kwargs else (args, kwargs))
        return self.inner.submit(fn, *args, **kwargs)  # type: ignore[no-any-return]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


class ThreadPoolOrchestrator:
    name = "threads"
    in_process = True
    remote = False

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self.submitted: list[Any] = []
        self.pools: list[ThreadPoolExecutor] = []

    def executor(self) -> Any:
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="bevel-test-step")
        self.pools.append(pool)
        return _Recording(pool, self.submitted, pickled=False)

    def join(self) -> None:
        """Wait for every thread the runs left behind (steps abandoned by a cancel)."""
        for pool in self.pools:
            pool.shutdown(wait=True)


class ProcessPoolOrchestrator:
    name = "processes"
    in_process = False
    remote = False

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self.submitted: list[Any] = []

    def executor(self) -> Any:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return _Recording(pool, self.submitted, pickled=True)
