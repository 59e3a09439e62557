"""Builtins and containers (int, float, str, bool, None, list, dict, tuple) as one JSON file.

JSON is readable by any tool and safe to load, but it silently turns int dict keys into strings
and numpy floats into plain floats. So the whole value is checked first, and anything that would
not come back as it went in is an error that names the offending item and its type.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from bevel.errors import ArtifactError

FILENAME = "data.json"

_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_BUILTINS: tuple[type, ...] = (*_SCALARS, list, dict, tuple)


def check_json(value: Any, what: str = "the value") -> None:
    """Raise ArtifactError naming the first item of ``value`` that JSON cannot round-trip.

    Only containers are pushed on the stack and paths are built only on error, so checking a
    list of a million floats stays cheap.
    """
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind is list or kind is tuple:
            for i, child in enumerate(item):
                if type(child) not in _SCALARS:
                    stack.append((child, (*path, i)))
        elif kind is dict:
            for key, child in item.items():
                if type(key) is not str:
                    raise _not_json(what, path, key, "a dict key of type")
                if type(child) not in _SCALARS:
                    stack.append((child, (*path, key)))
        elif kind not in _SCALARS:
            raise _not_json(what, path, item, "a")


def _not_json(what: str, path: tuple[Any, ...], item: Any, article: str) -> ArtifactError:
    where = what + "".join(f"[{p!r}]" for p in path)
    kind = type(item)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return ArtifactError(
        f"{where} is {article} {name} ({item!r:.80}), which JSON cannot store",
        hint=(
            "convert it to int/float/str/bool/None/list/dict with str keys (e.g. `float(x)`, "
            "`x.tolist()`), give the output a type with its own materializer, or opt into pickle "
            "with `@step(pickle=True)`"
        ),
    )


def _as_builtin(obj: Any) -> Any:
    """A subclass of a builtin (IntEnum, NamedTuple, OrderedDict) as its base builtin, which is
    what JSON stores; ``load`` rebuilds the subclass from the recorded type."""
    if type(obj) in _BUILTINS:
        return obj
    if isinstance(obj, str):
        return str.__str__(obj)  # str() of a (str, Enum) member would give "Cls.NAME"
    for base in (int, float, tuple, list, dict):
        if isinstance(obj, base):
            convert: Any = base
            return convert(obj)
    return obj  # check_json reports it


class JsonMaterializer:
    """Stores JSON-able builtins; a tuple (or NamedTuple, IntEnum...) comes back as its type."""

    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        obj = _as_builtin(obj)
        check_json(obj)
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        with open(os.path.join(directory, FILENAME), "w", encoding="utf-8") as f:
            f.write(text)

    def load(self, directory: str, type_: type | None) -> Any:
        with open(os.path.join(directory, FILENAME), encoding="utf-8") as f:
            data = json.loads(f.read())
        if type_ is None or (type_ in _BUILTINS and type_ is not tuple):
            return data
        if type_ is tuple:
            return tuple(data)
        try:
            if issubclass(type_, tuple) and hasattr(type_, "_fields"):
                return type_(*data)  # NamedTuple
            if issubclass(type_, _BUILTINS):
                return type_(data)  # type: ignore[call-arg]  # IntEnum, StrEnum, OrderedDict...
        except Exception as exc:
            raise ArtifactError(
                f"cannot rebuild a {type_.__qualname__} from its stored JSON: {exc}",
                hint="register a materializer for this type with bevel.register_materializer",
            ) from exc
        return data

    def metadata(self, obj: Any) -> dict[str, Any]:
        facts: dict[str, Any] = {"type": type(obj).__qualname__}
        if isinstance(obj, list | tuple | dict | str):
            facts["length"] = len(obj)
        return facts

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {}
