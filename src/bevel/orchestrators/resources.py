"""Claims and capacities: what a running step holds, and what this machine has to give.

The request itself (``@step(resources=...)``, :class:`~bevel.authoring.resources.ResourceSettings`)
is checked where the step is defined (:mod:`bevel.authoring.resources`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bevel.authoring.resources import format_memory, parse_memory

__all__ = ["Claim", "detect_gpus", "format_memory", "gpu_ids", "parse_memory", "total_memory"]


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
