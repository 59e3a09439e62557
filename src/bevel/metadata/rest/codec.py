"""Records to JSON and back, without pydantic: the REST store's half of the wire format.

The bevel server describes the same records to FastAPI (which validates them with pydantic and
writes the OpenAPI schema); the client side must stay light (``import bevel`` budget, workers),
so it walks the dataclass fields by their type hints instead. Datetimes travel as ISO 8601
strings (always with their offset), enums as their values, tuples as arrays. A new field on a
record needs no change here.

Example::

    data = encode(run)                      # {"id": ..., "created": "2026-12-01T10:00:00+00:00"}
    assert decode(RunRecord, data) == run
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


def encode(value: Any) -> Any:
    """A JSON-able form of a record, a sequence or a mapping of records, or a plain value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [encode(v) for v in value]
    return value


def decode(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` (a record class, ``list[Record]``, ``X | None``...)."""
    if data is None:
        return None
    if tp is Any or tp is object:
        return data
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return decode(options[0], data)
        return data  # only `str | int`-like unions of plain values occur
    if origin in (list, set, frozenset):
        (item,) = get_args(tp) or (Any,)
        items = [decode(item, v) for v in data]
        return items if origin is list else origin(items)
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        return tuple(decode(a, v) for a, v in zip(args, data))
    if origin is dict:
        _, val = get_args(tp) or (str, Any)
        return {k: decode(val, v) for k, v in data.items()}
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            hints = _hints(tp)
            return tp(**{name: decode(hints[name], data[name]) for name in hints if name in data})
        if issubclass(tp, datetime):
            return _aware(datetime.fromisoformat(data))
        if issubclass(tp, enum.Enum):
            return tp(data)
        if tp is float and isinstance(data, int | float):
            return float(data)
    return data


def decode_list(tp: type[T], data: Any) -> list[T]:
    return [decode(tp, item) for item in data]


@cache
def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- errors -----------------------------------------------------------------------------------
#
# A bevel error raised by the store behind the server crosses as its class name, message, hint,
# ``where`` and extra attributes (StatusConflict's entity, id, current status), and is raised
# again on the client as the same class: callers catch NotFound or StatusConflict whichever
# store they talk to. Only classes of bevel.errors are rebuilt; anything else becomes a
# MetadataError with the same text.


def encode_error(err: BaseException) -> dict[str, Any]:
    """The wire form of a bevel error (``{"type", "message", "hint", "where", "attrs"}``)."""
    from bevel.errors import BevelError  # the bottom layer: free to import

    if not isinstance(err, BevelError):
        return {"type": "MetadataError", "message": str(err), "hint": None, "where": None}
    attrs = {
        k: v
        for k, v in vars(err).items()
        if k not in ("message", "hint", "where") and isinstance(v, str | int | float | bool)
    }
    return {
        "type": type(err).__name__,
        "message": err.message,
        "hint": err.hint,
        "where": err.where,
        "attrs": attrs,
    }


def decode_error(data: Any, *, fallback: str) -> Exception:
    """The bevel error a server's error body describes (``fallback`` when the body is not one)."""
    from bevel import errors

    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return errors.MetadataError(fallback)
    cls = getattr(errors, str(data.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.BevelError)):
        cls = errors.MetadataError
    state: dict[str, Any] = dict(data.get("attrs") or {})
    state.update(message=data["message"], hint=data.get("hint"), where=data.get("where"))
    return errors._rebuild(cls, data["message"], state)
