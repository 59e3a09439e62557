"""``@step``: mark a plain function as a pipeline step.

A step called outside a pipeline is just the function (unit-test it with no framework)::

    @step(retries=2)
    def train(train: pd.DataFrame, C: float = 1.0) -> LogisticRegression: ...

    train(df, C=0.1)            # plain call: returns a LogisticRegression

Inside a ``@pipeline`` body the same call records an invocation and returns references to the
step's outputs, which the compiler turns into the edges of the plan. Two keywords there are
bevel's: ``id=`` names the invocation (``train(df, C=10, id="train_big")``, the same as
``train.with_options(id="train_big")(df, C=10)``; without it repeated calls are ``train``,
``train_2``...) and ``after=`` orders it without passing data. A function that has a parameter
named ``id`` (or ``after``) receives it, in a pipeline as in a plain call; name such an
invocation with ``with_options(id=...)``. A plain call ignores bevel's two keywords, so a line
from a pipeline body also runs as a plain function call.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import field, replace
from datetime import timedelta
from typing import Any, Generic, ParamSpec, TypeVar, overload

from bevel._dataclass import dataclass
from bevel.authoring.outputs import MISSING, OutputDecl, parse_outputs, returns_tuple
from bevel.authoring.resources import ResourceSettings
from bevel.authoring.resources import normalise as normalise_resources
from bevel.authoring.sweep import sweep_options
from bevel.authoring.tracing import OutputRef, StepInvocation, active_trace
from bevel.errors import DefinitionError

P = ParamSpec("P")
R = TypeVar("R")

Hook = Callable[..., Any]

# Keywords of a step call in a pipeline body that are bevel's, not the function's: ``id=`` names
# the invocation, ``after=`` orders it. A function with a parameter of that name receives it.
CALL_OPTIONS = ("id", "after")


@dataclass(frozen=True)
class StepConfig:
    """Options given to ``@step(...)`` or ``.with_options(...)``."""

    name: str | None = None  # invocation id prefix; defaults to the function name
    retries: int = 0
    retry_delay: float = 0.5
    enable_cache: bool | None = None  # None: inherit from the pipeline / run
    visualize: bool | None = None  # store the outputs' visualizations; None: inherit
    pickle: bool | tuple[str, ...] = False  # opt into pickling all / the named outputs
    on_success: Hook | None = None
    on_failure: Hook | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    # output name -> materializer class or "module:Class" (classes become refs when compiled)
    materializers: dict[str, str | type] = field(default_factory=dict)
    # Extra cache-key ingredient: ``fn(*, step, params, inputs, **_)`` returning a JSON value.
    cache_key: Hook | None = None
    cache_expiration: float | timedelta | None = None  # reuse a cached result only this long
    id: str | None = None  # explicit invocation id (must be unique in the pipeline)
    # "trainer" or "evaluator" (``@trainer``, ``@evaluator``): a step with a meaning for the
    # model control plane; None for a plain ``@step``.
    kind: str | None = None
    # A hyper-parameter sweep of this step (``.sweep(...)``): the checked options as JSON.
    sweep: dict[str, Any] | None = None
    timeout: float | None = None  # seconds; the orchestrator stops the step past it


def _check_config(config: StepConfig, where: str) -> None:
    if not isinstance(config.retries, int) or config.retries < 0:
        raise DefinitionError(
            f"retries must be a non-negative integer, got {config.retries!r}",
            where=where,
            hint="use e.g. @step(retries=2)",
        )
    if not isinstance(config.retry_delay, int | float) or config.retry_delay < 0:
        raise DefinitionError(
            f"retry_delay must be a non-negative number of seconds, got {config.retry_delay!r}",
            where=where,
        )
    expiration = config.cache_expiration
    if expiration is not None and (
        isinstance(expiration, bool)
        or not isinstance(expiration, int | float | timedelta)
        or not (expiration.total_seconds() if isinstance(expiration, timedelta) else expiration) > 0
    ):
        raise DefinitionError(
            f"cache_expiration must be a positive number of seconds or a timedelta, "
            f"got {expiration!r}",
            where=where,
            hint="e.g. @step(cache_expiration=timedelta(hours=6)) or @step(cache_expiration=3600)",
        )
    timeout = config.timeout
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise DefinitionError(
            f"timeout must be a positive number of seconds, got {timeout!r}",
            where=where,
            hint="use e.g. @step(timeout=600) for ten minutes",
        )
    for hook_name in ("on_success", "on_failure", "cache_key"):
        hook = getattr(config, hook_name)
        if hook is not None and not callable(hook):
            raise DefinitionError(f"{hook_name} must be a function", where=where)
    _check_materializers(config.materializers, where)


def _check_materializers(materializers: Any, where: str) -> None:
    example = 'e.g. materializers={"model": ForestMaterializer} or {"model": "mylib.io:Forest"}'
    if not isinstance(materializers, dict):
        raise DefinitionError(
            f"materializers must be a dict of output name -> materializer, got "
            f"{type(materializers).__name__}",
            where=where,
            hint=example,
        )
    for name, value in materializers.items():
        ok_string = isinstance(value, str) and all(value.rpartition(":")[::2])
        if not isinstance(name, str) or not (isinstance(value, type) or ok_string):
            raise DefinitionError(
                f"materializers[{name!r}] is {value!r}: expected a materializer class or a "
                "'module:Class' string",
                where=where,
                hint=example,
            )


class StepDefinition(Generic[P, R]):
    """A function decorated with ``@step``; calling it outside a pipeline just calls it."""

    def __init__(
        self, func: Callable[P, R], config: StepConfig, localns: dict[str, Any] | None = None
    ) -> None:
        self.func = func
        self.config = config
        # Names visible where the step was defined (a step defined inside a function may be
        # annotated with classes local to that function).
        self._localns = localns
        self.name = func.__name__
        code = func.__code__
        self.file = code.co_filename
        self.line = code.co_firstlineno
        self.source = f"{func.__module__}:{func.__qualname__}"
        _check_config(config, self.where)
        if not isinstance(config.resources, dict) or config.resources:
            config = replace(config, resources=normalise_resources(config.resources, self.where))
            self.config = config
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        try:  # evaluated annotations read better in error messages
            return inspect.signature(self.func, eval_str=True, locals=self._localns)
        except Exception:
            return inspect.signature(self.func)

    @functools.cached_property
    def hints(self) -> dict[str, Any]:
        """Evaluated parameter and return annotations (``Annotated`` kept)."""
        import typing

        try:
            return typing.get_type_hints(self.func, localns=self._localns, include_extras=True)
        except Exception as exc:  # NameError for unresolvable forward references, mostly
            raise DefinitionError(
                f"cannot evaluate the annotations of step '{self.name}': {exc}",
                where=self.where,
                hint="import every type used in the step's annotations at module level",
            ) from exc

    @functools.cached_property
    def outputs(self) -> tuple[OutputDecl, ...]:
        self.hints  # noqa: B018 - evaluate (and report) annotation errors first
        decls = parse_outputs(self.hints.get("return", MISSING))
        names = [d.name for d in decls]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DefinitionError(
                f"step '{self.name}' declares the output name(s) {duplicates} more than once",
                where=self.where,
                hint='give each element of the returned tuple its own name: Annotated[T, "name"]',
            )
        return decls

    @functools.cached_property
    def returns_tuple(self) -> bool:
        """Whether the function returns its outputs as a tuple (decided by the annotation)."""
        return returns_tuple(self.hints.get("return", MISSING))

    def with_options(self, **options: Any) -> StepDefinition[P, R]:
        """A copy with other options, e.g. ``train.with_options(retries=3, id="train_big")``."""
        try:
            config = replace(self.config, **_normalise_options(options))
        except TypeError as exc:
            raise DefinitionError(
                f"unknown step option in with_options(): {exc}",
                where=self.where,
                hint=f"valid options: {', '.join(StepConfig.__dataclass_fields__)}",
            ) from exc
        return StepDefinition(self.func, config, self._localns)

    @functools.cached_property
    def _own_call_options(self) -> frozenset[str]:
        """The call-site options (``id``, ``after``) that the function declares as parameters
        of its own: those keywords are the function's, not bevel's."""
        try:
            declared = inspect.signature(self.func).parameters
        except (TypeError, ValueError):  # a callable without a signature takes what it gets
            return frozenset(CALL_OPTIONS)
        return frozenset(
            name
            for name in CALL_OPTIONS
            if name in declared and declared[name].kind is not inspect.Parameter.VAR_KEYWORD
        )

    def sweep(
        self,
        space: dict[str, Any],
        *,
        n_trials: int = 20,
        metric: str,
        direction: str = "maximize",
        parallel: int = 1,
        sampler: str = "tpe",
        seed: int | None = 0,
        pruner: str | dict[str, Any] | None = None,
    ) -> StepDefinition[P, R]:
        """This step as a hyper-parameter sweep on Optuna; call the result like the step.

        ``space`` maps step parameters to ranges (``(1, 8)`` integers, ``(0.0, 1.0)`` floats,
        ``{"low": 1e-4, "high": 1.0, "log": True}``, or a list of choices). Each of the
        ``n_trials`` trials is a step run of its own (``<id>.trial-<n>``, cached like any step),
        ``parallel`` at a time on the active orchestrator; the trial with the best ``metric``
        (logged with ``log_metric`` by the step, or an output of that name) gives the outputs
        that steps downstream receive. ``sampler``: ``tpe`` (default), ``random``, ``qmc`` or
        ``grid``; with a ``seed`` a re-run suggests the same trials, so it is fully cached.
        ``pruner`` (``"median"``, ``"percentile"``, or a dict with its arguments) stops trials
        that report worse intermediate values than the other trials had at the same step
        (``current.trial.report(value, step)``, ``current.trial.should_prune()``, then
        ``raise TrialPruned()``); pruned trials are recorded as pruned, not failed::

            model = train.sweep({"C": {"low": 1e-3, "high": 10.0, "log": True}},
                                n_trials=20, metric="accuracy", parallel=4)(train_df)
        """
        options = sweep_options(
            space, n_trials=n_trials, metric=metric, direction=direction, parallel=parallel,
            sampler=sampler, seed=seed, where=self.where, pruner=pruner,
        )  # fmt: skip
        names = [n for n, p in self.signature.parameters.items()]
        for pname in options["space"]:
            if pname not in names:
                raise DefinitionError(
                    f"sweep space {pname!r} is not a parameter of step '{self.name}'",
                    where=self.where,
                    hint=f"its parameters are: {', '.join(names) or '(none)'}",
                )
        return StepDefinition(self.func, replace(self.config, sweep=options), self._localns)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Outside a pipeline: the function (bevel's ``id=``/``after=`` dropped, so a line from
        a pipeline body runs unchanged). Inside: record an invocation and return output refs."""
        own = self._own_call_options
        trace = active_trace()
        if trace is None:
            for option in CALL_OPTIONS:
                if option not in own:
                    kwargs.pop(option, None)
            return self.func(*args, **kwargs)
        return self._record(sys._getframe(1), args, dict(kwargs), mapped=False)  # type: ignore[no-any-return]

    def map(self, *args: Any, **kwargs: Any) -> Any:
        """Call the step once per element of a list produced at run time, inside a pipeline:
        ``scores = evaluate.map(models, test=unmapped(test_df))``.

        Every step output passed (a list, or the outputs of another mapped step) is mapped
        over, element by element (several: zipped, of equal length); literals and
        ``unmapped(...)`` outputs go whole to each call. Each call is a step run of its own
        (``evaluate[0]``, ``evaluate[1]``...) with its own cache entry; the result is the list
        of their outputs, for a step taking a list (fan-in) or another ``.map``.
        """
        if active_trace() is None:
            raise DefinitionError(
                f"{self.name}.map() maps a step over a list of step outputs inside a @pipeline",
                where=self.where,
                hint=f"outside a pipeline, call the function: [{self.name}(x) for x in items]",
            )
        return self._record(sys._getframe(1), args, kwargs, mapped=True)

    def _record(
        self, frame: Any, args: tuple[Any, ...], kwargs: dict[str, Any], *, mapped: bool
    ) -> Any:
        trace = active_trace()
        assert trace is not None
        own = self._own_call_options
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        after = None if "after" in own else kwargs.pop("after", None)
        call_id = None if "id" in own else kwargs.pop("id", None)
        if call_id is not None and not isinstance(call_id, str):
            raise DefinitionError(
                f"id= names this call of step '{self.name}' and must be a string, got "
                f"{type(call_id).__name__}",
                where=where,
                hint=f'e.g. {self.name}(..., id="{self.name}_2")',
            )
        invocation = trace.add(
            self,
            args=args,
            kwargs=kwargs,
            after=_after_ids(after, where),
            call_file=frame.f_code.co_filename,
            call_line=frame.f_lineno,
            mapped=mapped,
            call_id=call_id,
        )
        return _outputs_of(invocation)

    def __repr__(self) -> str:
        return f"<step {self.name} ({self.source})>"


