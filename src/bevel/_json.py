"""Compact JSON text exactly as ``json.JSONEncoder(separators=(",", ":"), ...).encode`` writes
it, without the set-up that method repeats on every call.

``JSONEncoder.encode`` goes through ``iterencode``, which defines its float formatter and picks
its string encoder on each call before it builds the C encoder (~17,000 instructions for a
small dict; a step run encodes ~9 values). :func:`encoder` builds what does not change once and
calls the same C encoder with the same arguments, a fresh circular-reference table each time
(``ValueError: Circular reference detected``, as before); where the C encoder is missing
(other interpreters) it is ``JSONEncoder.encode`` itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _std
from typing import Any


def encoder(
    *,
    sort_keys: bool = False,
    ensure_ascii: bool = True,
    allow_nan: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> Callable[[Any], str]:
    """``json.JSONEncoder(separators=(",", ":"), sort_keys=, ensure_ascii=, allow_nan=,
    default=).encode``: the same text and errors, faster per call."""
    reference = json.JSONEncoder(
        separators=(",", ":"),
        sort_keys=sort_keys,
        ensure_ascii=ensure_ascii,
        allow_nan=allow_nan,
        default=default,
    )
    make: Any = getattr(_std, "c_make_encoder", None)
    if make is None:
        return reference.encode
    strings: Callable[[str], str] = (
        _std.encode_basestring_ascii if ensure_ascii else _std.encode_basestring
    )
    fallback = reference.default  # ``default``, or the standard TypeError

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return strings(value)
        if type(value) is dict and not value:
            return "{}"
        c = make({}, fallback, strings, None, ":", ",", sort_keys, False, allow_nan)
        return "".join(c(value, 0))

    return encode
