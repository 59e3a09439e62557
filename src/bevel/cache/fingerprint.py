"""Code fingerprints: a hash of a step's code *and the project code it calls*.

A step's cache key must change when the code that computes its outputs changes, including a
helper three calls down in another module of the user's project (ZenML #1011), and must not
change for a comment, a docstring or bevel's ``@step`` options (ZenML PR #3880). So
:func:`code_hash` hashes:

* the code that runs: the step's own syntax tree, without positions, docstring and decorator
  expressions. Under a user decorator (``@step @scaled def f``) that is the decorator's wrapper
  function, with the decorator arguments it reads (closure values) and the wrapped function
  (followed through ``__wrapped__`` and the closure, also without its decorator lines, which
  would otherwise put ``@step(retries=3)`` into the key); only bevel's own decorator is left
  out;
* every function and class of the user's project that the step reaches by name: globals,
  closure variables, ``module.attr`` chains through project modules (``F.scale`` after
  ``import mylib.features as F``), imports inside the function, methods and bases of the
  classes it uses, recursively and with cycle protection; each with its own syntax tree
  (decorators kept: a helper's decorator is part of what it computes);
* every *literal* global it reads from the project (``THRESHOLD = 0.5``, ``COLUMNS = [...]``,
  enum members), literal closure variables, default values not written as literals
  (``def f(lr=LR)``), and the state of project-class instances made of literals
  (``CONFIG = Config(lr=0.1)``).

With source available, the fingerprint is the same on Python 3.11, 3.12 and 3.13 (see
:mod:`bevel.cache._source`); without it (``exec``, a plain REPL) it falls back to bytecode,
which is stable within one Python version only.

What counts as "the user's project" is decided in :mod:`bevel.cache._project` (not the stdlib,
not site-packages, not bevel). Example::

    >>> code_hash(train)                  # doctest: +SKIP
    'sha256:6f1c...'
    >>> helpers_of(train)                 # doctest: +SKIP
    ['mylib.features:scale', 'pipe:THRESHOLD', 'pipe:clean']

Fingerprints are memoised per function object and revalidated on every call by checking that
each name the walk looked up is still bound to the same object (a cheap identity check per
name), so ``importlib.reload`` of a helper module, or a notebook cell redefining a helper, is
noticed without re-reading any source.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import FunctionType, MethodType
from typing import Any

from bevel.cache._walk import SELF, Fingerprint, Walk, own_attr

__all__ = ["SELF", "code_hash", "code_parts", "helpers_of"]

_MEMO_MAX = 4096

_MEMO: dict[Any, Fingerprint] = {}


def code_hash(func: Callable[..., Any]) -> str:
    """``"sha256:<hex>"`` of a step's code and the project helpers and constants it uses.

    Cached per function object: a repeated call costs a few microseconds.
    """
    return _fingerprint(func).digest


def helpers_of(func: Callable[..., Any]) -> list[str]:
    """The ``"module:qualname"`` of every helper and constant in ``func``'s fingerprint."""
    return sorted(name for name in _fingerprint(func).parts if name != SELF)


def code_parts(func: Callable[..., Any]) -> dict[str, str]:
    """Each piece of the fingerprint: :data:`SELF` and every helper name -> its digest.

    Literal constants map to ``"=<value>"`` so that ``bevel runs explain`` can say
    ``THRESHOLD: 0.5 -> 0.7``. Recorded next to the cache ingredients, this lets
    :func:`bevel.cache.key.explain` name the helper that changed.
    """
    return dict(_fingerprint(func).parts)


def _fingerprint(func: Callable[..., Any]) -> Fingerprint:
    try:
        found = _MEMO.get(func)
    except TypeError:  # an unhashable callable object: no memo, still correct
        return Walk(_unwrap(func)).run()
    if found is not None and found.still_valid():
        return found
    fingerprint = Walk(_unwrap(func)).run()
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()  # notebooks redefine functions forever; bound the memo crudely
    _MEMO[func] = fingerprint
    return fingerprint


def _unwrap(func: Callable[..., Any]) -> FunctionType:
    """The function that actually runs behind a step object, a bound method or a partial.

    ``__wrapped__`` is followed only from objects that are not functions (bevel's own
    ``StepDefinition``, a ``functools.update_wrapper``'d callable object): a *function* with
    ``__wrapped__`` is a user decorator's wrapper, and the wrapper is code that runs, so the
    fingerprint starts there (the wrapped function is reached through it, see ``Walk``).
    """
    seen: set[int] = set()
    target: Any = func
    while not isinstance(target, FunctionType) and target is not None and id(target) not in seen:
        seen.add(id(target))
        if isinstance(target, MethodType):
            target = target.__func__
        elif isinstance(target, functools.partial):
            target = target.func
        else:
            target = own_attr(target, "__wrapped__")
    if not isinstance(target, FunctionType):
        raise TypeError(f"code_hash() needs a Python function, got {type(func).__name__}")
    return target
