"""What a step asks for (``@step(resources=...)``) and what a machine has, in one unit each.

A step's ``resources`` is plain data in the plan (``{"cpu": 2, "gpu": 1, "memory": "4GiB"}``,
or a :class:`ResourceSettings`, which compiles to the same dict). Orchestrators read it to place
the step:

- ``cpu``: CPUs the step keeps busy (default 1 when it asks for nothing; fractions allowed);
- ``gpu``: whole GPUs (default 0); the local parallel orchestrator gives the step its own
  ``CUDA_VISIBLE_DEVICES``; Dask maps it onto the worker resource ``GPU``;
- ``memory``: bytes, or text with a unit (``"512MiB"``, ``"4GB"``); a reservation used for
  placement, not a limit enforced on the process;
- any other key (``{"license": 1}``): a custom resource, for Dask workers started with
  ``--resources "license=1"``.

Checked when the step is defined (:func:`normalise`), so a typo is an error at the decorator.
Orchestrators turn it into a claim (:mod:`bevel.orchestrators.resources`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel.errors import DefinitionError

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_EXAMPLE = 'e.g. resources={"cpu": 2, "gpu": 1, "memory": "4GiB"}'


def parse_memory(value: Any) -> int:
    """Bytes from ``4294967296``, ``"4GiB"``, ``"512 MB"``; ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError(f"memory must be bytes or text like '4GiB', got {value!r}")
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    if isinstance(value, str):
        found = _MEMORY.match(value)
        if found and found.group(2).lower() in _UNITS:
            return int(float(found.group(1)) * _UNITS[found.group(2).lower()])
    raise ValueError(f"memory must be bytes or text like '4GiB' or '512MB', got {value!r}")


def format_memory(size: int) -> str:
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size / factor:.1f}{unit}".replace(".0", "")
    return f"{size}B"


@dataclass(frozen=True)
class ResourceSettings:
    """What one step needs to run: ``@step(resources=ResourceSettings(cpu=4, gpu=1,
    memory="16GiB"))`` (a plain dict with the same keys works too). ``custom`` holds resources
    of your own cluster, by name."""

    cpu: float | None = None
    gpu: int | None = None
    memory: int | str | None = None
    custom: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            k: v for k, v in (("cpu", self.cpu), ("gpu", self.gpu), ("memory", self.memory))
            if v is not None
        }  # fmt: skip
        return {**found, **self.custom}


def normalise(resources: Any, where: str | None = None) -> dict[str, Any]:
    """The plan's form of a step's resources, checked: raises DefinitionError (at ``where``)
    for a bad value, saying what a good one looks like."""
    if isinstance(resources, ResourceSettings):
        resources = resources.as_dict()
    if not isinstance(resources, Mapping):
        raise DefinitionError(
            f"resources must be a dict or ResourceSettings, got {type(resources).__name__}",
            where=where,
            hint=_EXAMPLE,
        )
    out: dict[str, Any] = {}
    for key, value in resources.items():
        problem = _problem(key, value)
        if problem:
            raise DefinitionError(f"resources[{key!r}] {problem}", where=where, hint=_EXAMPLE)
        out[str(key)] = value
    return out


def _problem(key: Any, value: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return "is not named by a string"
    if key == "memory":
        try:
            parse_memory(value)
        except ValueError as exc:
            return f"is {value!r}: {exc}"
        return None
    if key == "gpu":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"is {value!r}: GPUs are counted in whole devices (0, 1, 2...)"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return f"is {value!r}: expected a non-negative number"
    return None
