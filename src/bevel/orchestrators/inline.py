"""The local orchestrator's executor: each call runs in the caller's thread, when submitted.

Apart from :mod:`bevel.orchestrators.local` so that building the default stack (which every
``Client()`` does) does not import :mod:`concurrent.futures` and :mod:`logging`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each submitted call immediately in the caller's thread (no pool, no pickling)."""

    #: Steps run in the thread that drives the run: stopping one means interrupting it.
    inline = True

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # KeyboardInterrupt must reach the engine too
            if not isinstance(exc, Exception):
                raise
            future.set_exception(exc)
        return future
