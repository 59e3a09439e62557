"""The Orchestrator protocol: it provides a ``concurrent.futures``-style executor.

The engine owns the one scheduling loop; an orchestrator only decides *where* each step runs
(inline, a thread/process pool, a Dask cluster). The engine calls ``executor.submit(fn, task)``
once per step with exactly one argument, a task (:class:`TaskInfo`; the engine's
``bevel.run.worker.StepTask``): plain picklable data naming the run, the step and the stack,
with the step's input artifact records and its ``resources``. A plain
``concurrent.futures.Executor`` works as is; an executor that places work by resources (CPUs,
GPUs, memory) or enforces timeouts reads them from the task.

- ``in_process`` orchestrators (inline, threads) get an ``fn`` that runs the step with the live
  stack and hands objects between steps in memory; nothing is pickled.
- Out-of-process ones get ``bevel.run.worker:run_task``, an importable function: the worker
  rebuilds the stack from the task's reference and calls the same ``run_step``. Its result
  (a ``StepOutcome`` of records) pickles.

``executor.shutdown(wait=False, cancel_futures=True)`` is called when the run ends; before that,
on Ctrl-C or a crash, the engine cancels futures that have not started and waits for running
ones, so every step's real outcome is recorded before the run's final status.

Workflow engines that want the whole plan (Airflow export, Kubernetes jobs) can add their own
entry point later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from concurrent.futures import Executor


class TaskInfo(Protocol):
    """What an executor may read from the task it is given (the rest is the engine's)."""

    @property
    def run_id(self) -> str: ...

    @property
    def step_id(self) -> str: ...

    @property
    def resources(self) -> Mapping[str, Any]: ...


@runtime_checkable
class Orchestrator(Protocol):
    name: str
    #: True when steps run in this process, so in-memory objects can be handed from step to step.
    in_process: bool
    #: True when steps run on other machines (needs a remote artifact and metadata store).
    remote: bool

    def executor(self) -> Executor:
        """An executor for the run's steps (see the module docstring for what it is given);
        the engine shuts it down when the run ends."""
        ...
