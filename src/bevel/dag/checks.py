"""Compile-time checks: small functions that fail before anything runs, pointing at user code.

Each check raises a :class:`~bevel.errors.BevelError` subclass with ``where="file.py:line"`` and a
hint saying how to fix the problem.
"""

from __future__ import annotations

import json
import math
import os
import typing
from collections import abc
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from bevel import names
from bevel._text import with_article
from bevel.authoring.tracing import StepInvocation
from bevel.bounded import check_nesting
from bevel.errors import ConfigError, DefinitionError, MaterializerNotFound, ParameterError

_JSON_SCALARS = (str, int, float, bool, type(None))


def _json_problem(value: Any, path: str) -> str | None:
    """The path and type of the first non-JSON value inside ``value``, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} = {value!r} (NaN/infinity is not JSON)"
    if isinstance(value, _JSON_SCALARS):
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problem = _json_problem(item, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has a non-string key {key!r}"
            problem = _json_problem(item, f"{path}.{key}")
            if problem:
                return problem
        return None
    return f"{path} is {with_article(type(value).__module__)}.{type(value).__qualname__}"


def check_json_param(value: Any, name: str, *, owner: str, where: str) -> None:
    """Parameters must be JSON literals: they are recorded and part of the cache key."""
    try:
        check_nesting(value, what=f"parameter '{name}' of {owner}")
    except ConfigError as err:  # before the recursive walks below meet it
        raise ParameterError(err.message, where=where, hint=err.hint) from None
    problem = _json_problem(value, name)
    if problem:
        hint = (
            "pass plain literals (numbers, strings, lists, dicts) as parameters; pass data "
            "between steps as step outputs instead"
        )
        if isinstance(value, os.PathLike):
            hint = (
                f"annotate it `{name}: bevel.ExternalPath` to make the data it points at part "
                "of the cache key (the step then gets a Path), or pass str(path)"
            )
        raise ParameterError(
            f"parameter '{name}' of {owner} is not JSON-serialisable: {problem}",
            where=where,
            hint=hint,
        )
    json.dumps(value)  # cheap final guard for exotic subclasses


def _origin(tp: Any) -> Any:
    return get_origin(tp) or tp


def _strip_annotated(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def types_compatible(produced: Any, expected: Any) -> bool:
    """Whether an output annotated ``produced`` may feed an input annotated ``expected``.

    Lenient where typing is unknown (``Any``, missing, unions, type variables); strict for plain
    classes, which catches the common mistake of wiring the wrong output.
    """
    produced, expected = _strip_annotated(produced), _strip_annotated(expected)
    if produced is None or expected is None or expected is Any or produced is Any:
        return True
    # Split the produced union first: every value it may hold must fit the expected type, which
    # may itself be a union (``int | None`` feeds ``int | None``).
    if _is_union(produced):
        return all(types_compatible(arm, expected) for arm in get_args(produced))
    if _is_union(expected):
        return any(types_compatible(produced, arm) for arm in get_args(expected))
    p, e = _origin(produced), _origin(expected)
    if not isinstance(p, type) or not isinstance(e, type):
        return True
    if e is float and p is int:
        return True  # PEP 484 numeric tower
    return issubclass(p, e)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) is Union or type(tp).__name__ == "UnionType"


def check_input_type(
    produced: Any, expected: Any, *, producer: str, output: str, consumer: str, arg: str, where: str
) -> None:
    if not types_compatible(produced, expected):
        raise DefinitionError(
            f"step '{consumer}' expects '{arg}' to be {_type_name(expected)}, but it is fed the "
            f"output '{output}' of step '{producer}', annotated {_type_name(produced)}",
            where=where,
            hint="wire the right output, or fix one of the two annotations",
        )


def _type_name(tp: Any) -> str:
    tp = _strip_annotated(tp)
    if isinstance(tp, type) and not get_args(tp):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


_CHECKED_PARAM_TYPES = (bool, int, float, str, list, dict, tuple)


def _param_type_ok(value: Any, annotation: Any) -> bool:
    annotation = _strip_annotated(annotation)
    origin = get_origin(annotation)
    if origin is Union or type(annotation).__name__ == "UnionType":
        return any(_param_type_ok(value, arm) for arm in get_args(annotation))
    if annotation is type(None):
        return value is None
    expected = origin or annotation
    if expected not in _CHECKED_PARAM_TYPES:
        return True  # a type we cannot judge from a JSON value: leave it to the step
    if isinstance(value, bool) and expected is not bool:
        return False
    if expected is float:
        return isinstance(value, int | float)
    if expected is tuple:
        return isinstance(value, list | tuple)
    return isinstance(value, expected)


def check_param_type(value: Any, annotation: Any, name: str, *, owner: str, where: str) -> None:
    """A literal parameter must match a plain annotation (``C: float`` given ``"abc"`` fails)."""
    if annotation is None or annotation is Any or _param_type_ok(value, annotation):
        return
    raise ParameterError(
        f"parameter '{name}' of {owner} is annotated {_type_name(annotation)} but got "
        f"{type(value).__name__} {value!r}",
        where=where,
        hint=f"pass {with_article(_type_name(annotation))} (on the command line: -p {name}=...)",
    )


# --- outputs stored as JSON ---------------------------------------------------------------------

_JSON_LEAVES = (str, int, float, bool, type(None))
_SEQUENCES = (list, tuple, abc.Sequence, abc.MutableSequence)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)
# numpy scalar bases whose values JSON stores as numbers/booleans/strings (json_builtins); by
# name, so that checking an annotation never imports numpy
_NUMPY_JSON_BASES = frozenset({"integer", "floating", "bool_", "bool", "str_"})


def _numpy_json_scalar(tp: type) -> bool:
    return any(
        base.__module__ == "numpy" and base.__name__ in _NUMPY_JSON_BASES for base in tp.__mro__
    )


def json_type_problem(tp: Any, path: str = "the value") -> str | None:
    """Where a value annotated ``tp`` holds something JSON cannot store, or None.

    ``dict[str, list[datetime]]`` -> ``"the value[<key>][<i>] is a datetime"``. Lenient where the
    annotation says nothing (bare ``dict``, ``Any``, type variables, forward references): the
    run-time check of the returned value covers those.
    """
    tp = _strip_annotated(tp)
    if tp is Any or tp is None or tp is type(None) or isinstance(tp, TypeVar | str):
        return None
    if _is_union(tp):
        for arm in get_args(tp):
            problem = json_type_problem(arm, path)
            if problem:
                return problem
        return None
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return None
    if origin in _SEQUENCES:
        items = [a for a in args if a is not Ellipsis]
        for i, arg in enumerate(items):
            index = i if origin is tuple and Ellipsis not in args else "<i>"
            problem = json_type_problem(arg, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if origin in _MAPPINGS:
        if args:
            key = _strip_annotated(args[0])
            if not (key is str or key is Any or get_origin(key) is Literal):
                return f"{path} has keys of type {_type_name(key)} (JSON keys are strings)"
            return json_type_problem(args[1], f"{path}[<key>]")
        return None
    if origin is not None:  # another generic: set[int], deque[str], Callable[..., int]
        return f"{path} is {with_article(_type_name(tp))}"
    if not isinstance(tp, type):
        return None  # NewType, ParamSpec...: leave it to the run-time check
    if tp in _JSON_LEAVES or tp in (list, tuple, dict) or _numpy_json_scalar(tp):
        return None
    if typing.is_typeddict(tp):  # a plain dict at run time, with known fields
        return _fields_problem(tp, path)
    name = tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return f"{path} is {with_article(name)}"  # as the run-time check names it


def _fields_problem(tp: type, path: str) -> str | None:
    try:
        hints = typing.get_type_hints(tp)
    except Exception:  # unresolvable forward references: leave it to the run-time check
        return None
    for name, field in hints.items():
        problem = json_type_problem(field, f"{path}[{name!r}]")
        if problem:
            return problem
    return None


def _output_problem(annotation: Any) -> str | None:
    """Like :func:`json_type_problem`, but for the output itself, where a subclass of a builtin
    (an IntEnum, a NamedTuple, an OrderedDict) is fine: it is rebuilt from the recorded type."""
    tp = _strip_annotated(annotation)
    path = "the value"
    if isinstance(tp, type) and not typing.is_typeddict(tp):
        if issubclass(tp, tuple) and hasattr(tp, "_fields"):  # a NamedTuple: check its fields
            return _fields_problem(tp, path)
        if issubclass(tp, (*_JSON_LEAVES, list, tuple, dict)):
            return None
    return json_type_problem(tp, path)


def check_json_output(annotation: Any, *, step: str, output: str, where: str, hint: str) -> None:
    """An output the JSON materializer stores must be JSON all the way down: caught here,
    before the step runs, rather than after its work is done."""
    problem = _output_problem(annotation)
    if problem is None:
        return
    raise MaterializerNotFound(
        f"the output '{output}' of step '{step}' is annotated {_type_name(annotation)}, "
        f"stored as JSON, but {problem}, which JSON cannot store",
        where=where,
        hint=hint,
    )


def check_step_names(inv: StepInvocation) -> None:
    """A step's id, name and output names follow :mod:`bevel.names`: they become file names
    (its log) and parts of artifact names. The error points at the call or the definition."""
    step = inv.step
    names.check(
        "step id",
        inv.id,
        where=inv.where,
        error=DefinitionError,
        hint=f'give this call another id: {step.name}(..., id="...") or '
        f"{step.name}.with_options(id=...)",
    )
    names.check(
        "step name", step.name, where=step.where, error=DefinitionError, hint="rename the function"
    )
    for decl in step.outputs:
        names.check(
            "output name",
            decl.name,
            source=f"of step '{step.name}'",
            where=step.where,
            error=DefinitionError,
            hint='rename it in the return annotation: Annotated[T, "name"]',
        )


def check_run_name(template: str, *, source: str, where: str | None = None) -> None:
    """A run name (``{date}`` and ``{time}`` expanded as they will be) follows
    :mod:`bevel.names`, with the longer limit of run names."""
    expanded = template.replace("{date}", "20240101").replace("{time}", "120000")
    names.check(
        "run name",
        expanded,
        source=source,
        limit=names.MAX_RUN_NAME,
        where=where,
        hint="choose another run name, or leave it out to get one made of the pipeline name "
        "and the time",
    )


def check_list_output(annotation: Any, spec: Any, output: str) -> None:
    """A step mapped over an output needs a list there: refuse an annotation that says
    otherwise (unannotated outputs are checked when the step returns)."""
    if annotation is None or annotation is Any:
        return
    declared = annotation
    if typing.get_origin(declared) is typing.Annotated:
        declared = typing.get_args(declared)[0]
    if typing.get_origin(declared) is tuple and len(spec.outputs) > 1:
        output_names = [o.name for o in spec.outputs]
        declared = typing.get_args(declared)[output_names.index(output)]
        if typing.get_origin(declared) is typing.Annotated:
            declared = typing.get_args(declared)[0]
    origin = typing.get_origin(declared) or declared
    sequences = (list, tuple, abc.Sequence, abc.Iterable)
    if origin in sequences:
        return
    raise DefinitionError(
        f"a step is mapped over the output '{output}' of step '{spec.id}', which is declared"
        f" as {getattr(declared, '__name__', declared)}, not a list",
        where=spec.where,
        hint="map over an output declared as list[...] (each element becomes one call)",
    )
