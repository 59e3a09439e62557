"""What the engine hands an executor that runs steps in its own process (inline, threads), and
what a sweep's driver runs as, whatever the orchestrator: ``run_step`` with the live stack."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from bevel.dag.plan import StepSpec
from bevel.run.scheduler import Scheduler
from bevel.run.task import StepInputs, StepOutcome, run_step
from bevel.run.worker import StepTask


def called(fn: Any, task: StepTask) -> Future[StepOutcome]:
    """``fn(task)`` run now, as a finished future (what an inline executor gives)."""
    future: Future[StepOutcome] = Future()
    try:
        future.set_result(fn(task))
    except Exception as exc:  # collected like an executor's failure; Ctrl-C propagates
        future.set_exception(exc)
    return future


class InProcess:
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
