"""A run's sweeps, told apart from its planned steps.

A swept step's trials are step runs of the run (``fit.trial-0``, ``fit.trial-1``...) that the
plan does not name: the plan has the swept step once (its step run is the sweep's driver, which
records the best trial's outputs). So ``bevel runs show`` counts the planned steps against the
plan and the trials apart, per swept step, and ``Client().compare(trials=True)`` makes a row of
each trial.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel.authoring.sweep import trial_of
from bevel.client.views import RunView, StepView


def planned(run: RunView) -> list[StepView]:
    """The run's step runs of planned steps (a sweep's driver included, its trials not)."""
    return [s for sid, s in run.steps.items() if trial_of(sid) is None]


@dataclass
class Sweep:
    """The trials of one swept step, with how each ended."""

    step: StepView  # the driver (the swept step's own step run)
    trials: list[StepView] = field(default_factory=list)  # in trial order
    states: Counter[str] = field(default_factory=Counter)  # ran, cached, failed, pruned

    @property
    def summary(self) -> dict[str, Any]:
        found = self.step.metadata.get("sweep")
        return found if isinstance(found, dict) else {}

    @property
    def best_trial(self) -> int | None:
        best = self.summary.get("best_trial")
        return best if isinstance(best, int) else None


def sweeps(run: RunView) -> list[Sweep]:
    """One :class:`Sweep` per swept step of ``run`` that has trials, in plan order."""
    found: dict[str, Sweep] = {}
    for sid, step in run.steps.items():
        of = trial_of(sid)
        if of is None or of[0] not in run.steps:
            continue
        sweep = found.setdefault(of[0], Sweep(run.steps[of[0]]))
        sweep.trials.append(step)
    for sweep in found.values():
        sweep.trials.sort(key=lambda s: trial_of(s.step_id) or ("", 0))
        told = {t.get("step_run"): t for t in sweep.summary.get("trials", ())}
        for trial in sweep.trials:
            sweep.states[_state(trial, told.get(trial.id))] += 1
    return [found[s.step_id] for s in planned(run) if s.step_id in found]


def _state(trial: StepView, told: dict[str, Any] | None) -> str:
    """What the study was told (pruned, failed...), else what the step run says."""
    state = (told or {}).get("state")
    if state == "pruned":
        return "pruned"
    status = trial.status.value
    if status == "cached":
        return "cached"
    if state == "failed" or status in ("failed", "cancelled"):
        return "failed"
    return "ran" if status == "completed" else status
