"""``run_step``: the one place a step executes, whatever the orchestrator.

Lifecycle (see docs/ARCHITECTURE.md)::

    1 resolve inputs        the upstream artifacts, given by the engine
    2 cache key             hit -> record a CACHED step run pointing at the earlier outputs, done
    3 load inputs           in-memory hand-off when the producer ran in this process
    4 call the function     logs captured into the step log (live on local stores), current set
    5 save outputs          materializer -> artifact store (atomic, content-hashed)
    6 record                step run + artifacts + lineage + metrics in ONE transaction
    7 hooks, retries        retries with exponential backoff; on_success / on_failure
                            (bevel.run.hooks: current set, output in the same step log)
"""

from __future__ import annotations

import os
import time
import traceback
import typing
from collections.abc import Callable, Sequence
from dataclasses import field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass, replace
from bevel._lazy import lazy_module
from bevel._system import new_id as new_id  # re-exported: the engine and workers import it here
from bevel._text import with_article
from bevel.artifacts.materializers.registry import (
    PICKLE_MATERIALIZER as PICKLE,
)
from bevel.artifacts.materializers.registry import get_materializer, import_ref, type_ref
from bevel.artifacts.publish import ensure_stored, handed_off, load_recorded, save_artifact
from bevel.cache import code_parts, key_of
from bevel.dag.params import called_params
from bevel.dag.plan import Plan, StepSpec, element, fold_lists, split_instance
from bevel.errors import (
    ArtifactStoreUnavailable,
    BevelError,
    StepFailed,
    StepInterrupted,
    TrialPruned,
    transient_kind,
)
from bevel.metadata.records import (
    ArtifactRecord,
    MetadataEntry,
    MetricRecord,
    RunRecord,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.models import register as models
from bevel.models.trial import trial_for
from bevel.redaction import redact
from bevel.run.caching import reuse, step_ingredients
from bevel.run.context import _CURRENT, StepContext
from bevel.run.hooks import hook_due, run_hook
from bevel.run.interrupts import describe as describe_interrupt
from bevel.run.logs import Sink, StepLog, capture_to, log_path
from bevel.run.outputs import check_outputs, choose_materializer, output_values
from bevel.run.timeouts import deadline
from bevel.stack.stack import Stack

if TYPE_CHECKING:
    import shutil
    import tempfile
else:  # private copies of inputs loaded as files (a Path): most steps load none
    shutil = lazy_module("shutil")
    tempfile = lazy_module("tempfile")

SWEEP = "bevel.integrations.optuna:run_sweep"  # optional: bevel[optuna]


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
    step_run_id: str | None = None,
    notes: Sequence[MetadataEntry] = (),
) -> StepOutcome:
    """Execute one step of ``plan`` for ``run`` on ``stack`` and record the outcome.

    ``step_run_id`` is the id to record the step run under (the engine's choice; new when None).
    ``notes`` are metadata recorded with the step run's first write (the worker that took it),
    in the same transaction.
    """
    spec = plan.step(step_id)
    # In process, the engine hands over the StepDefinition; a remote worker imports it by name.
    definition = definition if definition is not None else import_ref(spec.source)
    if spec.options.sweep:  # trials, each a run_step of its own (bevel.integrations.optuna)
        if notes:
            stack.metadata_store.log_metadata(notes)
        outcome: StepOutcome = import_ref(SWEEP)(
            plan, spec, run=run, stack=stack, inputs=inputs, definition=definition,
            step_run_id=step_run_id or new_id(),
        )  # fmt: skip
        models.after_step(plan, spec.id, run=run, stack=stack, step_run=outcome.step_run,
                          inputs=inputs.artifacts, outputs=outcome.outputs)  # fmt: skip
        return outcome
    function = getattr(definition, "func", definition)
    identity: dict[str, Any] = {
        "id": step_run_id or new_id(),
        "run_id": run.id,
        "step_id": spec.id,
        "step_name": spec.name,
        "status": StepStatus.RUNNING,
        "started": _now(),
        "params": spec.params,
        "code_hash": spec.code_hash,
    }
    input_edges = tuple((name, art.id) for name, art in inputs.artifacts.items())
    try:
        ingredients = step_ingredients(spec, inputs.artifacts, definition)
    except StepFailed as exc:  # its cache_key hook failed: the step cannot be keyed, nor run
        unkeyed = StepRunRecord(**identity)
        return _not_started(spec, run, stack, unkeyed, input_edges, exc, definition, notes)
    recorded = ingredients.as_dict()  # made once: recorded, and what the key hashes
    key = key_of(recorded)
    recorded["code_parts"] = code_parts(function)  # lets `bevel runs explain` name the helper
    base = StepRunRecord(**identity, cache_key=key, cache_ingredients=recorded)
    if spec.options.enable_cache:
        reused = reuse(stack, base, input_edges, spec, notes)
        if reused is not None:
            models.after_step(plan, spec.id, run=run, stack=stack, step_run=reused[0],
                              inputs=inputs.artifacts, outputs=reused[1])  # fmt: skip
            return StepOutcome(*reused)
    hints = _hints(function, definition)
    # Every attempt and the hook write to one log; on a local store it is a file that other
    # processes can follow while the step runs (its uri is recorded at the start).
    log = StepLog(stack.artifact_store, log_path(run.id, spec.id, base.id))
    try:
        started = replace(base, logs_uri=log.uri) if log.live else base
        stack.metadata_store.start_step_run(started, metadata=notes)
        attempt, delay = 1, spec.options.retry_delay
        while True:
            if spec.options.retries:
                log.write(f"--- attempt {attempt} of {spec.options.retries + 1} ---\n")
            tried = _attempt(plan, spec, run, stack, inputs, function, hints, base, attempt, log)
            if tried.status is StepStatus.COMPLETED or attempt > spec.options.retries:
                break
            if not _worth_retrying(tried.error):
                break  # interrupted, or a bevel error that a retry cannot fix
            time.sleep(delay)
            attempt, delay = attempt + 1, min(delay * 2, 60.0)
        logs_uri = log.publish(keep=hook_due(spec, tried.status))
        outcome = _record(spec, run, stack, inputs, base, tried, logs_uri, attempt)
        models.after_step(plan, spec.id, run=run, stack=stack, step_run=outcome.step_run,
                          inputs=inputs.artifacts, outputs=outcome.outputs,
                          device=tried.ctx.device_used)  # fmt: skip
        if isinstance(tried.error, KeyboardInterrupt):
            raise tried.error
        config = getattr(definition, "config", None)
        run_hook(spec, run, outcome, config, stack=stack, ctx=tried.ctx, log=log)
    finally:
        log.close()
    return outcome


