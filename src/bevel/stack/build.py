"""Building a :class:`~bevel.stack.stack.Stack` from its stored definition.

``build_stack()`` is what the edges call (``run_pipeline``, ``Client``, the CLI). For the
``default`` stack it is :func:`~bevel.stack.stack.default_stack`: one environment lookup and one
small file read more than before, no query, no extra import. For another stack it reads the
definition from the home metadata store and builds each component from its flavor
(:mod:`bevel.stack.loader`); every failure names the component.

Example::

    stack = build_stack("team")          # or build_stack() for the active stack
    try:
        run = run_pipeline(training, stack=stack)
    finally:
        stack.close()
"""

from __future__ import annotations

import importlib
from typing import Any

from bevel.settings import Settings, load_settings
from bevel.stack.active import resolve_stack
from bevel.stack.stack import DEFAULT_STACK, Stack, default_stack

# Named, not imported: the definitions machinery (flavors, config validation, secrets) costs
# ~10 ms to import and only non-default stacks need it; like a flavor, it loads on first use.
_LOADER = "bevel.stack.loader:build_defined_stack"


def build_stack(name: str | None = None, settings: Settings | None = None) -> Stack:
    """Build the stack ``name``, or the active one: ``$BEVEL_STACK``, else the one chosen with
    ``bevel stack set``, else ``default``. The caller closes it (``stack.close()``).

    Raises StackError naming the component that cannot be built, and listing the known stacks
    when there is no stack of that name.
    """
    settings = settings or load_settings()
    choice = resolve_stack(name, settings)
    if choice.name == DEFAULT_STACK:
        return default_stack(settings)
    module, _, attr = _LOADER.partition(":")
    build_defined: Any = getattr(importlib.import_module(module), attr)
    stack: Stack = build_defined(choice, settings)
    return stack
