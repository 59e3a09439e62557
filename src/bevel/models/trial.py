"""``current.trial``: a sweep's trial, inside the step run that is that trial.

``report(value, step)`` logs the sweep's metric at ``step`` (an ordinary metric series of the
trial's step run); ``should_prune()`` asks the sweep's pruner (Optuna's median or percentile
pruner) whether the values reported so far are worse than the other trials' at the same step.

The study lives in the sweep's driver, and a trial may run in another process or on another
machine, so the pruner is asked here on a study rebuilt from the metadata store: the sweep's
other trials that have ended, with the intermediate values they recorded (metric points with a
step). Trials of the same wave, still running, are not seen; Optuna's median pruner works from
ended trials, so the decision is the one it would make with those. Optuna is imported only when
a trial of a sweep with a pruner asks.
"""

from __future__ import annotations

from typing import Any, Literal

from bevel.authoring.sweep import trial_of
from bevel.dag.plan import Plan, StepSpec
from bevel.errors import ConfigError
from bevel.metadata.records import RunRecord, StepStatus
from bevel.stack.stack import Stack

_ENDED = (StepStatus.COMPLETED, StepStatus.CACHED, StepStatus.CANCELLED)


def trial_for(plan: Plan, spec: StepSpec, run: RunRecord, stack: Stack, ctx: Any) -> Trial | None:
    """The :class:`Trial` a step run is, or None when it is not a sweep's trial."""
    of = trial_of(spec.id)
    if of is None:
        return None
    try:
        driver = plan.step(of[0])
    except Exception:  # a step id that merely looks like a trial's
        return None
    if not driver.options.sweep:
        return None
    return Trial(of[0], of[1], driver.options.sweep, run=run, stack=stack, ctx=ctx)


class Trial:
    """What ``current.trial`` is inside a trial step (``number``, ``params``, ``report``,
    ``should_prune``)."""

    def __init__(
        self, step: str, number: int, sweep: dict[str, Any], *, run: RunRecord, stack: Stack,
        ctx: Any,
    ) -> None:  # fmt: skip
        self.step = step  # the swept step's id
        self.number = number
        self.metric: str = sweep["metric"]
        self.direction: str = sweep["direction"]
        self.pruner: dict[str, Any] | None = sweep.get("pruner")
        self.params = {k: v for k, v in ctx.params.items() if k in sweep["space"]}
        self._run = run
        self._stack = stack
        self._ctx = ctx
        self._values: dict[int, float] = {}

    def report(self, value: float, step: int) -> None:
        """An intermediate value of the sweep's metric at ``step`` (an epoch, a round)."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ConfigError(
                f"current.trial.report needs a step that is an integer >= 0, got {step!r}",
                hint="report(value, step=epoch)",
            )
        self._ctx.log_metric(self.metric, value, step)
        self._values[step] = float(value)

    def should_prune(self) -> bool:
        """Whether the pruner stops this trial now (False for a sweep without a pruner, or
        before anything was reported)."""
        if self.pruner is None or not self._values:
            return False
        import optuna  # optional: bevel[optuna]
        from optuna.trial import TrialState, create_trial

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        direction: Literal["minimize", "maximize"] = (
            "minimize" if self.direction == "minimize" else "maximize"
        )
        study = optuna.create_study(direction=direction, pruner=_pruner(self.pruner))
        for state, value, steps in self._others():
            study.add_trial(create_trial(state=state, value=value, intermediate_values=steps))
        me = create_trial(state=TrialState.RUNNING, intermediate_values=dict(self._values))
        return bool(study.pruner.prune(study, me))

    def _others(self) -> list[tuple[Any, float | None, dict[int, float]]]:
        """(state, final value, intermediate values) of the sweep's other ended trials."""
        from optuna.trial import TrialState

        store = self._stack.metadata_store
        mine = self._ctx.step_run_id
        ended = {
            r.id: r
            for r in store.step_runs(self._run.id)
            if r.id != mine
            and r.status in _ENDED
            and (trial_of(r.step_id) or ("",))[0] == self.step
        }
        sources = {sid: r.cached_from or sid for sid, r in ended.items()}
        points: dict[str, dict[int, float]] = {sid: {} for sid in ended}
        final: dict[str, float] = {}
        by_source = {src: sid for sid, src in sources.items()}
        for m in store.step_details(list(set(sources.values()))).metrics:
            sid = by_source.get(m.step_run_id or "")
            if sid is None or m.key != self.metric:
                continue
            if m.step is None:
                final[sid] = m.value
            else:
                points[sid][m.step] = m.value
        out: list[tuple[Any, float | None, dict[int, float]]] = []
        for sid, record in ended.items():
            steps = points[sid]
            if record.status is StepStatus.CANCELLED:
                if steps:
                    out.append((TrialState.PRUNED, None, steps))
                continue
            value = final.get(sid, steps[max(steps)] if steps else None)
            if value is not None:
                out.append((TrialState.COMPLETE, value, steps))
        return out

    def __repr__(self) -> str:
        return f"<current.trial {self.number} of sweep '{self.step}': {self.params}>"


def _pruner(spec: dict[str, Any]) -> Any:
    import optuna

    args = {k: v for k, v in spec.items() if k != "name"}
    if spec["name"] == "percentile":
        return optuna.pruners.PercentilePruner(**args)
    return optuna.pruners.MedianPruner(**args)


def not_a_trial(step_id: str) -> ConfigError:
    return ConfigError(
        f"step '{step_id}' is not a trial of a sweep, so current.trial is not available",
        hint="sweep the step: step.sweep(space, n_trials=..., metric=..., pruner='median')",
    )
