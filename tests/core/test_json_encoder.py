"""bevel._json.encoder writes exactly what json.JSONEncoder(separators=(",", ":"), ...).encode
writes, and raises what it raises: it is what the store, the cache key, markers and the JSON
materializer encode with (stored bytes and content hashes must not change)."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest

from bevel._json import encoder


class Color(enum.IntEnum):
    RED = 1


class Tag(enum.StrEnum):
    A = "a"


VALUES: list[Any] = [
    {},
    [],
    "",
    'é\u2028\x00"\\',
    0,
    -1,
    2**70,
    1.5,
    1.0,
    -0.0,
    1e300,
    float("inf"),
    float("nan"),
    True,
    None,
    (1, [2, (3,)]),
    {"b": 1, "a": {"z": [None, True, 1.25]}, "é": "ü"},
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
    Color.RED,
    {"tag": Tag.A},
]


@pytest.mark.parametrize("sort_keys", [False, True])
@pytest.mark.parametrize("ensure_ascii", [False, True])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_same_text_as_the_standard_encoder(
    value: Any, sort_keys: bool, ensure_ascii: bool
) -> None:
    reference = json.JSONEncoder(
        separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=ensure_ascii
    ).encode
    assert _outcome(encoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii), value) == _outcome(
        reference, value
    )


def _outcome(encode: Any, value: Any) -> str:
    """The text, or the error (keys of several types do not sort)."""
    try:
        return str(encode(value))
    except TypeError as exc:
        return f"TypeError: {exc}"


def test_the_same_errors_as_the_standard_encoder() -> None:
    loop: list[Any] = []
    loop.append(loop)
    nested: dict[str, Any] = {}
    nested["self"] = nested
    for value, error in ((loop, ValueError), (nested, ValueError), ({"x": object()}, TypeError)):
        with pytest.raises(error) as ours:
            encoder()(value)
        with pytest.raises(error) as theirs:
            json.JSONEncoder(separators=(",", ":")).encode(value)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="Out of range float values"):
        encoder(allow_nan=False)([float("nan")])
    with pytest.raises(TypeError, match="keys must be str"):
        encoder()({(1, 2): 3})


def test_default_converts_what_json_cannot_write_and_a_value_is_encoded_again_each_call() -> None:
    encode = encoder(default=lambda item: sorted(item))
    assert encode({"s": {3, 1, 2}}) == '{"s":[1,2,3]}'
    shared = [1]
    assert encode([shared, shared]) == "[[1],[1]]"  # seen twice, no circle
    assert encode([shared, shared]) == "[[1],[1]]"  # each call starts afresh
