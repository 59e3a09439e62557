"""What a function's bytecode refers to by name, reduced to what the fingerprint walk needs.

Bytecode rather than the syntax tree, because only the compiler knows which names are local,
which are closure variables and which are globals (scoping rules, comprehensions, ``global``
statements), and because bytecode is there even when source is not (``exec``, a REPL).

Each code object is scanned once (``functools`` cache keyed by the code object) into a tuple of
``(op, argument)`` pairs, across Python 3.11-3.14:

* ``G name``: a global (or class-body name)      * ``D name``: a closure variable
* ``F name``: a local variable                  * ``A name``: attribute of what came before
* ``S name``: what came before stored in a local (``import x as y`` inside a function)
* ``I (module, level, bare)``: an import        * ``IF name``: ``from module import name``
* ``X``: anything else; it ends an attribute chain such as ``mylib.features.scale``.
"""

from __future__ import annotations

import dis
import functools
from types import CodeType
from typing import Any

_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})
_DEREF_OPS = frozenset({"LOAD_DEREF", "LOAD_CLASSDEREF", "LOAD_FROM_DICT_OR_DEREF"})
_ATTR_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_STORE_OPS = frozenset({"STORE_FAST", "STORE_NAME", "STORE_DEREF", "STORE_GLOBAL"})
_CONST_OPS = frozenset({"LOAD_CONST", "LOAD_SMALL_INT"})
_TRANSPARENT_OPS = frozenset({"CACHE", "EXTENDED_ARG", "NOP", "RESUME", "COPY_FREE_VARS"})


def code_tree(code: CodeType) -> list[CodeType]:
    """``code`` and every code object nested in it (inner functions, lambdas, classes)."""
    found = [code]
    for const in code.co_consts:
        if isinstance(const, CodeType):
            found.extend(code_tree(const))
    return found


@functools.lru_cache(maxsize=8192)
def scan(code: CodeType) -> tuple[tuple[str, Any], ...]:
    """The name references of one code object (not its nested ones), in bytecode order."""
    ops: list[tuple[str, Any]] = []
    consts: list[Any] = [None, None]  # the last two constants: an import's level and fromlist
    for ins in dis.get_instructions(code):
        name, arg = ins.opname, ins.argval
        if name in _TRANSPARENT_OPS:
            continue
        if name in _CONST_OPS:
            consts = [consts[-1], arg]
            op: tuple[str, Any] = ("X", None)
        elif name in _GLOBAL_OPS:
            op = ("G", arg)
        elif name in _DEREF_OPS:
            op = ("D", arg)
        elif name in _ATTR_OPS:
            op = ("A", arg)
        elif name.startswith("LOAD_FAST") and isinstance(arg, str):
            op = ("F", arg)
        elif name in _STORE_OPS:
            op = ("S", arg)
        elif name == "IMPORT_NAME":
            level = consts[0] if isinstance(consts[0], int) else 0
            op = ("I", (arg, level, consts[1] is None))
        elif name == "IMPORT_FROM":
            op = ("IF", arg)
        else:
            op = ("X", None)
        if op[0] != "X" or not ops or ops[-1][0] != "X":
            ops.append(op)
    return tuple(ops)
