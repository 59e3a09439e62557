"""``run_step``: the one place a step executes, whatever the orchestrator.

Lifecycle (see docs/ARCHITECTURE.md)::

    1 resolve inputs        the upstream artifacts, given by the engine
    2 cache key             hit -> record a CACHED step run pointing at the earlier outputs, done
    3 load inputs           in-memory hand-off when the producer ran in this process
    4 call the function     logs captured, bevel.current set
    5 save outputs          materializer -> artifact store (atomic, content-hashed)
    6 record                step run + artifacts + lineage + metrics in ONE transaction
    7 hooks, retries        retries with exponential backoff; on_success / on_failure
"""

from __future__ import annotations

import io
import time
import traceback
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bevel.artifacts.materializers.registry import get_materializer, import_ref, type_ref
from bevel.artifacts.publish import artifact_path, load_artifact, save_artifact
from bevel.cache import cache_key, code_parts, ingredients_for
from bevel.dag.plan import Plan, StepSpec
from bevel.errors import BevelError, BevelWarning, StepFailed
from bevel.metadata.records import (
    ArtifactRecord,
    MetadataEntry,
    MetricRecord,
    RunRecord,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.run.context import _CURRENT, StepContext
from bevel.run.logs import capture_to
from bevel.run.outputs import check_outputs, choose_materializer, output_values
from bevel.stack.stack import Stack


def new_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StepOutcome:
    """What the engine needs back from ``run_step``."""

    step_run: StepRunRecord
    outputs: dict[str, ArtifactRecord]
    objects: dict[str, Any] = field(default_factory=dict)  # in-memory outputs for hand-off
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.step_run.status in (StepStatus.COMPLETED, StepStatus.CACHED)


@dataclass
class StepInputs:
    """Resolved inputs of a step: artifact records, plus live objects when handed off in memory."""

    artifacts: dict[str, ArtifactRecord]
    objects: dict[str, Any] = field(default_factory=dict)


def run_step(
    plan: Plan,
    step_id: str,
    *,
    run: RunRecord,
    stack: Stack,
    inputs: StepInputs,
    definition: Any | None = None,
) -> StepOutcome:
    """Execute one step of ``plan`` for ``run`` on ``stack`` and record the outcome."""
    spec = plan.step(step_id)
    ingredients = ingredients_for(spec, {n: a.content_hash for n, a in inputs.artifacts.items()})
    key = cache_key(ingredients)
    # In process, the engine hands over the StepDefinition; a remote worker imports it by name.
    definition = definition if definition is not None else import_ref(spec.source)
    function = getattr(definition, "func", definition)
    recorded = ingredients.as_dict()
    recorded["code_parts"] = code_parts(function)  # lets `bevel runs explain` name the helper
    base = StepRunRecord(
        id=new_id(),
        run_id=run.id,
        step_id=spec.id,
        step_name=spec.name,
        status=StepStatus.RUNNING,
        started=_now(),
        cache_key=key,
        params=spec.params,
        code_hash=spec.code_hash,
        cache_ingredients=recorded,
    )
    input_edges = tuple((name, art.id) for name, art in inputs.artifacts.items())
    if spec.options.enable_cache:
        cached = _try_cache(stack, base, key, input_edges)
        if cached is not None:
            return cached
    stack.metadata_store.start_step_run(base)
    attempt, delay = 1, spec.options.retry_delay
    while True:
        outcome = _attempt(
            plan, spec, run, stack, inputs, function, replace(base, attempts=attempt)
        )
        if outcome.ok or attempt > spec.options.retries or _not_retryable(outcome.error):
            break
        time.sleep(delay)
        attempt, delay = attempt + 1, min(delay * 2, 60.0)
    _run_hook(spec, run, outcome, getattr(definition, "config", None))
    return outcome


def _not_retryable(error: BaseException | None) -> bool:
    return error is not None and isinstance(error, BevelError)


def _try_cache(
    stack: Stack, base: StepRunRecord, key: str, input_edges: tuple[tuple[str, str], ...]
) -> StepOutcome | None:
    store = stack.metadata_store
    hit = store.find_cached(key)
    if hit is None:
        return None
    artifacts = stack.artifact_store
    for art in hit.outputs.values():
        if not artifacts.exists(artifact_path(artifacts, art.uri)):
            return None  # files deleted: recompute rather than hand out a broken artifact
    record = replace(base, status=StepStatus.CACHED, ended=_now(), cached_from=hit.step_run.id)
    store.finish_step_run(
        StepCompletion(
            step_run=record,
            reused_outputs=tuple((name, art.id) for name, art in hit.outputs.items()),
            inputs=input_edges,
        )
    )
    return StepOutcome(record, dict(hit.outputs))


def _load_inputs(spec: StepSpec, stack: Stack, inputs: StepInputs) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, art in inputs.artifacts.items():
        if name in inputs.objects:
            values[name] = inputs.objects[name]
            continue
        values[name] = load_artifact(
            stack.artifact_store,
            uri=art.uri,
            materializer=art.materializer,
            type_ref=art.type_ref,
            content_hash=art.content_hash,
            name=f"{art.name} v{art.version}",
        )
    return values


def _attempt(
    plan: Plan,
    spec: StepSpec,
    run: RunRecord,
    stack: Stack,
    inputs: StepInputs,
    function: Callable[..., Any],
    record: StepRunRecord,
) -> StepOutcome:
    ctx = StepContext(
        run_id=run.id,
        run_name=run.name,
        pipeline=plan.pipeline,
        step_id=spec.id,
        step_name=spec.name,
        step_run_id=record.id,
        params=spec.params,
        attempt=record.attempts,
    )
    sink = io.StringIO()
    saved: dict[str, ArtifactRecord] = {}
    objects: dict[str, Any] = {}
    error: BaseException | None = None
    tb: str | None = None
    status = StepStatus.COMPLETED
    token = _CURRENT.set(ctx)
    try:
        with capture_to(sink):
            try:
                kwargs = {**spec.params, **_load_inputs(spec, stack, inputs)}
                result = function(**kwargs)
                objects = output_values(spec, result)
                check_outputs(spec, objects)
                saved = _save_outputs(spec, stack, run, record, objects, ctx)
            except KeyboardInterrupt as exc:
                status, error, tb = StepStatus.CANCELLED, exc, "interrupted (KeyboardInterrupt)"
            except Exception as exc:
                status, error, tb = StepStatus.FAILED, exc, traceback.format_exc()
                sink.write(tb)
    finally:
        _CURRENT.reset(token)
    final = replace(
        record,
        status=status,
        ended=_now(),
        error=_error_text(error) if error is not None else None,
        traceback=tb,
        logs_uri=_store_logs(stack, run, spec, record, sink.getvalue()),
    )
    stored = stack.metadata_store.finish_step_run(
        StepCompletion(
            step_run=final,
            outputs=tuple(saved.values()),
            inputs=tuple((name, art.id) for name, art in inputs.artifacts.items()),
            metrics=tuple(
                MetricRecord(run.id, record.id, k, v, s, t) for k, v, s, t in ctx.metrics
            ),
            metadata=tuple(
                MetadataEntry("step_run", record.id, k, v, final.ended or _now())
                for k, v in ctx.metadata.items()
            ),
        )
    )
    if isinstance(error, KeyboardInterrupt):
        raise error
    outputs = {art.output_name: art for art in stored}
    return StepOutcome(final, outputs, objects if status is StepStatus.COMPLETED else {}, error)


def _error_text(error: BaseException) -> str:
    if isinstance(error, BevelError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _save_outputs(
    spec: StepSpec,
    stack: Stack,
    run: RunRecord,
    record: StepRunRecord,
    objects: dict[str, Any],
    ctx: StepContext,
) -> dict[str, ArtifactRecord]:
    saved: dict[str, ArtifactRecord] = {}
    for out in spec.outputs:
        obj = objects[out.name]
        name = f"{run.pipeline}.{spec.id}.{out.name}"
        materializer = out.materializer or choose_materializer(spec, out.name, obj)
        try:
            artifact = save_artifact(stack.artifact_store, obj, materializer, name=name)
        except BevelError:
            raise
        except Exception as exc:
            raise StepFailed(
                f"could not save the output '{out.name}' of step '{spec.id}' with "
                f"{materializer}: {type(exc).__name__}: {exc}",
                step=spec.id,
                where=f"{spec.file}:{spec.line}",
                hint="check that the returned value matches the output annotation",
            ) from exc
        metadata = {**artifact.metadata, **ctx.artifact_metadata.get(out.name, {})}
        saved[out.name] = ArtifactRecord(
            id=new_id(),
            name=name,
            version=0,
            uri=artifact.uri,
            type_ref=out.type_ref or type_ref(type(obj)),
            materializer=materializer,
            materializer_version=get_materializer(materializer).version,
            content_hash=artifact.content_hash,
            size=artifact.size,
            producer_step_run_id=record.id,
            run_id=run.id,
            output_name=out.name,
            created=_now(),
            metadata=metadata,
            visualizations=artifact.visualizations,
            python_version=artifact.python_version,
        )
    return saved


def _store_logs(
    stack: Stack, run: RunRecord, spec: StepSpec, record: StepRunRecord, text: str
) -> str | None:
    """Write captured output next to the artifacts; None when the step printed nothing."""
    if not text:
        return None
    store = stack.artifact_store
    folder = f"logs/{run.id}"
    path = f"{folder}/{spec.id}-{record.id[:8]}.log"
    store.makedirs(folder)
    with store.open(path, "wb") as fh:
        fh.write(text.encode("utf-8", errors="replace"))
    return store.uri(path)


def _run_hook(spec: StepSpec, run: RunRecord, outcome: StepOutcome, config: Any) -> None:
    """Call on_success / on_failure with keyword arguments only (forward compatible)."""
    which = "on_success" if outcome.ok else "on_failure"
    ref = getattr(spec.options, which)
    if ref is None or outcome.step_run.status is StepStatus.CACHED:
        return
    hook = getattr(config, which, None) or import_ref(ref)
    kwargs: dict[str, Any] = {
        "step": spec.id,
        "step_name": spec.name,
        "run_id": run.id,
        "run_name": run.name,
        "pipeline": run.pipeline,
        "params": spec.params,
    }
    if outcome.ok:
        kwargs["outputs"] = outcome.outputs
    else:
        kwargs["error"] = outcome.error
    try:
        hook(**kwargs)
    except Exception as exc:
        warnings.warn(
            f"the {which} hook {ref} of step '{spec.id}' raised {type(exc).__name__}: {exc}",
            BevelWarning,
            stacklevel=1,
        )
