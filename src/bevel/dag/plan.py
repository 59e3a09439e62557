"""The Plan: a compiled pipeline as pure, JSON-serialisable data.

A Plan is what the engine runs and what a remote worker receives (by reference). It holds no
Python objects from user code: functions are named by ``"module:qualname"`` and imported where the
step runs.

Example (what ``plan.to_dict()`` looks like, abridged)::

    {"format": 1, "pipeline": "training", "params": {"C": 0.5},
     "steps": [{"id": "load", "name": "load", "source": "pipe:load", "params": {"n_rows": 1000},
                "inputs": {}, "after": [], "outputs": [{"name": "output", ...}], ...}, ...]}
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import field, fields, is_dataclass, replace
from datetime import timedelta
from typing import Any

from bevel._dataclass import dataclass

PLAN_FORMAT = 1


@dataclass(frozen=True)
class ArtifactInput:
    """An input fed by another step's output."""

    step: str  # producer step id
    output: str  # producer output name


@dataclass(frozen=True)
class OutputSpec:
    """One named output of a step and how it is materialized."""

    name: str
    type_ref: str  # "module:qualname" of the annotated type, or "" when unannotated
    materializer: str  # "module:Class" of the materializer chosen at compile time
    materializer_version: str
    pickle: bool = False  # explicit opt-in, recorded with the Python version
    # A step is mapped over this output (``step.map(it)``): each element is saved too, as the
    # output ``name[i]``, so that every mapped call has its own input artifact (and cache key).
    elements: bool = False


@dataclass(frozen=True)
class StepOptions:
    """Options of one step invocation that the engine acts on."""

    retries: int = 0
    retry_delay: float = 1.0  # seconds before the first retry, doubled each time (backoff)
    enable_cache: bool = True
    visualize: bool = True  # produce the outputs' visualizations when saving them
    on_success: str | None = None  # "module:qualname" of a keyword-only hook
    on_failure: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)  # e.g. {"gpu": 1}; for orchestrators
    # "module:qualname" of a keyword-only hook whose JSON result is an extra cache-key
    # ingredient (``@step(cache_key=...)``, like Prefect's cache_key_fn).
    cache_key: str | None = None
    # Seconds after which a cached result is not reused any more (``@step(cache_expiration=)``).
    cache_expiration: float | None = None
    # "trainer" / "evaluator" (``@trainer``, ``@evaluator``): what the model control plane does
    # with the step's outcome; "" for a plain step.
    kind: str = ""
    # The id of the model version an inference pipeline uses (``Model(version=...)``), set
    # when the run starts: part of the cache key, so results made with another version are
    # not reused.
    model_version: str | None = None
    # A hyper-parameter sweep (``step.sweep(...)``): space, n_trials, metric, direction,
    # parallel, sampler, seed. The step runs as trials (bevel.integrations.optuna).
    sweep: dict[str, Any] | None = None
    timeout: float | None = None  # seconds; the orchestrator stops the step past it


def expiration_seconds(value: float | timedelta | None) -> float | None:
    """``cache_expiration`` (seconds or a ``timedelta``, checked by ``@step``) as seconds."""
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True)
class StepSpec:
    """One step invocation in a plan (the same function invoked twice gives two StepSpecs)."""

    id: str  # unique in the plan: "train", "train_2", ...
    name: str  # the step function's name
    source: str  # "module:qualname" used to import the function where it runs
    file: str  # the user's file and line of the definition (for errors)
    line: int
    call_file: str  # where the step was invoked inside the pipeline body
    call_line: int
    code_hash: str  # fingerprint of the function and the local helpers it calls
    params: dict[str, Any]  # JSON literals
    inputs: dict[str, ArtifactInput]  # argument name -> producer output
    after: tuple[str, ...]  # ordering-only upstream step ids (from after=)
    outputs: tuple[OutputSpec, ...]
    options: StepOptions = field(default_factory=StepOptions)
    # The function returns a tuple with one value per output (``-> tuple[...]``), as opposed to
    # one value for its single output. Decided by the annotation, not by the output names.
    returns_tuple: bool = False
    # Parameters that name external files or folders (bevel.ExternalPath): name -> "content" or
    # "mtime", how their fingerprint for the cache key is taken (see bevel.authoring.external).
    externals: dict[str, str] = field(default_factory=dict)
    # ``step.map(...)``: argument -> the list it is mapped over (a step's list output, or an
    # output of another mapped step). The engine runs one instance ``id[i]`` per element.
    map_over: dict[str, ArtifactInput] = field(default_factory=dict)
    # Fan-in of a mapped step: argument -> its output; the argument receives them all, in order.
    gather: dict[str, ArtifactInput] = field(default_factory=dict)
    # Arguments that receive a list assembled from the inputs ``name[0]``, ``name[1]``...: a
    # literal list of step outputs (``select([a, b, c])``) and every ``gather`` argument.
    lists: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """``file:line`` of the step's definition, for errors."""
        return f"{self.file}:{self.line}"

    @functools.cached_property
    def upstream(self) -> tuple[str, ...]:
        """Every step this one waits for, inputs first, without duplicates (computed once:
        the scheduler asks for it every time it looks for steps that are ready)."""
        seen: dict[str, None] = {}
        for ref in (*self.inputs.values(), *self.map_over.values(), *self.gather.values()):
            seen[ref.step] = None
        for sid in self.after:
            seen[sid] = None
        return tuple(seen)


