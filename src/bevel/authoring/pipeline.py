"""``@pipeline``: a function whose body wires steps together.

Calling a pipeline runs it on the active stack and returns the recorded run::

    @pipeline
    def training(n_rows: int = 1000, C: float = 1.0):
        train_df, test_df = split(load(n_rows))
        evaluate(train(train_df, C=C), test_df)

    run = training(C=0.5)
    training.with_options(config="run.yaml", enable_cache=False)()
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, overload

from bevel._dataclass import dataclass
from bevel.authoring.model import Model
from bevel.authoring.tracing import Trace, tracing
from bevel.errors import DefinitionError, ParameterError

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class PipelineConfig:
    name: str | None = None
    enable_cache: bool = True
    visualize: bool = True  # store visualizations (statistics, previews) with the artifacts
    run_name: str | None = None
    config: str | Path | dict[str, Any] | None = None  # a YAML run config (file or dict)
    # The stack to run on: a name, or a built bevel.stack.stack.Stack (typed Any: authoring sits
    # below the stack layer). None: the active stack.
    stack: Any = None
    # The model the pipeline builds (a training pipeline) or uses (an inference pipeline):
    # a bevel.authoring.model.Model.
    model: Model | None = None


class PipelineDefinition:
    """A function decorated with ``@pipeline``; calling it runs the pipeline."""

    def __init__(self, func: Callable[..., Any], config: PipelineConfig) -> None:
        self.func = func
        self.config = config
        self.name = config.name or func.__name__
        code = func.__code__
        self.file = code.co_filename
        self.line = code.co_firstlineno
        self.source = f"{func.__module__}:{func.__qualname__}"
        functools.update_wrapper(self, func)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.func)

    def bind(self, params: dict[str, Any]) -> dict[str, Any]:
        """All pipeline parameters with defaults applied; unknown or missing ones are errors."""
        sig = self.signature
        known = [n for n, p in sig.parameters.items() if p.kind is not p.VAR_KEYWORD]
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        unknown = [k for k in params if k not in sig.parameters]
        if unknown and not accepts_any:
            raise ParameterError(
                f"pipeline '{self.name}' has no parameter(s) {', '.join(map(repr, unknown))}",
                where=self.where,
                hint=f"its parameters are: {', '.join(known) or '(none)'}",
            )
        values: dict[str, Any] = {}
        for pname, p in sig.parameters.items():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if pname in params:
                values[pname] = params[pname]
            elif p.default is not p.empty:
                values[pname] = p.default
            else:
                raise ParameterError(
                    f"pipeline '{self.name}' needs a value for the parameter '{pname}'",
                    where=self.where,
                    hint=f"pass it: {self.name}({pname}=...) or bevel run ... -p {pname}=...",
                )
        if accepts_any:
            values.update({k: v for k, v in params.items() if k not in values})
        return values

    def trace(self, params: dict[str, Any]) -> Trace:
        """Run the body with ``params`` (already bound), recording step calls."""
        with tracing() as trace:
            result = self.func(**params)
        if inspect.iscoroutine(result):
            result.close()
            raise DefinitionError(
                f"pipeline '{self.name}' is an async function",
                where=self.where,
                hint="define pipelines with a plain def",
            )
        if not trace.invocations:
            raise DefinitionError(
                f"pipeline '{self.name}' calls no steps",
                where=self.where,
                hint="call @step functions inside the pipeline body",
            )
        return trace

    def with_options(self, **options: Any) -> PipelineDefinition:
        """A copy with other options: ``config=``, ``run_name=``, ``enable_cache=``,
        ``visualize=``, ``name=``,
        ``stack=`` (a stack name such as ``"team"``)."""
        try:
            return PipelineDefinition(self.func, replace(self.config, **options))
        except TypeError as exc:
            raise DefinitionError(
                f"unknown pipeline option: {exc}",
                where=self.where,
                hint=f"valid options: {', '.join(PipelineConfig.__dataclass_fields__)}",
            ) from exc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the pipeline on its stack (default: the active one) and return its RunView."""
        if args:
            kwargs = {**self._positional(args, kwargs), **kwargs}
        # The one whitelisted upward import: calling a pipeline runs it.
        from bevel.api import run_pipeline

        return run_pipeline(self, params=kwargs)

    def _positional(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Name positional arguments as Python would, refusing a value given twice."""
        sig = self.signature
        positional = [
            n
            for n, p in sig.parameters.items()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        keyword_only = [n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY]
        if len(args) > len(positional):
            every = ", ".join(f"{n}=..." for n in positional + keyword_only)
            raise ParameterError(
                f"pipeline '{self.name}' takes {len(positional)} positional parameter(s), "
                f"got {len(args)}",
                where=self.where,
                hint=f"pass parameters by name: {self.name}({every})",
            )
        named = dict(zip(positional, args, strict=False))
        twice = [n for n in named if n in kwargs]
        if twice:
            raise ParameterError(
                f"pipeline '{self.name}' got more than one value for the parameter(s) "
                f"{', '.join(map(repr, twice))} (positionally and by name)",
                where=self.where,
                hint="pass each parameter once",
            )
        return named

    def __repr__(self) -> str:
        return f"<pipeline {self.name} ({self.source})>"


@overload
def pipeline(func: Callable[..., Any], /) -> PipelineDefinition: ...


@overload
def pipeline(
    *,
    name: str | None = None,
    enable_cache: bool = True,
    visualize: bool = True,
    run_name: str | None = None,
    config: str | Path | dict[str, Any] | None = None,
    stack: Any = None,
    model: Model | None = None,
) -> Callable[[Callable[..., Any]], PipelineDefinition]: ...


def pipeline(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make ``func`` a pipeline; usable bare (``@pipeline``) or with options."""

    def decorate(f: Callable[..., Any]) -> PipelineDefinition:
        try:
            config = PipelineConfig(**options)
        except TypeError as exc:
            raise DefinitionError(
                f"unknown option for @pipeline: {exc}",
                hint=f"valid options: {', '.join(PipelineConfig.__dataclass_fields__)}",
            ) from exc
        if config.model is not None and not isinstance(config.model, Model):
            raise DefinitionError(
                f"@pipeline(model=...) takes a bevel.Model, got {type(config.model).__name__}",
                where=f"{f.__code__.co_filename}:{f.__code__.co_firstlineno}",
                hint='e.g. @pipeline(model=Model("churn"))',
            )
        return PipelineDefinition(f, config)

    if func is not None:
        return decorate(func)
    return decorate