def _after_ids(after: Any, where: str) -> tuple[str, ...]:
    if after is None:
        return ()
    items: Sequence[Any] = after if isinstance(after, list | tuple) else (after,)
    ids: list[str] = []
    for item in items:
        if isinstance(item, OutputRef):
            ids.append(item.step_id)
        elif isinstance(item, StepInvocation):
            ids.append(item.id)
        elif isinstance(item, tuple):
            ids.extend(_after_ids(item, where))
        else:
            raise DefinitionError(
                f"after= takes step outputs or invocations, got {type(item).__name__}",
                where=where,
                hint="pass what an earlier step call returned: step_b(after=step_a())",
            )
    return tuple(ids)


def _outputs_of(invocation: StepInvocation) -> Any:
    refs = invocation.output_refs()
    if not refs:
        return invocation
    if len(refs) == 1 and not invocation.multi_output:
        return refs[0]
    return tuple(refs)


def _normalise_options(options: dict[str, Any]) -> dict[str, Any]:
    if isinstance(options.get("pickle"), list | tuple):
        options = {**options, "pickle": tuple(options["pickle"])}
    return options


@overload
def step(func: Callable[P, R], /) -> StepDefinition[P, R]: ...


@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.5,
    enable_cache: bool | None = None,
    visualize: bool | None = None,
    pickle: bool | Sequence[str] = False,
    on_success: Hook | None = None,
    on_failure: Hook | None = None,
    resources: dict[str, Any] | ResourceSettings | None = None,
    materializers: dict[str, str | type] | None = None,
    cache_key: Hook | None = None,
    cache_expiration: float | timedelta | None = None,
    timeout: float | None = None,
) -> Callable[[Callable[P, R]], StepDefinition[P, R]]: ...