@dataclass(frozen=True)
class Plan:
    """A compiled pipeline: steps in a valid execution (topological) order."""

    pipeline: str
    params: dict[str, Any]
    steps: tuple[StepSpec, ...]
    run_name: str | None = None
    enable_cache: bool = True
    source: str = ""  # "module:qualname" of the pipeline function
    file: str = ""
    code_fingerprint: str = ""  # hash over every step's code_hash
    config: dict[str, Any] = field(default_factory=dict)  # the run config as given (for the record)
    # The pipeline's model (``Model.to_dict()``); for an inference pipeline, ``resolved`` is
    # added when the run starts: the id and number of the version it uses.
    model: dict[str, Any] | None = None
    format: int = PLAN_FORMAT

    def step(self, step_id: str) -> StepSpec:
        """The step ``step_id``; for a mapped step's call ``"evaluate[3]"``, its instance."""
        found = self._by_id.get(step_id)
        if found is not None:
            return found
        base, index = split_instance(step_id)
        if index is not None:
            for spec in self.steps:
                if spec.id == base and spec.map_over:
                    return instance(spec, index, {s.id for s in self.steps if s.map_over})
        raise KeyError(step_id)

    @functools.cached_property
    def _by_id(self) -> dict[str, StepSpec]:
        """Step id -> step (run_step looks its step up once per step run)."""
        index: dict[str, StepSpec] = {}
        for spec in self.steps:
            index.setdefault(spec.id, spec)
        return index

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict(self)``, ~10x faster on a plan of 100 steps (it is built for
        every run; ``asdict`` deep-copies every leaf value one call at a time)."""
        result: dict[str, Any] = _plain(self)
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        steps = tuple(
            StepSpec(
                **{
                    **s,
                    "inputs": {k: ArtifactInput(**v) for k, v in s["inputs"].items()},
                    "map_over": {k: ArtifactInput(**v) for k, v in s.get("map_over", {}).items()},
                    "gather": {k: ArtifactInput(**v) for k, v in s.get("gather", {}).items()},
                    "lists": tuple(s.get("lists", ())),
                    "after": tuple(s["after"]),
                    "outputs": tuple(OutputSpec(**o) for o in s["outputs"]),
                    "options": StepOptions(**s["options"]),
                }
            )
            for s in data["steps"]
        )
        return cls(**{**data, "steps": steps})


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """What ``dataclasses.asdict`` makes of ``value``: dataclasses as dicts, containers copied
    (tuples stay tuples), other values deep-copied."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(kind):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return kind(_plain(v) for v in value)
    return copy.deepcopy(value)  # what asdict does with any other value


_INSTANCE = re.compile(r"^(?P<base>.+)\[(?P<index>\d+)\]$")


def split_instance(name: str) -> tuple[str, int | None]:
    """``"evaluate[3]"`` -> ``("evaluate", 3)``; a plain name -> ``(name, None)``."""
    found = _INSTANCE.match(name)
    if found is None:
        return name, None
    return found["base"], int(found["index"])


def element(name: str, index: int) -> str:
    """The name of element ``index`` of ``name``: ``models[2]``, ``evaluate[2]``."""
    return f"{name}[{index}]"


def instance(spec: StepSpec, index: int, mapped: set[str]) -> StepSpec:
    """Call ``index`` of the mapped step ``spec``: its mapped arguments become ordinary inputs,
    the element ``index`` of a list output (``models[3]``) or the output of the producer's own
    call ``index`` when the producer is mapped too (``train[3]``). ``mapped`` holds the ids of
    the plan's mapped steps."""
    inputs = dict(spec.inputs)
    for arg, ref in spec.map_over.items():
        if ref.step in mapped:
            inputs[arg] = ArtifactInput(element(ref.step, index), ref.output)
        else:
            inputs[arg] = ArtifactInput(ref.step, element(ref.output, index))
    return replace(spec, id=element(spec.id, index), inputs=inputs, map_over={})


def fold_lists(spec: StepSpec, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the inputs ``name[0]``, ``name[1]``... of each list argument of ``spec``
    gathered into one list under ``name``, in index order (empty when there are none)."""
    if not spec.lists:
        return values
    out = dict(values)
    found: dict[str, dict[int, Any]] = {name: {} for name in spec.lists}
    for key, value in values.items():
        base, index = split_instance(key)
        if index is not None and base in found:
            found[base][index] = value
            del out[key]
    for name, items in found.items():
        out[name] = [items[i] for i in sorted(items)]
    return out
