"""Hyper-parameter sweeps on Optuna: ``train.sweep(space, n_trials=20, metric="accuracy")``.

A swept step is one step of the plan (its id, say ``train``) that runs as many *trials*: each
trial is a step run of its own (``train.trial-0``, ``train.trial-1``...) with the trial's
parameters, its own cache key and its own record (logs, metrics, outputs), visible in ``bevel
runs show`` and in run comparison. The swept step's own step run ``train`` then carries the
best trial's outputs (as lineage, not copies), the study in its metadata (``sweep``: every
trial's parameters, value and state, the best one) and the best value as its metric; steps
downstream of ``train`` get the best trial's outputs.

**Parallel and deterministic.** Trials are asked from the study in waves of ``parallel``,
submitted to the active orchestrator's executor (inline on ``local``: one after the other;
threads or processes on a parallel orchestrator), and told back in trial order once the wave
has ended. With a seed (the default is 0) the sampler therefore suggests the same parameters
whenever the results are the same, so a re-run suggests exactly the trials of the first run and
every one of them is a cache hit: a re-run is fully cached. A trial that fails is told to Optuna
as failed (the sampler avoids its region) and the sweep goes on; the swept step fails only when
no trial succeeds.

The metric a trial is judged on is the last value it logged with ``log_metric(metric, ...)``,
else its output of that name (a number).
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import Executor, Future
from dataclasses import asdict, field, replace
from datetime import UTC, datetime
from typing import Any

import optuna

from bevel._dataclass import dataclass
from bevel.artifacts.publish import load_recorded
from bevel.authoring.sweep import trial_id
from bevel.dag.plan import Plan, StepSpec
from bevel.errors import StepFailed, TrialPruned
from bevel.metadata.records import (
    MetadataEntry,
    MetricRecord,
    RunRecord,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.run import shipping
from bevel.run.task import StepInputs, StepOutcome, new_id, run_step
from bevel.run.worker import StackRef, StepTask, run_recorded, worker_stack
from bevel.settings import load_settings
from bevel.stack.stack import Stack

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _sampler(options: dict[str, Any]) -> optuna.samplers.BaseSampler:
    seed = options.get("seed")
    name = options["sampler"]
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed)
    if name == "grid":
        grid: dict[str, list[Any]] = {}
        for pname, spec in options["space"].items():
            if spec["kind"] == "categorical":
                grid[pname] = list(spec["choices"])
            elif spec["kind"] == "int":
                grid[pname] = list(range(spec["low"], spec["high"] + 1, int(spec.get("step", 1))))
            else:
                raise StepFailed(
                    f"the grid sampler needs a list of values for {pname!r}, not a float range",
                    step="sweep",
                    hint=f'give the values to try: "{pname}": [0.01, 0.1, 1.0]',
                )
        return optuna.samplers.GridSampler(grid, seed=seed)
    # multivariate TPE (the default, seeded); Optuna calls the option experimental
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)


def _suggest(trial: optuna.Trial, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if spec["kind"] == "categorical":
            params[name] = trial.suggest_categorical(name, spec["choices"])
        elif spec["kind"] == "int":
            params[name] = trial.suggest_int(
                name, spec["low"], spec["high"], step=int(spec.get("step", 1)), log=spec["log"]
            )
        else:
            params[name] = trial.suggest_float(
                name, float(spec["low"]), float(spec["high"]), step=spec.get("step"),
                log=spec["log"],
            )  # fmt: skip
    return params


@dataclass(frozen=True)
class TrialTask(StepTask):
    """A trial as it crosses to another process: a step task plus the trial's own spec (the
    plan the worker reads from the run record has the swept step, not its trials)."""

    spec: dict[str, Any] = field(default_factory=dict)


def run_trial(task: TrialTask, *, worker: str | None = None) -> StepOutcome:
    """Run one trial on a worker (the function out-of-process orchestrators are given;
    ``worker`` names a Dask worker, as for :func:`~bevel.run.worker.run_task`)."""
    stack = worker_stack(task.stack)
    run = stack.metadata_store.get_run(task.run_id)
    plan = Plan.from_dict(run.plan)
    spec = Plan.from_dict({**run.plan, "steps": [task.spec]}).steps[0]
    return run_recorded(stack, replace(plan, steps=(*plan.steps, spec)), run, task, worker=worker)


def shipped_code(stack: Stack, run: RunRecord, plan: Plan) -> shipping.CodeRef | None:
    """The project source the engine shipped for this run (run metadata ``code.archive``),
    for trials on workers that import the step from it (Dask); None when nothing was shipped."""
    if not getattr(stack.orchestrator, "ships_code", False):
        return None
    digest = stack.metadata_store.get_metadata("run", run.id).get("code.archive")
    if not isinstance(digest, str):
        return None
    root = shipping.code_root(load_settings().project_root, plan.file)
    return shipping.CodeRef(digest, shipping.archive_path(digest), str(root))


def run_sweep(
    plan: Plan,
    spec: StepSpec,
    *,
    run: RunRecord,
    stack: Stack,
    inputs: StepInputs,
    definition: Any,
    step_run_id: str,
) -> StepOutcome:
    """Run the sweep of ``spec`` (see the module docstring) and record its step run."""
    options = spec.options.sweep or {}
    store = stack.metadata_store
    base = StepRunRecord(
        id=step_run_id,
        run_id=run.id,
        step_id=spec.id,
        step_name=spec.name,
        status=StepStatus.RUNNING,
        started=datetime.now(UTC),
        params=spec.params,
        code_hash=spec.code_hash,
    )
    store.start_step_run(base)
    study = optuna.create_study(direction=options["direction"], sampler=_sampler(options))
    trial_spec = replace(spec, options=replace(spec.options, sweep=None, kind=""))
    outcomes: dict[int, StepOutcome] = {}
    trials: list[dict[str, Any]] = []
    code = shipped_code(stack, run, plan)
    executor = stack.orchestrator.executor()
    try:
        while len(trials) < options["n_trials"]:
            wave = min(options["parallel"], options["n_trials"] - len(trials))
            asked = [study.ask() for _ in range(wave)]
            futures = []
            for trial in asked:
                params = _suggest(trial, options["space"])
                one = replace(
                    trial_spec, id=trial_id(spec.id, trial.number), params={**spec.params, **params}
                )
                futures.append(
                    (
                        trial,
                        params,
                        _submit(executor, plan, one, run, stack, inputs, definition, code),
                    )
                )
            for trial, params, future in futures:  # told in trial order: deterministic
                outcome = future.result()
                outcomes[trial.number] = outcome
                state, value = _tell(study, trial, stack, outcome, options["metric"])
                trials.append(
                    {
                        "number": trial.number,
                        "params": params,
                        "value": value,
                        "state": state,
                        "step_run": outcome.step_run.id,
                        "cached": outcome.step_run.status is StepStatus.CACHED,
                    }
                )
    except BaseException as exc:
        _end(
            store,
            base,
            StepStatus.CANCELLED if isinstance(exc, KeyboardInterrupt) else StepStatus.FAILED,
            f"the sweep stopped: {type(exc).__name__}: {exc}",
        )
        raise
    finally:
        executor.shutdown(wait=True)
    good = [t for t in trials if t["state"] == "complete"]
    if not good:
        error = StepFailed(
            f"every one of the {len(trials)} trials of sweep '{spec.id}' failed"
            if all(t["state"] == "failed" for t in trials)
            else f"none of the {len(trials)} trials of sweep '{spec.id}' completed "
            f"({_tally(trials)})",
            step=spec.id,
            where=spec.where,
            hint=f"see a trial's error: bevel runs show {run.name} (steps {trial_id(spec.id, 0)}, ...)",
        )
        record = _end(store, base, StepStatus.FAILED, str(error), trials=trials)
        return StepOutcome(record, {}, {}, error)
    best = study.best_trial
    best_value = float(best.values[0])
    chosen = outcomes[best.number]
    summary = {
        "metric": options["metric"],
        "direction": options["direction"],
        "sampler": options["sampler"],
        "seed": options.get("seed"),
        "best_trial": best.number,
        "best_params": dict(best.params),
        "best_value": best_value,
        "trials": trials,
    }
    ended = datetime.now(UTC)
    # the swept step's record shows the parameters its outputs were made with: the best trial's
    record = replace(
        base, status=StepStatus.COMPLETED, ended=ended, params={**spec.params, **best.params}
    )
    store.finish_step_run(
        StepCompletion(
            step_run=record,
            reused_outputs=tuple((name, art.id) for name, art in chosen.outputs.items()),
            inputs=tuple((name, art.id) for name, art in inputs.artifacts.items()),
            metrics=(MetricRecord(run.id, record.id, options["metric"], best_value, None, ended),),
            metadata=(MetadataEntry("step_run", record.id, "sweep", summary, ended),),
        )
    )
    return StepOutcome(record, dict(chosen.outputs), dict(chosen.objects), None)


def _end(
    store: Any,
    base: StepRunRecord,
    status: StepStatus,
    error: str,
    trials: list[dict[str, Any]] | None = None,
) -> StepRunRecord:
    record = replace(base, status=status, ended=datetime.now(UTC), error=error)
    metadata: tuple[MetadataEntry, ...] = ()
    if trials is not None:
        metadata = (
            MetadataEntry(
                "step_run",
                record.id,
                "sweep",
                {"trials": trials},
                record.ended or datetime.now(UTC),
            ),
        )
    store.finish_step_run(StepCompletion(step_run=record, metadata=metadata))
    return record


def _submit(
    executor: Executor,
    plan: Plan,
    spec: StepSpec,
    run: RunRecord,
    stack: Stack,
    inputs: StepInputs,
    definition: Any,
    code: shipping.CodeRef | None,
) -> Future[StepOutcome]:
    step_run_id = new_id()
    if stack.orchestrator.in_process:
        with_trial = replace(plan, steps=(*plan.steps, spec))
        return executor.submit(
            run_step, with_trial, spec.id, run=run, stack=stack, inputs=inputs,
            definition=definition, step_run_id=step_run_id,
        )  # fmt: skip
    task = TrialTask(
        run_id=run.id,
        step_id=spec.id,
        step_run_id=step_run_id,
        stack=StackRef.of(stack, load_settings()),
        inputs=dict(inputs.artifacts),
        resources=dict(spec.options.resources),
        timeout=spec.options.timeout,
        code=code,
        spec=asdict(spec),
    )
    return executor.submit(run_trial, task)


def _tell(
    study: optuna.Study, trial: optuna.Trial, stack: Stack, outcome: StepOutcome, metric: str
) -> tuple[str, float | None]:
    """Tell the study how a trial ended: complete (its objective), pruned (the intermediate
    values it reported, then PRUNED) or failed. Returns the state and value recorded."""
    if isinstance(outcome.error, TrialPruned):
        steps = _reported(stack, outcome, metric)
        for step, point in sorted(steps.items()):
            trial.report(point, step)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return "pruned", steps[max(steps)] if steps else None
    value = _value(stack, outcome, metric) if outcome.ok else None
    if value is None:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return "failed", None
    study.tell(trial, value)
    return "complete", value


def _reported(stack: Stack, outcome: StepOutcome, metric: str) -> dict[int, float]:
    """The intermediate values a trial reported (``metric`` points with a step)."""
    source = outcome.step_run.id
    return {
        p.step: p.value
        for p in stack.metadata_store.step_details([source]).metrics
        if p.key == metric and p.step_run_id == source and p.step is not None
    }


def _tally(trials: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for t in trials:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def _value(stack: Stack, outcome: StepOutcome, metric: str) -> float | None:
    """The trial's objective: the last ``metric`` it logged, else its output of that name."""
    source = outcome.step_run.cached_from or outcome.step_run.id
    found = None
    for point in stack.metadata_store.step_details([source]).metrics:
        if point.key == metric and point.step_run_id == source:
            found = point.value
    if found is None and metric in outcome.outputs:
        art = outcome.outputs[metric]
        if metric in outcome.objects:
            found = outcome.objects[metric]
        else:
            found = load_recorded(stack.artifact_store, art)
    if isinstance(found, bool) or not isinstance(found, int | float) or not math.isfinite(found):
        return None
    return float(found)
