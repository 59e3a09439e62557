"""Which device a trainer runs on: the best one torch can use here.

torch is imported only when a step asks (``current.device``) and torch is installed; a step
that never asks, or a machine without torch, costs nothing. A step that asked for GPUs
(``@trainer(gpu=1)``) on a machine without one runs on the CPU, and the recorded device says
so: the record states what happened, not what was asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any


def pick_device(resources: dict[str, Any] | None = None) -> str:
    """``"cuda:0"`` when torch sees a CUDA GPU, ``"mps"`` on Apple silicon, else ``"cpu"``."""
    del resources  # every step gets the best device; a GPU request only matters for scheduling
    if importlib.util.find_spec("torch") is None:
        return "cpu"
    torch: Any = importlib.import_module("torch")  # optional: bevel[torch]
    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.current_device()}"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"
