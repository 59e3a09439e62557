"""What the engine tells the outside world while a run progresses (CLI progress, tests)."""

from __future__ import annotations

from typing import Any, Protocol

from bevel.dag.plan import Plan
from bevel.metadata.records import RunRecord, StepRunRecord


class RunListener(Protocol):
    """Receives engine events in order; implementations must be quick and must not raise."""

    def on_run_start(self, run: RunRecord, plan: Plan) -> None: ...

    def on_step_start(self, step_id: str, step_name: str) -> None: ...

    def on_step_end(self, step_run: StepRunRecord) -> None: ...

    def on_run_end(self, run: RunRecord) -> None: ...


class NullListener:
    """A listener that ignores everything."""

    def on_run_start(self, run: RunRecord, plan: Plan) -> None:
        pass

    def on_step_start(self, step_id: str, step_name: str) -> None:
        pass

    def on_step_end(self, step_run: StepRunRecord) -> None:
        pass

    def on_run_end(self, run: RunRecord) -> None:
        pass


class GuardedListener:
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
