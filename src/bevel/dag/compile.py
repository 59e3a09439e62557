"""Compile a traced pipeline into a Plan, checking everything that can be checked before running.

The compiler is pure: what it needs from higher layers (materializer lookup, code hashing) comes in
a :class:`Toolbox` built by the api, so this module does no I/O and imports no heavy library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from bevel import names
from bevel._dataclass import dataclass, replace
from bevel._text import with_article
from bevel.authoring.outputs import OutputDecl
from bevel.authoring.pipeline import PipelineDefinition
from bevel.authoring.step import StepDefinition
from bevel.authoring.tracing import OutputRef, StepInvocation
from bevel.dag.checks import (
    check_input_type,
    check_json_output,
    check_json_param,
    check_param_type,
    check_run_name,
    check_step_names,
)
from bevel.dag.config import RunConfig
from bevel.dag.mapping import Bound, bind_wired, mark_elements
from bevel.dag.params import prepare as prepare_params
from bevel.dag.plan import (
    ArtifactInput,
    OutputSpec,
    Plan,
    StepOptions,
    StepSpec,
    expiration_seconds,
    split_instance,
)
from bevel.errors import BevelError, DefinitionError, MaterializerNotFound, ParameterError


@dataclass(frozen=True)
class Toolbox:
    """What compiling needs from the layers above (injected, so ``dag`` stays pure)."""

    materializer_for: Callable[[Any], str | None]  # type -> "module:Class" or None
    materializer_version: Callable[[str], str]
    materializer_ref: Callable[[Any], str]  # a class or "module:Class" -> its recorded ref
    code_hash: Callable[[Callable[..., Any]], str]
    type_ref: Callable[[Any], str]
    pickle_materializer: str
    unknown_type_hint: Callable[[Any], str]
    json_materializer: str = ""  # outputs it stores are checked to be JSON all the way down
    not_json_hint: str = ""


@dataclass(frozen=True)
class Compiled:
    """The plan plus the in-process objects it was compiled from (never serialised)."""

    plan: Plan
    steps: dict[str, StepDefinition[Any, Any]]  # step id -> definition


def _ref(func: Callable[..., Any] | None) -> str | None:
    if func is None:
        return None
    return f"{func.__module__}:{func.__qualname__}"


def _outputs(step: StepDefinition[Any, Any], tools: Toolbox) -> tuple[OutputSpec, ...]:
    specs = []
    pickled = step.config.pickle
    names = [decl.name for decl in step.outputs]
    unknown = [name for name in step.config.materializers if name not in names]
    if unknown:
        raise DefinitionError(
            f"step '{step.name}' sets materializers for {', '.join(map(repr, unknown))}, which "
            f"it does not output",
            where=step.where,
            hint=f"its outputs are: {', '.join(names) or '(none)'}",
        )
    for decl in step.outputs:
        specs.append(_output_spec(step, decl, pickled, tools))
    return tuple(specs)


def _output_spec(
    step: StepDefinition[Any, Any],
    decl: OutputDecl,
    pickled: bool | tuple[str, ...],
    tools: Toolbox,
) -> OutputSpec:
    wants_pickle = pickled is True or (isinstance(pickled, tuple) and decl.name in pickled)
    annotation = decl.annotation
    type_ref = "" if annotation is None or annotation is Any else tools.type_ref(annotation)
    if decl.name in step.config.materializers:
        try:
            materializer = tools.materializer_ref(step.config.materializers[decl.name])
        except BevelError as exc:
            raise DefinitionError(exc.message, where=step.where, hint=exc.hint) from exc
    elif wants_pickle:
        materializer = tools.pickle_materializer
    elif not type_ref:
        materializer = ""  # chosen at run time from the returned value's type
    else:
        found = tools.materializer_for(annotation)
        if found is None:
            raise MaterializerNotFound(
                f"no materializer for the output '{decl.name}' of step '{step.name}' "
                f"(type {type_ref})",
                where=step.where,
                hint=tools.unknown_type_hint(annotation),
            )
        materializer = found
        if materializer == tools.json_materializer:
            check_json_output(
                annotation, step=step.name, output=decl.name, where=step.where,
                hint=tools.not_json_hint,
            )  # fmt: skip
    try:
        version = tools.materializer_version(materializer) if materializer else ""
    except BevelError as exc:  # a materializer that breaks its contract, named at the step
        raise DefinitionError(
            f"output '{decl.name}' of step '{step.name}': {exc.message}",
            where=step.where,
            hint=exc.hint,
        ) from exc
    return OutputSpec(decl.name, type_ref, materializer, version, pickle=wants_pickle)


def _bind(inv: StepInvocation, step_config: dict[str, Any], source: str) -> Bound:
    """Split a call's arguments into parameters (literals) and inputs (refs)."""
    step = inv.step
    sig = step.signature
    try:
        bound = sig.bind_partial(*inv.args, **inv.kwargs)
    except TypeError as exc:
        raise DefinitionError(
            f"bad call of step '{step.name}': {exc}",
            where=inv.where,
            hint=f"its signature is {step.name}{sig}",
        ) from exc
    params: dict[str, Any] = {}
    inputs: dict[str, OutputRef] = {}
    out = Bound(params, inputs, {}, {}, [])
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            if bound.arguments.get(name):
                raise DefinitionError(
                    f"step '{step.name}' takes *args/**kwargs: bevel needs named parameters",
                    where=step.where,
                    hint="declare each input and parameter by name",
                )
            continue
        if name in bound.arguments:
            value = bound.arguments[name]
            if bind_wired(out, name, value, inv):
                if name in step_config:
                    raise _config_sets_artifact(name, inv, source)
                continue
            if isinstance(value, OutputRef):
                if name in step_config:
                    raise _config_sets_artifact(name, inv, source)
                inputs[name] = value
                continue
            if isinstance(value, StepInvocation):
                raise DefinitionError(
                    f"step '{value.id}' has no outputs, so it cannot feed '{name}' of "
                    f"'{step.name}'",
                    where=inv.where,
                    hint=f"use after={value.id} for ordering without data",
                )
            _reject_nested_refs(value, name, inv)
            params[name] = value
        elif p.default is not p.empty:
            params[name] = p.default
        elif name not in step_config:
            raise DefinitionError(
                f"step '{step.name}' is missing the input '{name}'",
                where=inv.where,
                hint=f"pass it in the pipeline body: {step.name}(..., {name}=...)",
            )
    for name, value in step_config.items():
        if name not in sig.parameters:
            raise ParameterError(
                f"the run config {source} sets 'steps.{inv.id}.parameters.{name}', but step "
                f"'{step.name}' has no parameter '{name}'",
                hint=f"its parameters are: {', '.join(sig.parameters)}",
            )
        params[name] = value
    if inv.mapped and not out.map_over:
        raise DefinitionError(
            f"{step.name}.map() was given no step output to map over",
            where=inv.where,
            hint=f"pass the list to map over, e.g. {step.name}.map(models) where models is a"
            " step's output (a list) or another mapped step's outputs",
        )
    return out