def step(func: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Make ``func`` a pipeline step; usable bare (``@step``) or with options (``@step(retries=2)``).

    Options: ``retries`` and ``retry_delay`` (seconds, doubled after each failure),
    ``enable_cache``, ``visualize`` (False: store no statistics or previews with the outputs),
    ``pickle`` (True or output names: explicit opt-in to pickling outputs that
    have no materializer), ``on_success`` / ``on_failure`` hooks (keyword-only:
    ``def notify(*, step, error=None, **_)``), ``resources`` (e.g. ``{"cpu": 2, "gpu": 1,
    "memory": "4GiB"}`` or a :class:`~bevel.authoring.resources.ResourceSettings`: what
    orchestrators place the step by), ``timeout`` (seconds: the step is stopped past it), ``name``,
    ``materializers`` (output name -> a materializer class or its ``"module:Class"``),
    ``cache_key`` (``def key(*, step, params, inputs, **_)`` returning a JSON value that becomes
    one more cache-key ingredient, e.g. a dataset version read from a catalog) and
    ``cache_expiration`` (seconds or a ``timedelta``: an older cached result is computed again).
    """
    return _decorator(func, options)


def _decorator(func: Callable[P, R] | None, options: dict[str, Any]) -> Any:
    """``@step``'s work, shared with ``@trainer`` and ``@evaluator`` (the frame depths below
    count from the public decorator's caller, whichever decorator it called)."""
    options = _normalise_options({k: v for k, v in options.items() if v is not None})

    def decorate(f: Callable[P, R], depth: int = 1) -> StepDefinition[P, R]:
        caller = sys._getframe(depth)
        localns = caller.f_locals if caller.f_code.co_name != "<module>" else None
        if isinstance(f, StepDefinition):
            raise DefinitionError(f"{f.name} is already a step", hint="apply @step once")
        if not callable(f):
            raise DefinitionError(f"@step decorates functions, got {type(f).__name__}")
        try:
            config = StepConfig(**options)
        except TypeError as exc:
            code = getattr(f, "__code__", None)
            where = f"{code.co_filename}:{code.co_firstlineno}" if code else None
            raise DefinitionError(
                f"unknown option for @step: {exc}",
                where=where,
                hint=f"valid options: {', '.join(StepConfig.__dataclass_fields__)}",
            ) from exc
        return StepDefinition(f, config, localns)

    if func is not None:
        return decorate(func, depth=3)
    return decorate


def trainer(func: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """A step that trains the pipeline's model: ``@trainer`` or ``@trainer(gpu=1, ...)``.

    The same options as :func:`step`, plus ``gpu=N`` (short for ``resources={"gpu": N}``). Its
    output (the one named ``model`` when it has several) becomes a new version of the
    pipeline's model (``@pipeline(model=Model("churn"))``; without one, a model named after the
    pipeline), linked to the run and to the input artifacts it was trained on. Inside it,
    ``current.model`` is that version and ``current.device`` the device to train on.
    """
    gpu = options.pop("gpu", None)
    if gpu is not None:
        options["resources"] = {**(options.get("resources") or {}), "gpu": gpu}
    return _decorator(func, {**options, "kind": "trainer"})


def evaluator(func: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """A step that evaluates the model version the run builds: ``@evaluator``.

    The same options as :func:`step`. The metrics it logs (``log_metric``) become the metrics of
    the run's model version, and its outputs are linked to that version as its evaluation;
    promotion rules (``promote_if_better``) compare those metrics.
    """
    return _decorator(func, {**options, "kind": "evaluator"})
