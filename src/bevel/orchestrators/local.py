"""The local orchestrator: steps run inline, one after the other, in this process."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

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


class LocalOrchestrator:
    """Inline and sequential: the default, with zero setup."""

    name = "local"
    in_process = True
    remote = False

    def __init__(self, continue_on_failure: bool = True, **_config: Any) -> None:
        self.continue_on_failure = continue_on_failure

    def executor(self) -> Executor:
        return InlineExecutor()
