"""The local parallel orchestrator: independent steps at once, on this machine.

Steps run in worker processes (``mode="process"``, the default: not blocked by the GIL) or in
threads of the driving process (``mode="thread"``: for steps that release the GIL, with objects
handed between steps in memory). Placement honours each step's ``resources``: never more CPUs,
GPUs or memory claimed at once than the orchestrator has (:class:`Capacity`: detected, or set
with ``cpus=``, ``gpus=``, ``memory=``); a step holding GPUs gets its own
``CUDA_VISIBLE_DEVICES``. What one step asks for is checked against the capacity before the run
starts (:meth:`LocalParallelOrchestrator.check_plan`).

``gpus=N`` sets the number of devices handed out whatever the machine has: that is how the
assignment is tested on a machine without GPUs (the steps see ``CUDA_VISIBLE_DEVICES`` set to
the ids they were given, ``0`` .. ``N-1`` or the ids ``$CUDA_VISIBLE_DEVICES`` lists).
"""

from __future__ import annotations

import os
from typing import Any

from bevel.dag.plan import Plan
from bevel.errors import StackError
from bevel.orchestrators.parallel import ParallelExecutor
from bevel.orchestrators.resources import (
    Capacity,
    Claim,
    detect_gpus,
    gpu_ids,
    parse_memory,
    total_memory,
)
from bevel.orchestrators.workers import template

MODES = ("process", "thread")


class LocalParallelOrchestrator:
    """Independent steps run at once in worker processes (or threads), placed by resources."""

    name = "local_parallel"
    remote = False

    def __init__(
        self,
        processes: int | None = None,
        mode: str = "process",
        cpus: float | None = None,
        gpus: int | None = None,
        memory: str | None = None,
        continue_on_failure: bool = True,
        **_config: Any,
    ) -> None:
        if mode not in MODES:
            raise StackError(
                f"the local_parallel orchestrator's mode is {mode!r}",
                hint="use mode 'process' (the default) or 'thread'",
            )
        self.mode = mode
        self.in_process = mode == "thread"
        self.processes = processes
        self.cpus = cpus
        self.gpus = gpus
        self.memory = memory
        self.continue_on_failure = continue_on_failure

    def capacity(self) -> Capacity:
        cpus = self.cpus if self.cpus is not None else float(os.cpu_count() or 1)
        slots = self.processes or max(1, int(cpus))
        gpus = self.gpus if self.gpus is not None else detect_gpus()
        memory = parse_memory(self.memory) if self.memory is not None else total_memory()
        return Capacity(slots=slots, cpu=cpus, gpus=tuple(gpu_ids(gpus)), memory=memory)

    def executor(self) -> ParallelExecutor:
        return ParallelExecutor(self.capacity(), processes=self.mode == "process")

    def check_plan(self, plan: Plan) -> None:
        """Refuse, before anything runs, a step that can never be placed here; start the
        workers' template meanwhile (its imports overlap the driver's work until the run
        starts)."""
        if self.mode == "process":
            template()
        capacity = self.capacity()
        for spec in plan.steps:
            claim = Claim.of(spec.options.resources)
            problem = capacity.refuse(claim)
            if problem:
                raise StackError(
                    f"{spec.where}: step '{spec.id}' asks for {problem} on the local_parallel"
                    " orchestrator",
                    hint="ask for less in @step(resources=...), or give the orchestrator more"
                    " (bevel component update NAME --cpus N --gpus N --memory 64GiB)",
                )
            if claim.gpu and self.in_process:
                raise StackError(
                    f"{spec.where}: step '{spec.id}' asks for {claim.gpu} GPU(s), but threads"
                    " share one process and cannot each get their own CUDA_VISIBLE_DEVICES",
                    hint="use the orchestrator's process mode (--mode process) for GPU steps",
                )
