"""Dataclasses as JSON of ``dataclasses.asdict``, rebuilt with the recorded class.

Rebuilding follows the field annotations, so nested dataclasses (also inside ``list[...]``,
``dict[str, ...]``, ``tuple[...]`` and ``X | None``) come back as dataclasses, not dicts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from typing import Any, ClassVar

from bevel.artifacts.materializers.json_builtins import check_json
from bevel.errors import ArtifactError

FILENAME = "data.json"


def _field_types(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: use what is already evaluated
        return {f.name: f.type for f in dataclasses.fields(cls) if not isinstance(f.type, str)}


def rebuild(tp: Any, value: Any) -> Any:
    """Turn the JSON ``value`` back into ``tp`` wherever ``tp`` (or a part of it) is a dataclass
    or a tuple; everything else is returned as JSON gave it."""
    if value is None:
        return None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = _field_types(tp)
        init: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for field in dataclasses.fields(tp):
            if field.name in value:
                item = rebuild(hints.get(field.name, Any), value[field.name])
                (init if field.init else later)[field.name] = item
        obj = tp(**init)
        for name, item in later.items():
            object.__setattr__(obj, name, item)  # init=False fields, frozen or not
        return obj
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        return rebuild(members[0], value) if len(members) == 1 else value
    if tp is tuple:
        return tuple(value)
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(rebuild(args[0], v) for v in value)
        return tuple(rebuild(a, v) for a, v in zip(args, value)) if args else tuple(value)
    if origin is list and args and isinstance(value, list):
        return [rebuild(args[0], v) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: rebuild(args[1], v) for k, v in value.items()}
    return value


class DataclassMaterializer:
    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        data = dataclasses.asdict(obj)
        check_json(data, what=type(obj).__qualname__)
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        with open(os.path.join(directory, FILENAME), "w", encoding="utf-8") as f:
            f.write(text)

    def load(self, directory: str, type_: type | None) -> Any:
        with open(os.path.join(directory, FILENAME), encoding="utf-8") as f:
            data = json.loads(f.read())
        if type_ is None or not dataclasses.is_dataclass(type_):
            raise ArtifactError(
                "a dataclass artifact can only be loaded with its class, which is not "
                f"importable here (got {type_!r})",
                hint="make the module that defines the dataclass importable (install it or add "
                "it to PYTHONPATH), then load again",
            )
        try:
            return rebuild(type_, data)
        except TypeError as exc:
            raise ArtifactError(
                f"cannot rebuild {type_.__qualname__} from its stored fields: {exc}",
                hint="the class changed since the artifact was saved; re-run the producing step",
            ) from exc

    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"type": type(obj).__qualname__, "fields": [f.name for f in dataclasses.fields(obj)]}

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {}
