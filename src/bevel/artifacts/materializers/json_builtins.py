"""Builtins and containers (int, float, str, bool, None, list, dict, tuple) as one JSON file.

JSON is readable by any tool and safe to load, but it silently turns int dict keys into strings,
tuples inside containers into lists and enums into their values. So the whole value is checked
first, and anything that would not come back as it went in is an error that names the offending
item by its key path (``value['scores'][2]``) and its type.

One documented exception: **numpy scalars** (``np.int64``, ``np.float32``, ``np.bool_``,
``np.str_``) inside a container are stored as JSON numbers, booleans and strings, and load as
the Python ``int``, ``float``, ``bool`` and ``str`` of the same value. Summaries computed with
numpy or pandas (``{"n": len(df), "mean": df.x.mean()}``) are full of them, and the Python
value is what a reader of the JSON expects. (A numpy scalar returned *on its own* keeps its
type: it is stored by the numpy materializer; unless the output is annotated ``int``, ``float``,
``bool`` or ``str``, which makes it that builtin before it is saved: see
``bevel.run.outputs.check_outputs``.)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, ClassVar

from bevel._json import encoder
from bevel._text import with_article
from bevel.artifacts.materializers.base import VisualizationValue
from bevel.errors import ArtifactError
from bevel.viz.kinds import Visualization

FILENAME = "data.json"
_VIZ_ITEMS = 2_000

_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
_BUILTINS: tuple[type, ...] = (*_SCALARS, list, dict, tuple)
_NOT_NUMPY = object()

#: The hint for a value JSON cannot store (also used by the compile-time check of annotations).
NOT_JSON_HINT = (
    "convert it to int/float/str/bool/None/list/dict with str keys (e.g. `float(x)`, "
    "`x.tolist()`, `str(x)`), give the output a type with its own materializer, or opt into "
    'pickle for it: `@step(pickle=True)` or `@step(pickle=["output_name"])`'
)


def _numpy_builtin(item: Any) -> Any:
    """The builtin equal to a numpy scalar (``np.int64(3)`` -> ``3``), else ``_NOT_NUMPY``.

    numpy is never imported here: a value can only hold numpy scalars once numpy is loaded.
    """
    np = sys.modules.get("numpy")
    if np is None or not isinstance(item, np.generic):
        return _NOT_NUMPY
    if isinstance(item, np.bool_):
        return bool(item)
    if isinstance(item, np.integer):
        return int(item)
    if isinstance(item, np.floating):
        return float(item)
    if isinstance(item, np.str_):
        return str(item)
    return _NOT_NUMPY  # complex, datetime64, bytes_, void...: JSON has no such value


def builtin_of_numpy_scalar(item: Any) -> int | float | bool | str | None:
    """The builtin equal to a numpy scalar (``np.int64(3)`` -> ``3``), else None (also for a
    numpy scalar JSON has no value for)."""
    value = _numpy_builtin(item)
    return None if value is _NOT_NUMPY else value  # type: ignore[no-any-return]


def _json_default(item: Any) -> Any:
    """``json.dumps(default=)``: numpy scalars that are not already float/str subclasses."""
    value = _numpy_builtin(item)
    if value is _NOT_NUMPY:  # check_json ran first, so this cannot happen
        raise TypeError(f"{type(item).__qualname__} is not JSON")
    return value


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
                if type(key) is not str and not isinstance(_numpy_builtin(key), str):
                    raise _not_json(what, path, key, "a dict key of type")
                if type(child) not in _SCALARS:
                    stack.append((child, (*path, key)))
        elif kind not in _SCALARS and _numpy_builtin(item) is _NOT_NUMPY:
            raise _not_json(what, path, item, "")


def _not_json(what: str, path: tuple[Any, ...], item: Any, prefix: str) -> ArtifactError:
    where = what + "".join(f"[{p!r}]" for p in path)
    kind = type(item)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    noun = f"{prefix} {name}" if prefix else with_article(name)
    return ArtifactError(
        f"{where} is {noun} ({item!r:.80}), which JSON cannot store", hint=NOT_JSON_HINT
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


_ENCODE = encoder(ensure_ascii=False, default=_json_default)  # built once (bevel._json)


def _encode(obj: Any) -> str:
    return _ENCODE(obj)


def _decode(data: Any, type_: type | None) -> Any:
    """The loaded JSON as the recorded type: a tuple, NamedTuple, IntEnum... rebuilt."""
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
            f"cannot rebuild {with_article(type_.__qualname__)} from its stored JSON: {exc}",
            hint="register a materializer for this type with bevel.register_materializer",
        ) from exc
    return data


class JsonMaterializer:
    """Stores JSON-able builtins; a tuple (or NamedTuple, IntEnum...) comes back as its type."""

    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        data = self.encode(obj)[FILENAME]  # checked before a file is made
        with open(os.path.join(directory, FILENAME), "wb") as f:
            f.write(data)

    def encode(self, obj: Any) -> dict[str, bytes]:
        """The files ``save`` writes, in memory (bevel hashes small artifacts before writing)."""
        obj = _as_builtin(obj)
        check_json(obj)
        return {FILENAME: _encode(obj).encode("utf-8")}

    def load(self, directory: str, type_: type | None) -> Any:
        with open(os.path.join(directory, FILENAME), encoding="utf-8") as f:
            return _decode(json.loads(f.read()), type_)

    def reloaded(self, obj: Any, type_: type | None) -> Any:
        """The JSON round trip done in memory: exactly what ``load`` gives (``[(1, 2)]`` comes
        back as ``[[1, 2]]`` either way), and a fresh copy, so mutating it changes nothing."""
        return _decode(json.loads(_encode(_as_builtin(obj))), type_)

    def metadata(self, obj: Any) -> dict[str, Any]:
        facts: dict[str, Any] = {"type": type(obj).__qualname__}
        if isinstance(obj, list | tuple | dict | str):
            facts["length"] = len(obj)
        return facts

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        """Lists and dicts (of up to 2,000 items) shown as pretty JSON; scalars need no view."""
        if not isinstance(obj, list | tuple | dict) or len(obj) > _VIZ_ITEMS:
            return {}
        text = json.dumps(_as_builtin(obj), ensure_ascii=False, indent=2, default=_json_default)
        return {"json": Visualization("json", text)}
