"""Parsing ``-p KEY=VALUE`` pipeline parameters.

Values read as JSON first, then as a YAML flow scalar or collection, so ``-p C=0.5`` is a float,
``-p name=abc`` a string and ``-p xs=[1,2]`` a list. YAML 1.1's surprises are undone, because a
parameter should be what it looks like: ``yes``/``on`` stay strings (only ``true``/``false`` are
booleans), dates stay strings (they are not JSON), and ``010`` stays a string (not octal 8).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.bounded import check_nesting, load_yaml, too_deep
from bevel.errors import ConfigError

if TYPE_CHECKING:
    import yaml
else:  # ~9 ms to import: only for a value that is not JSON (most are, and most runs have none)
    yaml = lazy_module("yaml")

_JSON_SCALARS = (str, int, float, bool, type(None))


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity are not JSON: read them as strings


def _is_json(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, _JSON_SCALARS):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def parse_value(raw: str, *, what: str = "the parameter") -> Any:
    """One parameter value: JSON, else YAML (with the surprises undone), else the string.

    Values are read within the limits of :mod:`bevel.bounded`: one nested too deeply, or a
    number too long to convert, is a ConfigError naming ``what``, never a string or a crash.
    """
    text = raw.strip()
    if text == "":
        return ""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise too_deep(what) from None
    except ValueError:
        pass
    else:
        check_nesting(value, what=what)
        return value
    try:
        value = load_yaml(text, what=what)
    except yaml.YAMLError:
        return raw
    if isinstance(value, bool) and text.lower() not in ("true", "false"):
        return raw
    if isinstance(value, int) and not isinstance(value, bool):
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits[0] == "0":  # octal / hex look-alikes
            return raw
    if not _is_json(value):
        return raw
    return value


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """``["C=0.5", "name=abc"]`` -> ``{"C": 0.5, "name": "abc"}``; later keys win."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(
                f"parameter {item!r} has no '='", hint="write -p KEY=VALUE, e.g. -p C=0.5"
            )
        if not key:
            raise ConfigError(f"parameter {item!r} has no name before '='", hint="e.g. -p C=0.5")
        params[key] = parse_value(raw, what=f"parameter {key!r}")
    return params
