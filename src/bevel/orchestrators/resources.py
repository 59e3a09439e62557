"""Claims and capacities: what a running step holds, and what this machine has to give.

The request itself (``@step(resources=...)``, :class:`~bevel.authoring.resources.ResourceSettings`)
is checked where the step is defined (:mod:`bevel.authoring.resources`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel.authoring.resources import format_memory, parse_memory

__all__ = [
    "Capacity",
    "Claim",
    "Free",
    "detect_gpus",
    "format_memory",
    "gpu_ids",
    "parse_memory",
    "total_memory",
]


@dataclass(frozen=True)
class Claim:
    """What one step holds while it runs."""

    cpu: float = 1.0
    gpu: int = 0
    memory: int = 0
    custom: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: Mapping[str, Any]) -> Claim:
        custom = {k: float(v) for k, v in resources.items() if k not in ("cpu", "gpu", "memory")}
        return cls(
            cpu=float(resources.get("cpu", 1.0)),
            gpu=int(resources.get("gpu", 0)),
            memory=parse_memory(resources.get("memory", 0)),
            custom=custom,
        )


def detect_gpus() -> int:
    """GPUs this machine offers: ``$CUDA_VISIBLE_DEVICES`` when set, else ``nvidia-smi -L``,
    else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))


def gpu_ids(count: int) -> list[str]:
    """The device ids to hand out: the visible ones when ``$CUDA_VISIBLE_DEVICES`` names
    them, else ``0..count-1``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        named = [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
        if len(named) >= count:
            return named[:count]
    return [str(i) for i in range(count)]


def total_memory() -> int:
    """Physical memory of this machine in bytes (0 when unknown: memory is then not placed)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass(frozen=True)
class Capacity:
    """What the orchestrator may hand out at once. ``memory`` 0 means memory is not placed."""

    slots: int
    cpu: float
    gpus: tuple[str, ...] = ()
    memory: int = 0
    custom: dict[str, float] = field(default_factory=dict)

    def refuse(self, claim: Claim) -> str | None:
        """Why ``claim`` can never be placed (None when it can)."""
        problems = []
        if claim.cpu > self.cpu:
            problems.append(f"{claim.cpu:g} CPUs (there are {self.cpu:g})")
        if claim.gpu > len(self.gpus):
            problems.append(f"{claim.gpu} GPU(s) (there are {len(self.gpus)})")
        if self.memory and claim.memory > self.memory:
            problems.append(
                f"{format_memory(claim.memory)} of memory (there is {format_memory(self.memory)})"
            )
        for key, amount in claim.custom.items():
            if amount > self.custom.get(key, 0.0):
                problems.append(f"{amount:g} {key} (there are {self.custom.get(key, 0.0):g})")
        return ", ".join(problems) or None


class Free:
    """What is left of a :class:`Capacity` while steps hold parts of it."""

    def __init__(self, capacity: Capacity) -> None:
        self.slots = capacity.slots
        self.cpu = capacity.cpu
        self.gpus = list(capacity.gpus)
        self.memory = capacity.memory
        self.placed_memory = capacity.memory > 0
        self.custom = dict(capacity.custom)

    def fits(self, claim: Claim) -> bool:
        return (
            self.slots >= 1
            and claim.cpu <= self.cpu + 1e-9
            and claim.gpu <= len(self.gpus)
            and (not self.placed_memory or claim.memory <= self.memory)
            and all(v <= self.custom.get(k, 0.0) + 1e-9 for k, v in claim.custom.items())
        )

    def take(self, claim: Claim) -> list[str]:
        self.slots -= 1
        self.cpu -= claim.cpu
        self.memory -= claim.memory if self.placed_memory else 0
        for key, amount in claim.custom.items():
            self.custom[key] -= amount
        devices, self.gpus = self.gpus[: claim.gpu], self.gpus[claim.gpu :]
        return devices

    def give(self, claim: Claim, devices: list[str]) -> None:
        self.slots += 1
        self.cpu += claim.cpu
        self.memory += claim.memory if self.placed_memory else 0
        for key, amount in claim.custom.items():
            self.custom[key] += amount
        self.gpus = sorted([*self.gpus, *devices], key=lambda d: (len(d), d))
