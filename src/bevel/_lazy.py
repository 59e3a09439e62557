"""Lazy package attributes: a package names its public objects by ``"module:attr"`` strings and
imports each only on first access, so importing the package itself stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(
    package: str, exports: dict[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` resolving ``exports`` and caching results in ``namespace``."""

    def __getattr__(name: str) -> Any:
        try:
            target = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module_name, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module_name), attr)
        namespace[name] = value
        return value

    return __getattr__
