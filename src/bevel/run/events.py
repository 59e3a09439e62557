"""What the engine tells the outside world while a run progresses (CLI progress, tests)."""

from __future__ import annotations

from typing import Protocol

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