def _worth_retrying(error: BaseException | None) -> bool:
    """The user's own exceptions may pass on another try, and so may transient failures
    (network, timeouts, throttling, a restarting database: ``errors.transient_kind``), even
    wrapped in a bevel error; any other bevel error is permanent (bad input, corrupted data)."""
    if error is None or isinstance(error, KeyboardInterrupt):
        return False
    if isinstance(error, StepInterrupted):
        return True  # a timeout: the next try may be quicker
    if isinstance(error, BevelError):
        return transient_kind(error) is not None
    return True


def _private_dir(private: str) -> str:
    """Where an attempt's private copies of its loaded inputs go: ``private`` (a name) in the
    temporary folder."""
    return os.path.join(tempfile.gettempdir(), private)


def _load_inputs(
    stack: Stack, inputs: StepInputs, private: str, loaded: list[bool]
) -> dict[str, Any]:
    """Each input as loading its artifact gives it: handed over in memory when the producer ran
    in this process and its materializer can give exactly that without the files
    (``reloaded``: a copy, so a step mutating its input changes nothing another step sees),
    else loaded from the store (a ``Path`` as a private copy under :func:`_private_dir`
    ``(private)``; ``loaded`` gets True before the first such load, so the caller knows whether
    to look for copies)."""
    values: dict[str, Any] = {}
    for name, art in inputs.artifacts.items():
        if name in inputs.objects:
            value = handed_off(art, inputs.objects[name])
            if value is not NotImplemented:
                values[name] = value
                continue
        if not loaded:
            loaded.append(True)
        values[name] = load_recorded(stack.artifact_store, art, private_dir=_private_dir(private))
    return values


def _hints(function: Callable[..., Any], definition: Any) -> dict[str, Any]:
    """The step's parameter annotations (what shapes its recorded parameters)."""
    try:
        hints = getattr(definition, "hints", None)
        if hints is None:
            hints = typing.get_type_hints(function, include_extras=True)
        return dict(hints)
    except Exception:  # annotations that do not evaluate here: parameters go as recorded
        return {}


