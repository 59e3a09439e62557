"""Normalised digests of functions, classes and literal values, for the code fingerprint.

Why normalise: the fingerprint must change when the code's *meaning* may have changed, and
must not change for edits that cannot change a step's outputs (comments, blank lines,
docstrings, moving a function down the file, and, for a step itself, its decorator: options
that do affect outputs go into the cache key separately). So a function is hashed through its
syntax tree, dumped without line numbers, docstrings or (for the step) decorators.

Why a hand-written dump rather than ``ast.dump``: ``ast.dump``'s text changes between Python
versions (3.13 stopped printing empty fields, 3.12 added ``type_params``). Omitting ``None``
and empty fields ourselves keeps a fingerprint stable across interpreters for the same code.

When no source can be found (code made by ``exec``, a REPL without history), the bytecode,
its constants and its names are hashed instead: still sensitive to every code change, but only
stable within one Python version.
"""

from __future__ import annotations

import ast
import enum
import hashlib
import linecache
from dataclasses import field
from types import CodeType, FunctionType
from typing import Any

from bevel._dataclass import dataclass

_DOC_HOLDERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
# Fields that never change what code does: the u"" prefix and type comments.
_SKIP_FIELDS = frozenset({"kind", "type_comment"})
_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08

# Literal values larger than this (in elements) are not fingerprinted: hashing a module-level
# table of a million rows on every run would cost more than it is worth.
LITERAL_BUDGET = 100_000


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# -- source lookup -------------------------------------------------------------------------


@dataclass
class SourceIndex:
    """Every function and class of one source file, found once per version of the file."""

    functions: dict[tuple[int, str], list[ast.AST]] = field(default_factory=dict)
    classes: dict[str, list[ast.ClassDef]] = field(default_factory=dict)


# filename -> (the linecache lines it was built from, the index or None when unparsable)
_INDEXES: dict[str, tuple[list[str], SourceIndex | None]] = {}


def source_index(filename: str, module_globals: dict[str, Any] | None) -> SourceIndex | None:
    """The parsed index of ``filename``, or None when its source is unavailable.

    Lines come from :mod:`linecache` (as :mod:`inspect` does), which also knows notebook cells
    and files inside zip archives; the index is rebuilt only when linecache's lines change.
    """
    lines = linecache.getlines(filename, module_globals)
    if not lines:
        return None
    cached = _INDEXES.get(filename)
    if cached is not None and cached[0] is lines:
        return cached[1]
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        index = None
    else:
        index = SourceIndex()
        _index(tree, "", index)
    if len(_INDEXES) > 4096:
        _INDEXES.clear()
    _INDEXES[filename] = (lines, index)
    return index


def _index(node: ast.AST, prefix: str, index: SourceIndex) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _FUNCTION_NODES):
            name = "<lambda>" if isinstance(child, ast.Lambda) else child.name
            lines = {child.lineno}
            if not isinstance(child, ast.Lambda) and child.decorator_list:
                # co_firstlineno of a decorated function is its first decorator's line.
                lines.add(min(d.lineno for d in child.decorator_list))
            for line in lines:
                index.functions.setdefault((line, name), []).append(child)
            _index(child, f"{prefix}{name}.<locals>.", index)
        elif isinstance(child, ast.ClassDef):
            qualname = prefix + child.name
            index.classes.setdefault(qualname, []).append(child)
            _index(child, qualname + ".", index)
        else:
            _index(child, prefix, index)


def _arg_names(node: ast.AST) -> tuple[str, ...]:
    args = node.args  # type: ignore[attr-defined]
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return tuple(names)


def function_node(code: CodeType, module_globals: dict[str, Any] | None) -> ast.AST | None:
    """The syntax tree of the function compiled into ``code``, or None if it cannot be found.

    Matched by first line and name, then checked against the code's argument names, so a file
    edited since it was imported is not mistaken for the code that runs.
    """
    index = source_index(code.co_filename, module_globals)
    if index is None:
        return None
    nodes = index.functions.get((code.co_firstlineno, code.co_name), [])
    if len(nodes) != 1:
        return None  # two lambdas on one line, or a stale file: hash the bytecode instead
    n_args = code.co_argcount + code.co_kwonlyargcount
    n_args += bool(code.co_flags & _CO_VARARGS) + bool(code.co_flags & _CO_VARKEYWORDS)
    if _arg_names(nodes[0]) != code.co_varnames[:n_args]:
        return None
    return nodes[0]


