"""Lazy package attributes: a package names its public objects by ``"module:attr"`` strings and
imports each only on first access, so importing the package itself stays cheap. And lazy
modules: a module-level name bound to a module imported on first use (:func:`lazy_module`)."""

from __future__ import annotations

import importlib
import sys
import types
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


class LazyModule(types.ModuleType):
    """Stands for the module ``name`` until one of its attributes is read, which imports it.

    For a module-level name whose module most runs of the importer never use (rich for a CLI
    whose output is piped). Thread-safe: the import goes through ``importlib.import_module``.
    Type checkers see the real module: import it under ``TYPE_CHECKING`` and bind the lazy one
    in the ``else`` branch, so import-linter still sees (and checks) the dependency.
    """

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self.__name__), attr)
        self.__dict__[attr] = value
        return value


def lazy_module(name: str) -> Any:
    """The module ``name`` if it is imported already, else a :class:`LazyModule` for it."""
    return sys.modules.get(name) or LazyModule(name)
