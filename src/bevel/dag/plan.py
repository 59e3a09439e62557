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

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

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


@dataclass(frozen=True)
class StepOptions:
    """Options of one step invocation that the engine acts on."""

    retries: int = 0
    retry_delay: float = 1.0  # seconds before the first retry, doubled each time (backoff)
    enable_cache: bool = True
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

    @property
    def where(self) -> str:
        """``file:line`` of the step's definition, for errors."""
        return f"{self.file}:{self.line}"

    @property
    def upstream(self) -> tuple[str, ...]:
        """Every step this one waits for, inputs first, without duplicates."""
        seen: dict[str, None] = {}
        for ref in self.inputs.values():
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
        for spec in self.steps:
            if spec.id == step_id:
                return spec
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        steps = tuple(
            StepSpec(
                **{
                    **s,
                    "inputs": {k: ArtifactInput(**v) for k, v in s["inputs"].items()},
                    "after": tuple(s["after"]),
                    "outputs": tuple(OutputSpec(**o) for o in s["outputs"]),
                    "options": StepOptions(**s["options"]),
                }
            )
            for s in data["steps"]
        )
        return cls(**{**data, "steps": steps})
