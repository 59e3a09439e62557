"""``experiment_tracker/mlflow``: a bevel run, mirrored as MLflow runs when it ends.

One MLflow run per bevel run (in the experiment named by the component, else the pipeline's
name) holds the run's parameters and every metric its steps logged; one nested run per step run
that has parameters or metrics holds that step's. Tags link back (``bevel.run_id``,
``bevel.run_name``, ``bevel.pipeline``, ``bevel.step``, ``bevel.step_run_id``), and bevel records
the MLflow ids as metadata ``mlflow`` of the run and of each step run (``bevel runs show``
prints them with their URLs). The MLflow run ends with the bevel run's status (FINISHED,
FAILED, KILLED) and end time. Called by :mod:`bevel.run.notify` in the driver's process, after
the run's final status is stored: a server that is down is a warning naming its URL, and the
bevel run's own records are all kept.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from bevel.integrations.mlflow.connection import (
    TAG_VALUE_LIMIT,
    MlflowComponent,
    clean_key,
    millis,
    text,
)

KEY = "mlflow"
_RUN_STATUS = {"completed": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
_STEP_STATUS = {"completed": "FINISHED", "cached": "FINISHED", "failed": "FAILED",
                "cancelled": "KILLED"}  # fmt: skip
# MLflow's log_batch takes at most 1000 metrics, 100 params and 100 tags per request.
_BATCH = {"metrics": 1000, "params": 100, "tags": 100}


class MlflowExperimentTracker(MlflowComponent):
    """Mirrors each bevel run, and its steps as nested runs, into an MLflow server."""

    what = "experiment tracker"

    # --- StepTracker (bevel.stack.protocols): what bevel calls ------------------------------

    def log_run(self, run: Any, step_runs: list[Any], metrics: list[Any]) -> dict[str, Any]:
        self.conn.check()
        experiment = self.conn.experiment_id(self.experiment or run.pipeline)
        parent, _ = self.conn.bevel_runs(experiment, run, None)
        points = [(m.key, m.value, m.step, m.created) for m in metrics]
        self._batch(parent, params=run.params, metrics=points,
                    tags={"bevel.status": run.status.value})  # fmt: skip
        by_step: dict[str, list[Any]] = defaultdict(list)
        for m in metrics:
            if m.step_run_id:
                by_step[m.step_run_id].append((m.key, m.value, m.step, m.created))
        steps: dict[str, dict[str, Any]] = {}
        for step_run in step_runs:
            if not step_run.params and not by_step.get(step_run.id):
                continue
            _, child = self.conn.bevel_runs(experiment, run, step_run)
            status = step_run.status.value
            tags = {"bevel.status": status}
            if step_run.cached_from:
                tags["bevel.cached_from"] = step_run.cached_from
            self._batch(child, params=step_run.params, metrics=by_step.get(step_run.id, []),
                        tags=tags)  # fmt: skip
            self._end(child, _STEP_STATUS.get(status, "FINISHED"), step_run.ended)
            steps[step_run.id] = {
                "run_id": child, "experiment_id": experiment,
                "url": self.conn.run_url(experiment, child),
            }  # fmt: skip
        self._end(parent, _RUN_STATUS.get(run.status.value, "FINISHED"), run.ended)
        link = {
            "run_id": parent, "experiment_id": experiment,
            "url": self.conn.run_url(experiment, parent), "tracking_uri": self.conn.uri,
        }  # fmt: skip
        return {"key": KEY, "run": link, "steps": steps}

    # --- helpers -----------------------------------------------------------------------------

    def _end(self, run_id: str, status: str, ended: Any) -> None:
        self.conn.call(
            "end a run", self.conn.client.set_terminated, run_id, status=status,
            end_time=millis(ended),
        )  # fmt: skip

    def _batch(
        self, run_id: str, *, params: dict[str, Any] | None = None,
        metrics: Iterable[tuple[str, float, int | None, Any]] = (),
        tags: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        from mlflow.entities import Metric, Param, RunTag  # optional: bevel[mlflow]

        now = int(time.time() * 1000)
        items: dict[str, list[Any]] = {
            "params": [Param(clean_key(k), text(v)) for k, v in (params or {}).items()],
            "metrics": [
                Metric(clean_key(k), float(v), millis(at) or now, step or 0)
                for k, v, step, at in metrics
            ],
            "tags": [
                RunTag(clean_key(k), text(v, TAG_VALUE_LIMIT)) for k, v in (tags or {}).items()
            ],
        }
        while any(items.values()):
            chunk = {kind: values[: _BATCH[kind]] for kind, values in items.items()}
            items = {kind: values[_BATCH[kind] :] for kind, values in items.items()}
            self.conn.call("log parameters and metrics", self.conn.client.log_batch, run_id,
                           **chunk)  # fmt: skip