def _not_started(
    spec: StepSpec,
    run: RunRecord,
    stack: Stack,
    base: StepRunRecord,
    input_edges: tuple[tuple[str, str], ...],
    error: StepFailed,
    definition: Any,
    notes: Sequence[MetadataEntry],
) -> StepOutcome:
    """Record a step that failed before it could start (its cache key could not be computed)."""
    log = StepLog(stack.artifact_store, log_path(run.id, spec.id, base.id))
    try:
        record = replace(
            base,
            status=StepStatus.FAILED,
            ended=_now(),
            error=_error_text(error),
            logs_uri=log.publish(keep=hook_due(spec, StepStatus.FAILED)),
        )
        stack.metadata_store.finish_step_run(
            StepCompletion(step_run=record, inputs=input_edges, metadata=tuple(notes))
        )
        outcome = StepOutcome(record, {}, {}, error)
        config = getattr(definition, "config", None)
        run_hook(spec, run, outcome, config, stack=stack, ctx=_context(spec, run, base), log=log)
    finally:
        log.close()
    return outcome


def _context(
    spec: StepSpec, run: RunRecord, record: StepRunRecord, attempt: int = 1
) -> StepContext:
    """What ``bevel.current`` knows while the step (or its hook) runs."""
    return StepContext(
        run_id=run.id,
        run_name=run.name,
        pipeline=run.pipeline,
        step_id=spec.id,
        step_name=spec.name,
        step_run_id=record.id,
        params=spec.params,
        attempt=attempt,
    )


@dataclass
class _Tried:
    """The result of one attempt at running the step function and saving its outputs."""

    ctx: StepContext
    status: StepStatus = StepStatus.COMPLETED
    error: BaseException | None = None
    traceback: str | None = None
    saved: dict[str, ArtifactRecord] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)


def _attempt(
    plan: Plan,
    spec: StepSpec,
    run: RunRecord,
    stack: Stack,
    inputs: StepInputs,
    function: Callable[..., Any],
    hints: dict[str, Any],
    record: StepRunRecord,
    attempt: int,
    sink: Sink,
) -> _Tried:
    ctx = _context(spec, run, record, attempt)
    ctx.model_binding = models.binding(plan, run, spec.id, stack)
    ctx.sweep_trial = trial_for(plan, spec, run, stack, ctx)
    ctx.resources = spec.options.resources
    tried = _Tried(ctx)
    token = _CURRENT.set(ctx)
    private = f"bevel-inputs-{record.id}-{attempt}"  # see _private_dir
    loaded: list[bool] = []  # an input was loaded from the store (not handed off in memory)
    try:
        with capture_to(sink):
            try:
                kwargs = called_params(spec.params, hints)
                kwargs.update(fold_lists(spec, _load_inputs(stack, inputs, private, loaded)))
                with deadline(spec.options.timeout, spec.id):
                    result = function(**kwargs)
                tried.objects = output_values(spec, result)
                check_outputs(spec, tried.objects)
                tried.saved = _save_outputs(spec, stack, run, record, tried.objects, ctx)
            except KeyboardInterrupt as exc:
                tried.status, tried.error = StepStatus.CANCELLED, exc
                tried.traceback = f"interrupted: {describe_interrupt(exc)}"
            except TrialPruned as exc:  # a sweep's pruner stopped the trial: not a failure
                tried.status, tried.error = StepStatus.CANCELLED, exc
            except (Exception, SystemExit) as exc:  # sys.exit() in a step fails that step
                tried.status, tried.error = StepStatus.FAILED, exc
                tried.traceback = traceback.format_exc()
                sink.write(tried.traceback)
    finally:
        _CURRENT.reset(token)
        if loaded and os.path.lexists(_private_dir(private)):  # copies of Path inputs, if any
            shutil.rmtree(_private_dir(private), ignore_errors=True)
    return tried


