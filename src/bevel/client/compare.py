"""Comparing runs side by side: parameters, metrics and durations, as a table and a report.

``Client().compare(runs)`` gives a pandas DataFrame with one row per run (indexed by run name),
named as :meth:`RunList.to_pandas` names them: ``pipeline``, ``status``, ``created``, ``duration``
(seconds), ``params.<name>`` for the pipeline's parameters (nested dicts flattened with dots),
``steps.<step>.<name>`` for the step parameters that are not simply a pipeline parameter passed
down, ``metrics.<key>`` for the last value of each metric, and ``duration.<step>`` (seconds).
A sweep's trials are not steps of the plan: the swept step shows the best trial's parameters,
and with ``trials=True`` each trial is a row of its own after its run's (``<run>/fit.trial-3``:
the trial's parameters under ``steps.fit.*``, its metrics, the objective among them, under
``metrics.*``, its status and duration), so trials line up with runs side by side.
``Client().compare_report(runs)`` (:mod:`bevel.client.compare_report`) adds the charts.

Reading a run costs what its view costs (its steps, their inputs and outputs, its metrics: four
queries); runs are compared by the handful, not by the thousand.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel.client.lists import flatten
from bevel.client.sweeps import planned, sweeps
from bevel.client.views import RunView, StepView
from bevel.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from bevel.client.client import Client

IDENTITY = ("pipeline", "status", "created", "duration")


@dataclass
class RunFacts:
    """What is compared of one run, or of one trial of a run's sweep (``trial`` set)."""

    run: RunView
    params: dict[str, Any] = field(default_factory=dict)  # "params.C" / "steps.fit.seed" -> value
    metrics: dict[str, float] = field(default_factory=dict)  # "accuracy" -> 0.93 (last value)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # key -> (x, y)
    durations: dict[str, float | None] = field(default_factory=dict)  # step id -> seconds
    trial: StepView | None = None  # the trial's step run, for a trial's row

    @property
    def name(self) -> str:
        """The row's name: the run's, ``<run>/<trial step id>`` for a trial."""
        return self.run.name if self.trial is None else f"{self.run.name}/{self.trial.step_id}"

    @property
    def identity(self) -> dict[str, Any]:
        who = self.trial
        if who is None:
            run = self.run
            return {"pipeline": run.pipeline, "status": run.status.value,
                    "created": run.created, "duration": run.duration}  # fmt: skip
        return {"pipeline": self.run.pipeline, "status": who.status.value,
                "created": who.started, "duration": who.duration}  # fmt: skip


def resolve(client: Client, runs: Iterable[RunView | str]) -> list[RunView]:
    """Run views for names, ids, id prefixes or views, in the given order, without repeats."""
    seen: dict[str, RunView] = {}
    for item in runs:
        view = item if isinstance(item, RunView) else client.get_run(str(item))
        seen.setdefault(view.id, view)
    if not seen:
        raise ConfigError(
            "compare: no runs given",
            hint="name the runs, e.g. Client().compare(['run-a', 'run-b']), or pass a list: "
            "Client().compare(Client().runs(pipeline='training', limit=5))",
        )
    return list(seen.values())


def gather(
    client: Client, runs: Iterable[RunView | str], *, trials: bool = False
) -> list[RunFacts]:
    """The facts of each run; with ``trials``, each run's sweep trials follow it, one each."""
    out = []
    for view in resolve(client, runs):
        out.append(facts_of(view))
        if trials:
            out += [trial_facts(view, s.step, t) for s in sweeps(view) for t in s.trials]
    return out


def facts_of(view: RunView) -> RunFacts:
    """A run's row. A sweep counts once: its driver's parameters are the best trial's, and the
    trials are rows of their own (``trials=True``), not a column per trial."""
    out = RunFacts(run=view, metrics=dict(view.metrics))
    for name, value in flatten(view.params).items():
        out.params[f"params.{name}"] = value
    for step in planned(view):
        _step_params(out, view, step.step_id, step)
        out.durations[step.step_id] = step.duration
    for key, series in view.metric_series.items():
        if len(series) > 1:  # x: the step the user gave, else the logging order
            out.series[key] = sorted(
                (float(p.step) if p.step is not None else float(i), p.value)
                for i, p in enumerate(series.points)
            )
    return out


def trial_facts(view: RunView, driver: StepView, trial: StepView) -> RunFacts:
    """A trial's row: its parameters in the columns of its swept step's, its metrics (the
    objective among them) in the run's metric columns."""
    out = RunFacts(run=view, metrics=dict(trial.metrics), trial=trial)
    for name, value in flatten(view.params).items():
        out.params[f"params.{name}"] = value
    _step_params(out, view, driver.step_id, trial)
    out.durations[driver.step_id] = trial.duration
    return out


def _step_params(out: RunFacts, view: RunView, step_id: str, step: StepView) -> None:
    for name, value in sorted(step.params.items()):
        if name in view.params and _key(view.params[name]) == _key(value):
            continue  # the pipeline parameter, passed down
        out.params[f"steps.{step_id}.{name}"] = value


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def frame(facts: Sequence[RunFacts]) -> pd.DataFrame:
    """The comparison table: one row per run (see the module docstring)."""
    try:
        import pandas as pd  # optional dependency, imported on use
    except ImportError as exc:
        raise ConfigError(
            "comparing runs as a table needs pandas", hint="pip install 'bevel[pandas]'"
        ) from exc
    param_cols = ordered_keys(f.params for f in facts)
    metric_cols = ordered_keys(f.metrics for f in facts)
    step_cols = ordered_keys(f.durations for f in facts)
    rows = []
    for f in facts:
        row: dict[str, Any] = dict(f.identity)
        row.update({c: f.params.get(c) for c in param_cols})
        row.update({f"metrics.{k}": f.metrics.get(k) for k in metric_cols})
        row.update({f"duration.{s}": f.durations.get(s) for s in step_cols})
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index([f.name for f in facts], name="run"))


def ordered_keys(dicts: Iterable[dict[str, Any]]) -> list[str]:
    """The keys of several dicts, each once, in first-seen order."""
    keys: dict[str, None] = {}
    for d in dicts:
        for k in d:
            keys.setdefault(k, None)
    return list(keys)


def differing(table: pd.DataFrame) -> list[str]:
    """The columns whose values are not all the same. ``created`` and the durations are left
    out: they always differ."""
    result = []
    for column in table.columns:
        name = str(column)
        if name in ("created", "duration") or name.startswith("duration."):
            continue
        if len({_key(_missing_as_none(v)) for v in table[column].tolist()}) > 1:
            result.append(name)
    return result


_LOWER_IS_BETTER = re.compile(
    r"(?:^|[^a-z])(loss|logloss|error|err|mse|rmse|mae|mape|smape|perplexity|latency|cost|wer|cer"
    r"|regret)(?:$|[^a-z])"
)


def lower_is_better(metric: str) -> bool:
    """Whether the smaller value of ``metric`` is the better one, judged by its name: losses,
    errors and costs (``loss``, ``val_loss``, ``train/mse``, ``error_rate``, ``latency_ms``).
    The charts mark the best run with it; everything else counts as higher-is-better."""
    return bool(_LOWER_IS_BETTER.search(metric.lower()))


def _missing_as_none(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value
