"""What the engine tells a stack's optional components when a run ends.

Two optional component types have a caller, and this is it:

- an **alerter** (``post(message)``) is told when a run ends failed or cancelled, with the run's
  name, pipeline, status and error;
- an **experiment tracker** (``log_params(run_id, params)``, ``log_metrics(run_id, metrics,
  step=None)``) gets a copy of the run's parameters and every metric its steps logged (a series
  point by point, with its step), once the run has ended, whatever its status. A tracker
  with ``log_run`` (a :class:`~bevel.stack.protocols.StepTracker`: MLflow's nested runs) is
  given the run, its step runs and its metrics instead, and the links it returns are recorded
  as metadata of the run and its step runs (``bevel runs show`` names the tracked runs).

A component that fails never changes the run's recorded outcome, and is never silent either: a
:class:`~bevel.errors.BevelWarning` names the component, the run and the error. The stack's
component is told in the driver's process, after the run's final status is stored.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from bevel.dag.plan import Plan
from bevel.errors import BevelWarning
from bevel.metadata.records import MetadataEntry, RunRecord, RunStatus, StepRunRecord
from bevel.run.events import RunListener
from bevel.stack.stack import Stack

#: Run endings an alerter is told about.
ALERTED = (RunStatus.FAILED, RunStatus.CANCELLED)


def with_components(stack: Stack, listener: RunListener) -> RunListener:
    """``listener``, plus the stack's alerter and experiment tracker when it has them."""
    if stack.component("alerter") is None and stack.component("experiment_tracker") is None:
        return listener
    return _ComponentListener(stack, listener)


def alert_text(run: RunRecord) -> str:
    """What an alerter posts for a run that ended ``run.status``."""
    text = f"bevel: run {run.name} of pipeline {run.pipeline} {run.status.value}"
    if run.error:
        text += f": {run.error.splitlines()[0]}"
    return text


class _ComponentListener:
    def __init__(self, stack: Stack, inner: RunListener) -> None:
        self._stack = stack
        self._inner = inner

    def on_run_start(self, run: RunRecord, plan: Plan) -> None:
        self._inner.on_run_start(run, plan)

    def on_step_start(self, step_id: str, step_name: str) -> None:
        self._inner.on_step_start(step_id, step_name)

    def on_step_end(self, step_run: StepRunRecord) -> None:
        self._inner.on_step_end(step_run)

    def on_run_end(self, run: RunRecord) -> None:
        try:
            self._inner.on_run_end(run)
        finally:
            tracker = self._stack.component("experiment_tracker")
            if tracker is not None:
                self._tell("experiment_tracker", run, lambda: _mirror(self._stack, tracker, run))
            alerter = self._stack.component("alerter")
            if alerter is not None and run.status in ALERTED:
                self._tell("alerter", run, lambda: alerter.post(alert_text(run)))

    def _tell(self, type_: str, run: RunRecord, call: Any) -> None:
        try:
            call()
        except Exception as exc:
            name = self._stack.component_names.get(type_, type_)
            warnings.warn(
                f"the stack's {type_.replace('_', ' ')} {name!r} failed for run {run.name}:"
                f" {type(exc).__name__}: {exc} (the run's outcome is recorded all the same)",
                BevelWarning,
                stacklevel=2,
            )


def _mirror(stack: Stack, tracker: Any, run: RunRecord) -> None:
    store = stack.metadata_store
    if hasattr(tracker, "log_run"):
        links = tracker.log_run(run, store.step_runs(run.id), store.metrics(run.id))
        now = datetime.now(UTC)
        key = str(links.get("key") or "experiment_tracker")
        entries = [MetadataEntry("run", run.id, key, links["run"], now)]
        entries += [
            MetadataEntry("step_run", sid, key, v, now) for sid, v in links["steps"].items()
        ]
        store.log_metadata(entries)
        return
    tracker.log_params(run.id, dict(run.params))
    single: dict[str, float] = {}
    series: dict[int, dict[str, float]] = defaultdict(dict)
    for metric in stack.metadata_store.metrics(run.id):
        if metric.step is None:
            single[metric.key] = metric.value
        else:
            series[metric.step][metric.key] = metric.value
    if single:
        tracker.log_metrics(run.id, single)
    for step in sorted(series):
        tracker.log_metrics(run.id, series[step], step=step)
