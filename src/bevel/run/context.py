"""``bevel.current``: what a running step knows about itself, and metric/metadata logging.

The only ambient state in bevel is one ``contextvars`` variable, set by ``run_step`` while a step
function runs::

    from bevel import current, log_metric

    @step
    def evaluate(model: LogisticRegression, test: pd.DataFrame) -> float:
        current.logger.info("evaluating run %s", current.run_id)
        acc = model.score(test.drop(columns="y"), test.y)
        log_metric("accuracy", acc)          # same as current.log_metric(...)
        return acc
"""

from __future__ import annotations

import json
import logging
import math
from contextvars import ContextVar
from dataclasses import field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel.errors import BevelError
from bevel.models.trial import not_a_trial

if TYPE_CHECKING:
    from bevel.models import binding, device
else:  # current.model in a pipeline without one, current.device: not what most steps ask
    binding = lazy_module("bevel.models.binding")
    device = lazy_module("bevel.models.device")


@dataclass
class StepContext:
    """Facts about the running step, plus what it logged (written when the step ends)."""

    run_id: str
    run_name: str
    pipeline: str
    step_id: str
    step_name: str
    step_run_id: str
    params: dict[str, Any]
    attempt: int = 1
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("bevel.step"))
    metrics: list[tuple[str, float, int | None, datetime]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    run_metadata: dict[str, Any] = field(default_factory=dict)
    artifact_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    hook: str | None = None  # "on_success" / "on_failure" while that hook runs
    # ``current.model`` (a bevel.models.binding.ModelBinding) when the pipeline has a model.
    model_binding: Any = None
    resources: dict[str, Any] = field(default_factory=dict)
    device_used: str | None = None  # set when the step asked for current.device
    # ``current.trial`` (a bevel.models.trial.Trial) when the step run is a sweep's trial.
    sweep_trial: Any = None

    @property
    def trial(self) -> Any:
        """The sweep's trial this step run is (``report``, ``should_prune``, ``number``,
        ``params``); a clear error in a step that is not a trial."""
        if self.sweep_trial is None:
            raise not_a_trial(self.step_id)
        return self.sweep_trial

    @property
    def model(self) -> Any:
        """The model version this run builds or uses (``@pipeline(model=Model(...))``)."""
        if self.model_binding is None:
            raise binding.no_model(self.pipeline)
        return self.model_binding

    @property
    def device(self) -> str:
        """The device to train on: ``cuda:0`` when torch sees a GPU, ``mps`` on Apple
        silicon, else ``cpu``; recorded on the step (and on a trainer's model version)."""
        if self.device_used is None:
            self.device_used = device.pick_device(self.resources)
            self.metadata["device"] = self.device_used
        return self.device_used

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Record a numeric metric (``step`` for a series, e.g. the epoch)."""
        if self.hook is not None:
            raise BevelError(
                f"log_metric() cannot be used in the {self.hook} hook: the step's metrics were "
                "recorded when it ended",
                hint="record facts from a hook with log_metadata({...}) (on the step) or "
                "log_metadata({...}, run=True)",
            )
        if not isinstance(key, str) or not key:
            raise BevelError("metric keys must be non-empty strings", hint="log_metric('acc', 0.9)")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BevelError(
                f"metric '{key}' must be a number, got {type(value).__name__}",
                hint="log numbers as metrics and anything else with log_metadata()",
            ) from None
        if not math.isfinite(number):
            raise BevelError(f"metric '{key}' is {number}, which cannot be stored")
        self.metrics.append((key, number, step, datetime.now(UTC)))

    def log_metadata(
        self, metadata: dict[str, Any], *, artifact: str | None = None, run: bool = False
    ) -> None:
        """Attach JSON metadata to this step run, to one of its outputs (``artifact=`` output
        name) or to the whole run (``run=True``). Logging a key again replaces its value."""
        if artifact is not None and self.hook is not None:
            raise BevelError(
                f"log_metadata(artifact=...) cannot be used in the {self.hook} hook: the step's "
                "outputs were recorded when it ended",
                hint="log on the step (log_metadata({...})) or the run (run=True) instead",
            )
        if artifact is not None and run:
            raise BevelError(
                "log_metadata() takes artifact= or run=True, not both",
                hint="call it once per target",
            )
        if not isinstance(metadata, dict) or not all(isinstance(k, str) for k in metadata):
            raise BevelError(
                f"metadata must be a dict with string keys, got {type(metadata).__name__}",
                hint='e.g. log_metadata({"rows": 1000, "source": "s3://bucket/data.csv"})',
            )
        try:
            json.dumps(metadata, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise BevelError(
                f"metadata must be JSON-serialisable: {exc}",
                hint="log plain numbers, strings, lists and dicts",
            ) from exc
        if artifact:
            target = self.artifact_metadata.setdefault(artifact, {})
        else:
            target = self.run_metadata if run else self.metadata
        target.update(metadata)


_CURRENT: ContextVar[StepContext | None] = ContextVar("bevel_current_step", default=None)


def current_context() -> StepContext:
    ctx = _CURRENT.get()
    if ctx is None:
        raise BevelError(
            "bevel.current is only available while a step (or its on_success/on_failure hook) "
            "runs inside a pipeline",
            hint="when calling a step function directly (e.g. in a unit test), don't use "
            "bevel.current, or run it through a @pipeline",
        )
    return ctx


class _Current:
    """Proxy to the running step's :class:`StepContext` (``from bevel import current``)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(current_context(), name)

    def __bool__(self) -> bool:
        return _CURRENT.get() is not None

    def __repr__(self) -> str:
        ctx = _CURRENT.get()
        if ctx is None:
            return "<bevel.current: no step running>"
        return f"<bevel.current: run {ctx.run_name} step {ctx.step_id}>"


current = _Current()


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Record a metric on the running step (see :meth:`StepContext.log_metric`)."""
    current_context().log_metric(key, value, step)


def log_metadata(
    metadata: dict[str, Any], *, artifact: str | None = None, run: bool = False
) -> None:
    """Attach metadata to the running step, one of its outputs (``artifact="model"``) or the
    whole run (``run=True``); see :meth:`StepContext.log_metadata`."""
    current_context().log_metadata(metadata, artifact=artifact, run=run)
