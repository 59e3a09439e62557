"""Hyper-parameter sweeps as data: what ``step.sweep(...)`` records for the compiler.

A search space is a dict of plain literals, one entry per step parameter::

    {"C": {"low": 1e-3, "high": 10.0, "log": True},   # a float range (log scale)
     "max_depth": (2, 8),                             # integers 2..8 (a tuple of two ints)
     "alpha": (0.0, 1.0),                             # floats (a tuple with a float)
     "penalty": ["l1", "l2"]}                         # one of these values

so that the sweep is JSON in the plan and its content is in the cache key. Pure (no Optuna
here): :mod:`bevel.integrations.optuna` runs it.
"""

from __future__ import annotations

from typing import Any

from bevel.errors import DefinitionError

SAMPLERS = ("tpe", "random", "grid", "qmc")
#: Pruners (Optuna's, judged from the other trials' reported values, so a trial on any worker
#: can ask): name -> the arguments it accepts.
PRUNERS = {
    "median": ("n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"),
    "percentile": ("percentile", "n_startup_trials", "n_warmup_steps", "interval_steps",
                   "n_min_trials"),
}  # fmt: skip
#: A trial's step run is ``<swept step id>.trial-<number>`` (``fit.trial-3``).
TRIAL_MARK = ".trial-"
DIRECTIONS = ("maximize", "minimize")
_EXAMPLE = (
    'e.g. {"C": {"low": 1e-3, "high": 10.0, "log": True}, "depth": (2, 8), "penalty": ["l1", "l2"]}'
)


def trial_id(step_id: str, number: int) -> str:
    """The step id of trial ``number`` of the sweep of step ``step_id``."""
    return f"{step_id}{TRIAL_MARK}{number}"


def trial_of(step_id: str) -> tuple[str, int] | None:
    """``("fit", 3)`` for the step run of a trial (``fit.trial-3``); None for other steps."""
    base, mark, number = step_id.rpartition(TRIAL_MARK)
    return (base, int(number)) if mark and base and number.isdigit() else None


def _range(name: str, low: Any, high: Any, log: bool, step: Any, where: str) -> dict[str, Any]:
    numbers = (int, float)
    if (
        isinstance(low, bool)
        or isinstance(high, bool)
        or not (isinstance(low, numbers) and isinstance(high, numbers))
    ):
        raise DefinitionError(
            f"sweep space {name!r}: low and high must be numbers, got {low!r} and {high!r}",
            where=where,
            hint=_EXAMPLE,
        )
    if not low < high:
        raise DefinitionError(
            f"sweep space {name!r}: low ({low}) must be below high ({high})", where=where
        )
    if log and low <= 0:
        raise DefinitionError(
            f"sweep space {name!r}: a log range needs low > 0, got {low}",
            where=where,
            hint="start the range above zero, e.g. low=1e-4",
        )
    kind = (
        "int"
        if isinstance(low, int) and isinstance(high, int) and not isinstance(step, float)
        else "float"
    )
    spec: dict[str, Any] = {"kind": kind, "low": low, "high": high, "log": bool(log)}
    if step is not None:
        spec["step"] = step
    return spec


def normalise_space(space: Any, where: str) -> dict[str, dict[str, Any]]:
    """The space as JSON: ``{name: {"kind": "float"|"int", low, high, log[, step]} |
    {"kind": "categorical", "choices": [...]}}``; a clear error for anything else."""
    if not isinstance(space, dict) or not space:
        raise DefinitionError(
            f"a sweep needs a non-empty dict of parameter -> range, got {space!r}",
            where=where,
            hint=_EXAMPLE,
        )
    out: dict[str, dict[str, Any]] = {}
    for name, value in space.items():
        if not isinstance(name, str):
            raise DefinitionError(
                f"sweep space keys are parameter names, got {name!r}", where=where
            )
        if isinstance(value, tuple) and len(value) == 2:
            out[name] = _range(name, value[0], value[1], False, None, where)
        elif isinstance(value, dict) and {"low", "high"} <= set(value):
            unknown = set(value) - {"low", "high", "log", "step"}
            if unknown:
                raise DefinitionError(
                    f"sweep space {name!r}: unknown key(s) {sorted(unknown)}",
                    where=where,
                    hint="a range takes low, high, log and step",
                )
            out[name] = _range(
                name, value["low"], value["high"], bool(value.get("log")), value.get("step"),
                where,
            )  # fmt: skip
        elif isinstance(value, list) and value:
            if not all(v is None or isinstance(v, bool | int | float | str) for v in value):
                raise DefinitionError(
                    f"sweep space {name!r}: choices must be numbers, strings, booleans or None",
                    where=where,
                )
            out[name] = {"kind": "categorical", "choices": list(value)}
        else:
            raise DefinitionError(
                f"sweep space {name!r}: {value!r} is not a range or a list of choices",
                where=where,
                hint=_EXAMPLE,
            )
    return out


def sweep_options(
    space: Any,
    *,
    n_trials: int,
    metric: str,
    direction: str,
    parallel: int,
    sampler: str,
    seed: int | None,
    where: str,
    pruner: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything about a sweep, checked, as the JSON the plan records."""
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise DefinitionError(f"n_trials must be a positive integer, got {n_trials!r}", where=where)
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
        raise DefinitionError(f"parallel must be a positive integer, got {parallel!r}", where=where)
    if not isinstance(metric, str) or not metric:
        raise DefinitionError(
            "a sweep needs the metric it optimises: metric='accuracy'",
            where=where,
            hint="the swept step logs it with log_metric('accuracy', value), or returns an "
            "output of that name",
        )
    if direction not in DIRECTIONS:
        raise DefinitionError(
            f"direction must be 'maximize' or 'minimize', got {direction!r}", where=where
        )
    if sampler not in SAMPLERS:
        raise DefinitionError(
            f"unknown sampler {sampler!r}", where=where, hint=f"use one of: {', '.join(SAMPLERS)}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise DefinitionError(f"seed must be an integer or None, got {seed!r}", where=where)
    options = {
        "space": normalise_space(space, where),
        "n_trials": n_trials,
        "metric": metric,
        "direction": direction,
        "parallel": parallel,
        "sampler": sampler,
        "seed": seed,
    }
    if pruner is not None:  # only then: the plans of sweeps without one stay as they were
        options["pruner"] = _pruner(pruner, where)
    return options


def _pruner(pruner: Any, where: str) -> dict[str, Any]:
    """``"median"`` or ``{"name": "percentile", "percentile": 25.0, ...}``, checked."""
    spec = {"name": pruner} if isinstance(pruner, str) else pruner
    example = "e.g. pruner='median' or pruner={'name': 'median', 'n_warmup_steps': 2}"
    if not isinstance(spec, dict) or spec.get("name") not in PRUNERS:
        raise DefinitionError(
            f"unknown pruner {pruner!r}", where=where,
            hint=f"use one of: {', '.join(PRUNERS)} ({example})",
        )  # fmt: skip
    allowed = PRUNERS[spec["name"]]
    for key, value in spec.items():
        if key == "name":
            continue
        if key not in allowed:
            raise DefinitionError(
                f"pruner {spec['name']!r} has no argument {key!r}", where=where,
                hint=f"its arguments: {', '.join(allowed)}",
            )  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DefinitionError(
                f"pruner argument {key!r} must be a number, got {value!r}", where=where
            )
    if spec["name"] == "percentile" and "percentile" not in spec:
        raise DefinitionError(
            "pruner 'percentile' needs its percentile", where=where,
            hint="e.g. pruner={'name': 'percentile', 'percentile': 25.0}",
        )  # fmt: skip
    return dict(spec)
