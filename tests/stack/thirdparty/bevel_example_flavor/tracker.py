"""An experiment tracker that appends JSON lines to a file: flavor ``experiment_tracker/file``.

It can also fail on purpose (``fail=True``), to show that a broken tracker never changes a run's
recorded outcome.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class FileTracker:
    def __init__(self, *, path: str, fail: bool) -> None:
        self.path = Path(path)
        self.fail = fail

    def _write(self, entry: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("tracking server unreachable")
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self._write({"call": "log_params", "run_id": run_id, "params": params})

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int | None = None) -> None:
        self._write({"call": "log_metrics", "run_id": run_id, "metrics": metrics, "step": step})
