"""A step's ``@step(timeout=...)`` inside the process that runs it.

Where the step runs in a process's main thread (the local orchestrator, the local parallel
orchestrator's worker processes, ``python -m bevel.entrypoint``) a real-time alarm raises
:class:`~bevel.errors.StepTimedOut` inside the step function at its deadline: the attempt fails
like any error (with its traceback, and retries when the step has some), and the worker lives
on. Code that blocks signals is not interrupted by it: the orchestrator's own deadline (a kill
of the worker, a few seconds later) is the backstop. In other threads (thread mode, Dask
workers) signals cannot be used and only the orchestrator's deadline applies.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from bevel.errors import StepTimedOut


@contextlib.contextmanager
def deadline(seconds: float | None, step: str) -> Iterator[None]:
    """Raise StepTimedOut in this (main) thread when the block runs past ``seconds``."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise StepTimedOut(
            f"step '{step}' ran past its timeout of {seconds:g} s and was stopped",
            step=step,
            hint="raise @step(timeout=...) if the step needs longer",
        )

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