def _nested_refs(value: Any) -> list[OutputRef]:
    if isinstance(value, OutputRef):
        return [value]
    if isinstance(value, list | tuple):
        return [ref for item in value for ref in _nested_refs(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _nested_refs(item)]
    return []


def _reject_nested_refs(value: Any, name: str, inv: StepInvocation) -> None:
    """A step output inside a list/tuple/dict argument is not an input: say how to wire it."""
    refs = _nested_refs(value)
    if not refs:
        return
    named = ", ".join(f"'{r.output}' of step '{r.step_id}'" for r in refs)
    producers = {r.step_id for r in refs}
    if isinstance(value, tuple) and len(producers) == 1 and len(refs) == len(value):
        producer = refs[0].step_id
        hint = (
            f"step '{producer}' returns a tuple of {len(refs)} output(s): unpack it first, e.g. "
            f"`{', '.join(r.output for r in refs)}, = ...` (or `[0]`), and pass one output"
        )
    else:
        hint = "pass step outputs directly, one per argument, or several as a list"
        hint += " (fan-in: select_best([a, b, c]))"
    raise DefinitionError(
        f"argument '{name}' of step '{inv.step.name}' is {with_article(type(value).__name__)} holding the "
        f"output(s) {named}; step outputs can only be passed directly or in a plain list",
        where=inv.where,
        hint=hint,
    )


def _config_sets_artifact(name: str, inv: StepInvocation, source: str) -> ParameterError:
    return ParameterError(
        f"the run config {source} sets 'steps.{inv.id}.parameters.{name}', but '{name}' is fed by "
        "another step's output",
        hint="only literal parameters can be set from the config",
    )


def _visualize_flag(
    inv: StepInvocation, config: RunConfig, forced: bool | None, pipeline_default: bool
) -> bool:
    """Whether a step's outputs get visualizations, as caching is decided: turned off for the
    run (``--no-visualize``, ``run_pipeline(visualize=False)``) wins; then the run config's step
    entry, ``@step(visualize=)``, the run's value (argument, run config), the pipeline's
    option (default on)."""
    if forced is False:
        return False
    step_cfg = config.steps.get(inv.id)
    if step_cfg is not None and step_cfg.visualize is not None:
        return step_cfg.visualize
    if inv.step.config.visualize is not None:
        return inv.step.config.visualize
    if forced is not None:
        return forced
    if config.visualize is not None:
        return config.visualize
    return pipeline_default


def _check_cache_flags(config: RunConfig, run_cache: bool | None, pipeline_cache: bool) -> bool:
    if run_cache is not None:
        return run_cache
    if config.enable_cache is not None:
        return config.enable_cache
    return pipeline_cache


def compile_plan(
    pipeline: PipelineDefinition,
    params: dict[str, Any],
    config: RunConfig,
    tools: Toolbox,
    *,
    enable_cache: bool | None = None,
    run_name: str | None = None,
    visualize: bool | None = None,
) -> Compiled:
    """Trace ``pipeline`` with ``params`` and compile it into a checked :class:`Plan`."""
    names.check(
        "pipeline name",
        pipeline.name,
        where=pipeline.where,
        error=DefinitionError,
        hint="rename it: @pipeline(name=...)",
    )
    chosen_name = _run_name(pipeline, config, run_name)
    bound = pipeline.bind({**config.parameters, **params})
    for name, value in bound.items():
        check_json_param(value, name, owner=f"pipeline '{pipeline.name}'", where=pipeline.where)
    trace = pipeline.trace(bound)
    by_id = {inv.id: inv for inv in trace.invocations}
    unknown_steps = [sid for sid in config.steps if sid not in by_id]
    if unknown_steps:
        raise ParameterError(
            f"the run config {config.source} configures unknown step(s) "
            f"{', '.join(map(repr, unknown_steps))}",
            hint=f"steps of pipeline '{pipeline.name}': {', '.join(by_id)}",
        )
    run_cache = _check_cache_flags(config, enable_cache, pipeline.config.enable_cache)
    specs: list[StepSpec] = []
    for inv in trace.invocations:
        check_step_names(inv)
        spec = _compile_step(inv, by_id, config, tools, run_cache, enable_cache)
        shown = _visualize_flag(inv, config, visualize, pipeline.config.visualize)
        specs.append(replace(spec, options=replace(spec.options, visualize=shown)))
    specs = mark_elements(specs, by_id)
    fingerprint = hashlib.sha256("".join(s.code_hash for s in specs).encode()).hexdigest()
    plan = Plan(
        pipeline=pipeline.name,
        params=bound,
        steps=tuple(specs),
        run_name=chosen_name,
        enable_cache=run_cache,
        source=pipeline.source,
        file=pipeline.file,
        code_fingerprint=f"sha256:{fingerprint}",
        config=config.raw,
        model=_model_of(pipeline, specs),
    )
    return Compiled(plan, {inv.id: inv.step for inv in trace.invocations})


def _checked_sweep(
    sweep: dict[str, Any] | None, params: dict[str, Any], inv: StepInvocation
) -> dict[str, Any] | None:
    """A sweep's parameters are the sweep's to choose: one given in the call is refused."""
    if sweep is None:
        return None
    given = [name for name in sweep["space"] if name in inv.kwargs]
    if given:
        raise DefinitionError(
            f"step '{inv.id}' is swept over {', '.join(map(repr, given))} but the call also "
            "passes a value for it",
            where=inv.where,
            hint="leave swept parameters out of the call: the sweep chooses them",
        )
    del params
    return sweep


def _model_of(pipeline: PipelineDefinition, specs: list[StepSpec]) -> dict[str, Any] | None:
    """The pipeline's model; a pipeline with a ``@trainer`` but no model builds one named after
    the pipeline. A trainer that cannot say which output is the model is refused here."""
    for spec in specs:
        if spec.options.kind == "trainer":
            names_ = [o.name for o in spec.outputs]
            if len(names_) != 1 and "model" not in names_:
                raise DefinitionError(
                    f"trainer '{spec.id}' has {len(names_)} outputs and none is named 'model'",
                    where=spec.where,
                    hint='name the trained model: -> tuple[Annotated[Model, "model"], ...]',
                )
    model = pipeline.config.model
    trainers = [spec for spec in specs if spec.options.kind == "trainer"]
    if model is not None and not model.builds and trainers:
        raise DefinitionError(
            f"pipeline '{pipeline.name}' uses version {model.version!r} of model "
            f"{model.name!r} but has a @trainer step ('{trainers[0].id}'), which builds a new one",
            where=pipeline.where,
            hint=f'to train, leave the version out: @pipeline(model=Model("{model.name}"))',
        )
    if model is not None:
        return model.to_dict()
    if any(spec.options.kind == "trainer" for spec in specs):
        return {"name": pipeline.name, "version": None, "version_name": None, "description": ""}
    return None


def _run_name(pipeline: PipelineDefinition, config: RunConfig, given: str | None) -> str | None:
    """The run name template to use (None: the engine makes one), checked, naming its source."""
    if given:
        check_run_name(given, source="given with --name or run_name=")
    elif config.run_name:
        check_run_name(config.run_name, source=f"run_name in the run config {config.source}")
    elif pipeline.config.run_name:
        check_run_name(
            pipeline.config.run_name, source="@pipeline(run_name=...)", where=pipeline.where
        )
    return given or config.run_name or pipeline.config.run_name


def _compile_step(
    inv: StepInvocation,
    by_id: dict[str, StepInvocation],
    config: RunConfig,
    tools: Toolbox,
    run_cache: bool,
    forced_cache: bool | None,
) -> StepSpec:
    step = inv.step
    step_cfg = config.steps.get(inv.id)
    bound = _bind(inv, step_cfg.parameters if step_cfg else {}, config.source)
    params, refs = bound.params, bound.inputs
    hints = step.hints
    params, externals = prepare_params(params, hints, owner=f"step '{inv.id}'", where=inv.where)
    for name, value in params.items():
        check_json_param(value, name, owner=f"step '{inv.id}'", where=inv.where)
        check_param_type(value, hints.get(name), name, owner=f"step '{inv.id}'", where=inv.where)
    for arg, ref in refs.items():
        if split_instance(arg)[1] is not None:
            continue  # an element of a list argument: the list's annotation is not per element
        producer = by_id[ref.step_id]
        check_input_type(
            ref.annotation,
            hints.get(arg),
            producer=producer.id,
            output=ref.output,
            consumer=inv.id,
            arg=arg,
            where=inv.where,
        )
    if forced_cache is False:
        cache = False
    elif step_cfg is not None and step_cfg.enable_cache is not None:
        cache = step_cfg.enable_cache
    elif step.config.enable_cache is not None:
        cache = step.config.enable_cache
    else:
        cache = run_cache
    retries = step_cfg.retries if step_cfg and step_cfg.retries is not None else step.config.retries
    delay = (
        step_cfg.retry_delay
        if step_cfg and step_cfg.retry_delay is not None
        else step.config.retry_delay
    )
    options = StepOptions(
        retries=retries,
        retry_delay=float(delay),
        enable_cache=cache,
        on_success=_ref(step.config.on_success),
        on_failure=_ref(step.config.on_failure),
        resources=dict(step.config.resources),
        cache_key=_ref(step.config.cache_key),
        cache_expiration=expiration_seconds(step.config.cache_expiration),
        kind=step.config.kind or "",
        sweep=_checked_sweep(step.config.sweep, params, inv),
        timeout=step.config.timeout,
    )
    return StepSpec(
        id=inv.id,
        name=step.name,
        source=step.source,
        file=step.file,
        line=step.line,
        call_file=inv.call_file,
        call_line=inv.call_line,
        code_hash=tools.code_hash(step.func),
        params=params,
        inputs={arg: ArtifactInput(ref.step_id, ref.output) for arg, ref in refs.items()},
        after=tuple(dict.fromkeys(inv.after)),
        outputs=_outputs(step, tools),
        options=options,
        returns_tuple=step.returns_tuple,
        externals=externals,
        map_over={a: ArtifactInput(r.step_id, r.output) for a, r in bound.map_over.items()},
        gather={a: ArtifactInput(r.step_id, r.output) for a, r in bound.gather.items()},
        lists=tuple(bound.lists),
    )