def _record(
    spec: StepSpec,
    run: RunRecord,
    stack: Stack,
    inputs: StepInputs,
    record: StepRunRecord,
    tried: _Tried,
    logs_uri: str | None,
    attempts: int,
) -> StepOutcome:
    """Write the step's final outcome, its artifacts, lineage, metrics and metadata at once."""
    final = replace(
        record,
        attempts=attempts,
        status=tried.status,
        ended=_now(),
        error=_error_text(tried.error) if tried.error is not None else None,
        traceback=None if tried.traceback is None else _masked(tried.traceback),
        logs_uri=logs_uri,
    )
    ctx = tried.ctx
    stored = stack.metadata_store.finish_step_run(
        StepCompletion(
            step_run=final,
            outputs=tuple(tried.saved.values()),
            inputs=tuple((name, art.id) for name, art in inputs.artifacts.items()),
            metrics=tuple(
                MetricRecord(run.id, record.id, k, v, s, t) for k, v, s, t in ctx.metrics
            ),
            metadata=tuple(
                MetadataEntry("step_run", record.id, k, v, final.ended or _now())
                for k, v in ctx.metadata.items()
            )
            + tuple(
                MetadataEntry("run", run.id, k, v, final.ended or _now())
                for k, v in ctx.run_metadata.items()
            ),
        )
    )
    for art in stored:  # a clean-up that ran between save and record must not lose them
        ensure_stored(
            stack.artifact_store, art.uri, _value_of(tried.objects, art.output_name),
            art.materializer,
            name=art.name,
        )  # fmt: skip
    outputs = {art.output_name: art for art in stored}
    objects = tried.objects if tried.status is StepStatus.COMPLETED else {}
    return StepOutcome(final, outputs, objects, tried.error)


def _error_text(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return describe_interrupt(error)
    if isinstance(error, BevelError):
        return str(error)
    return _masked(f"{type(error).__name__}: {error}")  # a library's message may quote a secret


def _masked(text: str) -> str:
    """``text`` with secret values masked: what a step records never shows one."""

    return redact(text)


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
        materializer = out.materializer or choose_materializer(spec, out.name, obj)
        saved[out.name] = _save_one(
            spec, stack, run, record, ctx, out.name, obj, materializer, out.type_ref
        )
        if out.elements:  # a step is mapped over it: each element is an artifact of its own
            for index, item in enumerate(_elements(spec, out.name, obj)):
                name = element(out.name, index)
                chosen = PICKLE if out.pickle else choose_materializer(spec, name, item)
                saved[name] = _save_one(spec, stack, run, record, ctx, name, item, chosen, "")
    return saved


def _value_of(objects: dict[str, Any], output: str) -> Any:
    """The value saved as ``output``: an output, or an element ``name[i]`` of one."""
    if output in objects:
        return objects[output]
    base, index = split_instance(output)
    return objects[base][index]


def _elements(spec: StepSpec, output: str, value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise StepFailed(
        f"a step is mapped over the output '{output}' of step '{spec.id}', but it returned"
        f" {with_article(type(value).__name__)}, not a list",
        step=spec.id,
        where=spec.where,
        hint="return a list (each element becomes one call of the mapped step)",
    )


def _save_one(
    spec: StepSpec,
    stack: Stack,
    run: RunRecord,
    record: StepRunRecord,
    ctx: StepContext,
    output: str,
    obj: Any,
    materializer: str,
    type_ref_: str,
) -> ArtifactRecord:
    name = f"{run.pipeline}.{spec.id}.{output}"
    try:
        artifact = save_artifact(
            stack.artifact_store, obj, materializer, name=name, visualize=spec.options.visualize
        )
    except BevelError:
        raise
    except Exception as exc:
        kind = transient_kind(exc)
        if kind is not None:  # an artifact store that is not guarded (a store built in code)
            raise ArtifactStoreUnavailable(
                f"could not save the output '{output}' of step '{spec.id}': the artifact "
                f"store failed: {type(exc).__name__}: {exc}",
                kind=kind,
                hint=f"this may pass by itself ({kind}): steps with retries=N try again",
            ) from exc
        raise StepFailed(
            f"could not save the output '{output}' of step '{spec.id}' with "
            f"{materializer}: {type(exc).__name__}: {exc}",
            step=spec.id,
            where=spec.where,
            hint="check that the returned value matches the output annotation",
        ) from exc
    metadata = {**artifact.metadata, **ctx.artifact_metadata.get(output, {})}
    return ArtifactRecord(
        id=new_id(),
        name=name,
        version=0,
        uri=artifact.uri,
        type_ref=type_ref_ or type_ref(type(obj)),
        materializer=materializer,
        materializer_version=get_materializer(materializer).version,
        content_hash=artifact.content_hash,
        size=artifact.size,
        producer_step_run_id=record.id,
        run_id=run.id,
        output_name=output,
        created=_now(),
        metadata=metadata,
        visualizations=artifact.visualizations,
        python_version=artifact.python_version,
    )
