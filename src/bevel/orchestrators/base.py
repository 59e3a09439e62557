"""The Orchestrator protocol: it provides a ``concurrent.futures``-style executor.

The engine owns the one scheduling loop; an orchestrator only decides *where* ``run_step`` calls
execute (inline, a thread/process pool, a Dask cluster). Workflow engines that want the whole plan
(Airflow export, Kubernetes jobs) can add their own entry point later.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Protocol, runtime_checkable


@runtime_checkable
class Orchestrator(Protocol):
    name: str
    #: True when steps run in this process, so in-memory objects can be handed from step to step.
    in_process: bool
    #: True when steps run on other machines (needs a remote artifact and metadata store).
    remote: bool

    def executor(self) -> Executor:
        """An executor for ``run_step`` calls; the engine shuts it down when the run ends."""
        ...
