"""Step parameters as recorded, and as a step is called with them.

A parameter is recorded (in the plan, the step run and the cache key) as a JSON value, so a
tuple becomes a list and an ``IntEnum`` member its value. The step must see what was recorded,
or a step would behave differently in-process (where the Python value is at hand) than from a
plan read back as JSON (a remote worker, a re-run), while the cache key treats both alike.
:func:`recorded` gives that JSON form; :func:`called` rebuilds what the step's annotation asks
for and the JSON form cannot hold, deterministically from the recorded value:

* ``tuple[...]`` / ``tuple`` (also inside ``list[...]``, ``dict[str, ...]``, ``Optional``):
  the list is passed as a tuple;
* ``bevel.ExternalPath`` (an :class:`~bevel.authoring.external.External` parameter): the
  recorded path string is passed as a ``pathlib.Path``.

Everything else is passed as recorded (``def f(pair=(1, 2))`` without an annotation receives
``[1, 2]``).
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.authoring.external import External
from bevel.errors import ParameterError

if TYPE_CHECKING:
    import pathlib
else:  # only an ExternalPath parameter is passed as a Path
    pathlib = lazy_module("pathlib")


def recorded(value: Any) -> Any:
    """The JSON form of a parameter value: tuples as lists, subclasses of builtins (an
    ``IntEnum``, a ``str`` enum, a ``NamedTuple``) as their plain value. Values that are not
    JSON are returned as they are (the compiler reports them)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, list | tuple):
        return [recorded(item) for item in value]
    if isinstance(value, Mapping):
        return {key: recorded(item) for key, item in value.items()}
    return value


def external_of(annotation: Any) -> External | None:
    """The :class:`External` marker of an ``Annotated[..., External(...)]`` annotation."""
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, External):
                return meta
    return None


def called(value: Any, annotation: Any) -> Any:
    """``value`` (as recorded) shaped as ``annotation`` says (see the module docstring)."""
    if annotation is None or value is None:
        return value
    if external_of(annotation) is not None and isinstance(value, str):
        return pathlib.Path(value)
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        shaped = [a for a in args if a is not type(None)]
        return called(value, shaped[0]) if len(shaped) == 1 else value
    if annotation is tuple or origin is tuple:
        if not isinstance(value, list):
            return value
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(called(item, args[0]) for item in value)
        if args and len(args) == len(value):
            return tuple(called(item, arg) for item, arg in zip(value, args))
        return tuple(value)
    if origin is list and args and isinstance(value, list):
        return [called(item, args[0]) for item in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {key: called(item, args[1]) for key, item in value.items()}
    return value


def prepare(
    params: Mapping[str, Any], hints: Mapping[str, Any], *, owner: str, where: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Compile time: the parameters as recorded, and the external inputs among them
    (parameter name -> ``External.check``)."""
    externals: dict[str, str] = {}
    result: dict[str, Any] = {}
    for name, value in params.items():
        marker = external_of(hints.get(name))
        if marker is not None:
            if not isinstance(value, str | os.PathLike):
                raise ParameterError(
                    f"parameter '{name}' of {owner} is an external input and needs a path, "
                    f"got {type(value).__name__} {value!r}",
                    where=where,
                    hint=f"pass a path: -p {name}=data/file.csv, or {name}=Path('data/file.csv')",
                )
            value = os.fspath(value)
            externals[name] = marker.check
        result[name] = recorded(value)
    return result, externals


def called_params(params: Mapping[str, Any], hints: Mapping[str, Any]) -> dict[str, Any]:
    """Every recorded parameter shaped by the step's annotations (``hints``)."""
    return {name: called(value, hints.get(name)) for name, value in params.items()}
