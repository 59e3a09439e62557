"""Tracing a ``@pipeline`` body: step calls are recorded, not executed.

While a pipeline body runs under :func:`tracing`, each step call adds a :class:`StepInvocation` and
returns :class:`OutputRef` placeholders that later calls pass on as inputs. The compiler turns the
recorded invocations into a Plan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import field
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel.errors import DefinitionError

if TYPE_CHECKING:
    from bevel.authoring.step import StepDefinition


@dataclass(frozen=True)
class OutputRef:
    """A placeholder for one output of a step invocation inside a pipeline body."""

    step_id: str
    output: str
    annotation: Any = None

    def __bool__(self) -> bool:
        raise DefinitionError(
            f"the output '{self.output}' of step '{self.step_id}' has no value while the pipeline "
            "is being defined, so it cannot be used in an if/while condition",
            hint="move the decision into a step, or use a pipeline parameter",
        )

    def __iter__(self) -> Iterator[Any]:
        raise DefinitionError(
            f"the output '{self.output}' of step '{self.step_id}' is a single artifact and cannot "
            "be unpacked",
            hint='declare several outputs with -> tuple[Annotated[A, "a"], Annotated[B, "b"]]',
        )


@dataclass(frozen=True)
class MappedRef(OutputRef):
    """One output of a mapped step (``evaluate.map(models)``): a list known only at run time.

    Passed to a plain step call it is that call's list argument (fan-in: the step receives
    every mapped call's result, in order); passed to another ``.map`` it is mapped over
    element by element."""

    def __iter__(self) -> Iterator[Any]:
        raise DefinitionError(
            f"the outputs of the mapped step '{self.step_id}' are known only at run time, so"
            " they cannot be unpacked or iterated while the pipeline is being defined",
            hint="pass them whole to a step that takes a list (fan-in), or map another step"
            " over them with .map()",
        )


@dataclass(frozen=True)
class Unmapped:
    """``unmapped(test_df)``: an argument of ``.map`` passed whole to every mapped call."""

    value: Any


def unmapped(value: Any) -> Unmapped:
    """Pass ``value`` (a step output) whole to each call of ``step.map(...)`` instead of mapping
    over it: ``evaluate.map(models, test=unmapped(test_df))``."""
    return Unmapped(value)


@dataclass
class StepInvocation:
    """One call of a step in a pipeline body."""

    id: str
    step: StepDefinition[Any, Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    after: tuple[str, ...]
    call_file: str
    call_line: int
    multi_output: bool = False
    mapped: bool = False  # called with .map(): one step run per element, at run time

    @property
    def where(self) -> str:
        return f"{self.call_file}:{self.call_line}"

    def output_refs(self) -> list[OutputRef]:
        ref = MappedRef if self.mapped else OutputRef
        return [ref(self.id, d.name, d.annotation) for d in self.step.outputs]


@dataclass
class Trace:
    """The invocations recorded while one pipeline body ran, in call order."""

    invocations: list[StepInvocation] = field(default_factory=list)
    # the ids taken, and per base name the next counter to try: each call costs O(1), not a
    # rescan of every earlier invocation (a 1,000-call pipeline body was quadratic)
    _taken: set[str] = field(default_factory=set, repr=False, compare=False)
    _next: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def add(
        self,
        step: StepDefinition[Any, Any],
        *,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        after: tuple[str, ...],
        call_file: str,
        call_line: int,
        mapped: bool = False,
        call_id: str | None = None,
    ) -> StepInvocation:
        """Record one call; its id is ``call_id`` (``train(x, id="...")``), else the
        ``with_options(id=...)`` one, else the step's name with a counter (``train_2``)."""
        taken = self._taken
        explicit = call_id if call_id is not None else step.config.id
        if explicit is not None:
            step_id = explicit
            if step_id in taken:
                raise DefinitionError(
                    f"two step invocations share the id '{step_id}'",
                    where=f"{call_file}:{call_line}",
                    hint=f'give each invocation its own id: {step.name}(..., id="...") or '
                    f"{step.name}.with_options(id=...)",
                )
        else:
            base = step.config.name or step.name
            n = self._next.get(base, 1)
            step_id = base if n == 1 else f"{base}_{n}"
            while step_id in taken:
                n += 1
                step_id = f"{base}_{n}"
            self._next[base] = n + 1
        step.outputs  # noqa: B018 - report output declaration errors at the call
        invocation = StepInvocation(
            id=step_id,
            step=step,
            args=args,
            kwargs=kwargs,
            after=after,
            call_file=call_file,
            call_line=call_line,
            multi_output=step.returns_tuple,
            mapped=mapped,
        )
        self.invocations.append(invocation)
        taken.add(step_id)
        return invocation


_TRACE: ContextVar[Trace | None] = ContextVar("bevel_trace", default=None)
# The script being imported to resolve a class reference (see importing_for_reference).
_IMPORTING: ContextVar[str | None] = ContextVar("bevel_importing_reference", default=None)


def active_trace() -> Trace | None:
    return _TRACE.get()


@contextlib.contextmanager
def importing_for_reference(path: str) -> Iterator[None]:
    """Import ``path`` only to find a class in it: a pipeline the file runs at its top level is
    refused instead of run, because loading an artifact must never start a run."""
    token = _IMPORTING.set(path)
    try:
        yield
    finally:
        _IMPORTING.reset(token)


@contextlib.contextmanager
def tracing() -> Iterator[Trace]:
    """Record step calls made in this context instead of executing them."""
    importing = _IMPORTING.get()
    if importing is not None:
        raise DefinitionError(
            f"{importing} was imported to load a class it defines, and it runs a pipeline when "
            "imported, which loading an artifact must not do",
            hint='put the pipeline call at the end of the script under `if __name__ == "__main__":`'
            ", or move the classes your steps return into a module of their own",
        )
    if _TRACE.get() is not None:
        raise DefinitionError(
            "a pipeline was called while another pipeline was being defined",
            hint="call steps, not pipelines, inside a @pipeline body",
        )
    trace = Trace()
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)