def class_nodes(
    filename: str, qualname: str, firstlineno: int | None, module_globals: dict[str, Any] | None
) -> list[ast.ClassDef]:
    """The class definition(s) named ``qualname`` in ``filename``.

    A qualname defined twice (``if``/``else``) gives both unless Python >= 3.13 told us the
    line: hashing both is conservative, never wrong.
    """
    index = source_index(filename, module_globals)
    if index is None:
        return []
    nodes = index.classes.get(qualname, [])
    if firstlineno is not None and len(nodes) > 1:
        exact = [
            n
            for n in nodes
            if min([n.lineno, *(d.lineno for d in n.decorator_list)]) == firstlineno
        ]
        nodes = exact or nodes
    return nodes


# -- syntax tree digest ----------------------------------------------------------------------


def node_digest(nodes: list[ast.AST], *, drop_decorators: bool = False) -> str:
    """Digest of syntax trees without positions, docstrings and (optionally) decorators."""
    out: list[str] = []
    for node in nodes:
        _dump(node, out, drop_decorators)
        out.append("\n")
    return sha256("".join(out))


def _dump(node: ast.AST, out: list[str], drop_decorators: bool = False) -> None:
    out.append(type(node).__name__)
    out.append("(")
    for name, value in ast.iter_fields(node):
        if name in _SKIP_FIELDS or value is None or (isinstance(value, list) and not value):
            continue
        if name == "decorator_list" and drop_decorators:
            continue
        if name == "body" and isinstance(node, _DOC_HOLDERS):
            value = _without_docstring(value)
        out.append(name)
        out.append("=")
        if isinstance(value, ast.AST):
            _dump(value, out)
        elif isinstance(value, list):
            out.append("[")
            for item in value:
                if isinstance(item, ast.AST):
                    _dump(item, out)
                else:
                    out.append(repr(item))
                out.append(",")
            out.append("]")
        else:
            out.append(f"{type(value).__name__}:{value!r}")
        out.append(",")
    out.append(")")


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:]
    return body


# -- bytecode digest (no source) -------------------------------------------------------------


def code_digest(func: FunctionType) -> str:
    """Digest of a function's bytecode, constants, names and defaults (no docstring)."""
    out: list[str] = []
    _dump_code(func.__code__, out, func.__doc__)
    for defaults in (func.__defaults__, func.__kwdefaults__):
        out.append(encode_literal(defaults) or f"<{type(defaults).__name__}>")
    return sha256("|".join(out))


def _dump_code(code: CodeType, out: list[str], doc: str | None = None) -> None:
    out.extend(
        (
            code.co_name,
            repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount)),
            repr(code.co_flags),
            repr(code.co_varnames),
            repr(code.co_names),
            repr(code.co_freevars),
            repr(code.co_cellvars),
            code.co_code.hex(),
        )
    )
    consts = code.co_consts
    if doc is not None and consts and consts[0] == doc:
        consts = consts[1:]
    for const in consts:
        if isinstance(const, CodeType):
            out.append("code{")
            _dump_code(const, out)
            out.append("}")
        else:
            out.append(encode_literal(const) or f"<{type(const).__name__}>")


# -- literal values --------------------------------------------------------------------------

_SCALARS = (type(None), bool, int, float, complex, str, bytes)


def encode_literal(value: object, budget: int = LITERAL_BUDGET) -> str | None:
    """A deterministic, Python-like text of a literal value; None if it is not one.

    Literals are None, bool, int, float, complex, str, bytes, enum members, and tuples, lists,
    dicts, sets and frozensets of literals. ``1``, ``1.0`` and ``True`` encode differently, and
    sets are sorted, so the text does not depend on ``PYTHONHASHSEED``.
    """
    left = [budget]
    try:
        return _encode(value, left)
    except _NotLiteral:
        return None


class _NotLiteral(Exception):
    pass


def _encode(value: object, left: list[int]) -> str:
    left[0] -= 1
    if left[0] < 0:
        raise _NotLiteral
    kind = type(value)
    if kind in _SCALARS:
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{kind.__module__}:{kind.__qualname__}.{value.name}"
    if kind is tuple:
        items = [_encode(v, left) for v in value]  # type: ignore[attr-defined]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if kind is list:
        return "[" + ", ".join(_encode(v, left) for v in value) + "]"  # type: ignore[attr-defined]
    if kind is dict:
        pairs = sorted(
            f"{_encode(k, left)}: {_encode(v, left)}"
            for k, v in value.items()  # type: ignore[attr-defined]
        )
        return "{" + ", ".join(pairs) + "}"
    if kind is set or kind is frozenset:
        items = sorted(_encode(v, left) for v in value)  # type: ignore[attr-defined]
        body = "{" + ", ".join(items) + "}"
        return body if kind is set and items else f"{kind.__name__}({body})"
    raise _NotLiteral
