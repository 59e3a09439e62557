"""What the model control plane records around a run.

- :func:`resolve` runs when a run starts: an inference pipeline's ``Model("churn",
  version="production")`` becomes the version it names *now* (its id and number are written
  into the plan, so the run record says which one it used), and that id goes into every step's
  cache key (``StepOptions.model_version``): a step of a run on version 4 never reuses a result
  computed with version 3. An empty stage fails here, before the run is recorded.
- :func:`after_step` runs after a step is recorded (fresh or cached): a ``@trainer``'s model
  output is linked to the run's version as ``model`` and its inputs as ``data.<input>``, with
  the device it trained on and the model's signature; an ``@evaluator``'s logged metrics become
  the version's metrics and its outputs are linked as ``<step>.<output>``. Both are then
  mirrored to the stack's model registry, when it has one (:mod:`bevel.models.mirror`).

A cached trainer links the same artifact again: a re-run builds a new version (the run's) whose
model is the already trained one, without training it again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.dag.plan import Plan
from bevel.metadata.records import (
    ArtifactRecord,
    ModelArtifactLink,
    RunRecord,
    StepRunRecord,
    StepStatus,
)
from bevel.stack.stack import Stack

if TYPE_CHECKING:
    from bevel.models import binding as model_binding
    from bevel.models import mirror
    from bevel.models.binding import ModelBinding
else:  # needed only by pipelines with a model (every run imports this module)
    model_binding = lazy_module("bevel.models.binding")
    mirror = lazy_module("bevel.models.mirror")

TRAINER = "trainer"
EVALUATOR = "evaluator"


def resolve(plan: Plan, stack: Stack) -> Plan:
    """The plan with its inference model version resolved (unchanged for other plans)."""
    model = plan.model
    if model is None or model.get("version") is None:
        return plan
    record = stack.metadata_store.get_model_version(model["name"], model["version"])
    resolved = {"id": record.id, "number": record.number}
    steps = tuple(
        replace(spec, options=replace(spec.options, model_version=record.id)) for spec in plan.steps
    )
    return replace(plan, model={**model, "resolved": resolved}, steps=steps)


def binding(plan: Plan, run: RunRecord, step_id: str, stack: Stack) -> ModelBinding | None:
    """``current.model`` for a step of ``plan`` (None: the pipeline has no model)."""
    if plan.model is None:
        return None
    return model_binding.ModelBinding(plan.model, run=run, step_id=step_id, stack=stack)


def after_step(
    plan: Plan,
    step_id: str,
    *,
    run: RunRecord,
    stack: Stack,
    step_run: StepRunRecord,
    inputs: dict[str, ArtifactRecord],
    outputs: dict[str, ArtifactRecord],
    device: str | None = None,
) -> None:
    """Record what a completed (or cached) trainer or evaluator step means for the model."""
    spec = plan.step(step_id)
    kind = spec.options.kind
    if plan.model is None or kind not in (TRAINER, EVALUATOR):
        return
    if step_run.status not in (StepStatus.COMPLETED, StepStatus.CACHED):
        return
    bound = binding(plan, run, step_id, stack)
    if bound is None or not bound.builds:
        return
    version = bound.version.record
    store = stack.metadata_store
    metadata: dict[str, Any] = {}
    metrics: dict[str, float] = {}
    if kind == TRAINER:
        name = "model" if "model" in outputs else next(iter(outputs))
        model = outputs[name]
        links = [ModelArtifactLink("model", model.id, "model")]
        links += [ModelArtifactLink(f"data.{arg}", a.id, "data") for arg, a in inputs.items()]
        metadata["trained_by"] = {"run": run.name, "step": spec.id, "cached": _cached(step_run)}
        metadata["device"] = device or model.metadata.get("device") or "cpu"
        metadata["model_type"] = model.type_ref
        if "signature" in model.metadata:
            metadata["signature"] = model.metadata["signature"]
    else:
        links = [
            ModelArtifactLink(f"{spec.id}.{out}", a.id, "evaluation") for out, a in outputs.items()
        ]
        source = step_run.cached_from or step_run.id
        for point in store.step_details([source]).metrics:  # in the order they were logged
            if point.step_run_id == source:
                metrics[point.key] = point.value
        metadata["evaluated_by"] = {"run": run.name, "step": spec.id, "cached": _cached(step_run)}
    store.update_model_version(version.id, metadata=metadata, metrics=metrics, artifacts=links)
    mirror.version_changed(stack, version.model, version.number)


def _cached(step_run: StepRunRecord) -> bool:
    return step_run.status is StepStatus.CACHED
