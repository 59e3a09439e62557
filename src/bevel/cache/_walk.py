"""The fingerprint walk: from a step function to every piece of project code it reaches.

See :mod:`bevel.cache.fingerprint` for what goes in and why. The walk follows names, not
calls: any function, class or literal the code *refers to* counts (a helper referenced but
only called on some branch still changes what the step may compute).

Besides the fingerprint's parts, the walk records what it *looked at*: each function's code
object, each (namespace, name) it resolved and each closure cell. ``Fingerprint.still_valid``
rechecks those by identity, which is what makes memoisation safe under ``importlib.reload``
and notebook redefinitions.
"""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import importlib.util
import linecache
import sys
from collections.abc import Mapping
from types import CellType, CodeType, FunctionType, MethodType, ModuleType
from typing import Any

from bevel._dataclass import dataclass
from bevel.cache._bytecode import code_tree, scan
from bevel.cache._project import is_user_module, is_user_object, is_user_path, top_package
from bevel.cache._source import (
    class_nodes,
    code_digest,
    encode_literal,
    function_node,
    node_digest,
    sha256,
)

FINGERPRINT_FORMAT = "bevel-code/1"
SELF = "<step>"  # the key of the step's own code in Fingerprint.parts

MISSING: Any = object()

# Class attributes that say nothing about what a class computes (a docstring included).
_CLASS_NOISE = frozenset({"__doc__", "__dict__", "__weakref__", "__module__", "__qualname__"})


@dataclass(frozen=True)
class Fingerprint:
    """The result of one walk: the digest, its parts, and what to recheck before reuse."""

    digest: str
    parts: Mapping[str, str]  # SELF and every helper / constant name -> its digest
    codes: tuple[tuple[FunctionType, CodeType], ...]  # functions hashed, with their code
    bindings: tuple[tuple[Mapping[str, Any], str, Any], ...]  # (namespace, name, object)
    cells: tuple[tuple[CellType, Any], ...]
    literals: tuple[tuple[Mapping[str, Any], str, Any, Any], ...]  # (ns, name, obj, copy)
    states: tuple[tuple[object, Any], ...]  # (project-class instance, copy of its state)

    def still_valid(self) -> bool:
        """True while every function, name and literal the walk saw is unchanged."""
        for func, code in self.codes:
            if func.__code__ is not code:
                return False
        for namespace, name, obj in self.bindings:
            if namespace.get(name, MISSING) is not obj:
                return False
        for cell, obj in self.cells:
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell (a variable assigned later)
                contents = MISSING
            if contents is not obj:
                return False
        for namespace, name, obj, snapshot in self.literals:
            if namespace.get(name, MISSING) is not obj or obj != snapshot:
                return False
        for instance, snapshot in self.states:
            state = instance_state(instance)
            if state is None or state[1] != snapshot:
                return False
        return True


class Walk:
    """One fingerprint computation: a depth-first walk over the code a step reaches."""

    def __init__(self, root: FunctionType) -> None:
        self.root = root
        self.project = top_package(getattr(root, "__module__", None))
        self.parts: dict[str, str] = {}
        self.seen: set[int] = {id(root)}
        self.keep: list[object] = [root]  # keeps ids unique while the walk runs
        self.codes: list[tuple[FunctionType, CodeType]] = []
        self.bindings: dict[tuple[int, str], tuple[Mapping[str, Any], str, Any]] = {}
        self.cells: dict[int, tuple[CellType, Any]] = {}
        self.literals: dict[tuple[int, str], tuple[Mapping[str, Any], str, Any, Any]] = {}
        self.states: list[tuple[object, Any]] = []  # (instance, copy of its literal state)
        self.checked_files: set[str] = set()

    def run(self) -> Fingerprint:
        node = self._node(self.root)
        self.parts[SELF] = self._function_digest(self.root, node, drop_decorators=True)
        self._add_wrapped(self.root)  # before the closure walk reaches them with decorators
        self._walk_function(self.root, node)
        lines = [FINGERPRINT_FORMAT, *(f"{k}={v}" for k, v in sorted(self.parts.items()))]
        return Fingerprint(
            digest=sha256("\n".join(lines)),
            parts=dict(self.parts),
            codes=tuple(self.codes),
            bindings=tuple(self.bindings.values()),
            cells=tuple(self.cells.values()),
            literals=tuple(self.literals.values()),
            states=tuple(self.states),
        )

    # digests ----------------------------------------------------------------------------

    def _fresh(self, filename: str) -> None:
        if filename not in self.checked_files:
            self.checked_files.add(filename)
            linecache.checkcache(filename)  # pick up edits, as inspect.getsource does

    def _node(self, func: FunctionType) -> ast.AST | None:
        self._fresh(func.__code__.co_filename)
        return function_node(func.__code__, func.__globals__)

    def _function_digest(
        self, func: FunctionType, node: ast.AST | None, *, drop_decorators: bool
    ) -> str:
        if node is not None:
            return "ast:" + node_digest([node], drop_decorators=drop_decorators)
        return "code:" + code_digest(func)

    def _class_digest(self, cls: type) -> tuple[str, str | None]:
        """The class's digest, and the file its source was found in (None: bytecode)."""
        methods = _class_functions(cls)
        module = sys.modules.get(cls.__module__)
        module_file = getattr(module, "__file__", None)
        candidates = [module_file] if isinstance(module_file, str) else []
        # A notebook or REPL class has no module file: its methods say where it was written.
        candidates += dict.fromkeys(f.__code__.co_filename for f in methods)
        module_globals = vars(module) if module is not None else None
        firstlineno = getattr(cls, "__firstlineno__", None)  # Python >= 3.13
        for filename in candidates[:1] if module_file else candidates:
            self._fresh(filename)
            nodes = class_nodes(filename, cls.__qualname__, firstlineno, module_globals)
            if nodes:
                return "ast:" + node_digest(list(nodes)), filename
        items = []
        for name, value in sorted(vars(cls).items()):
            if name in _CLASS_NOISE:
                continue
            accessors = _accessors(value)
            if accessors:
                digests = ",".join(code_digest(f) for f in accessors)
                items.append(f"{name}:{type(value).__name__}:{digests}")
            else:
                items.append(f"{name}={encode_literal(value) or '<' + type(value).__name__ + '>'}")
        bases = ",".join(f"{b.__module__}:{b.__qualname__}" for b in cls.__bases__)
        return "code:" + sha256(f"{cls.__qualname__}({bases})\n" + "\n".join(items)), None

    # what a function's code refers to -----------------------------------------------------

    def _walk_function(self, func: FunctionType, node: ast.AST | None) -> None:
        code = func.__code__
        self.codes.append((func, code))
        label = f"{func.__module__}:{func.__qualname__}"
        for name, value in _defaults(func, node):  # evaluated at def time: not in the code
            self._consider(value, f"{label}.<default>.{name}")
        namespace = func.__globals__
        cells = dict(zip(code.co_freevars, func.__closure__ or ()))
        for sub in code_tree(code):
            self._walk_ops(scan(sub), namespace, cells, label)

    def _walk_ops(
        self,
        ops: tuple[tuple[str, Any], ...],
        namespace: dict[str, Any],
        cells: dict[str, CellType],
        owner: str,
    ) -> None:
        module_name = namespace.get("__name__", "?")
        current: Any = MISSING
        local_modules: dict[str, ModuleType] = {}
        import_sources: list[ModuleType] = []
        for op, arg in ops:
            if op == "G":
                current = self._lookup(namespace, arg, f"{module_name}:{arg}")
            elif op == "D":
                current = self._cell(cells, arg, f"{owner}.<closure>.{arg}")
            elif op == "F":
                current = local_modules.get(arg, MISSING)
            elif op == "A":
                if isinstance(current, ModuleType) and self._is_user_module(current):
                    current = self._lookup(vars(current), arg, f"{current.__name__}:{arg}")
                else:
                    current = MISSING
            elif op == "S":
                if isinstance(current, ModuleType):
                    local_modules[arg] = current
                current = MISSING
            elif op == "I":
                current = self._import(namespace, *arg)
                import_sources = [current] if isinstance(current, ModuleType) else []
            elif op == "IF":
                current = self._import_from(import_sources, arg)
            else:
                current = MISSING

    def _lookup(self, namespace: Mapping[str, Any], name: str, label: str) -> Any:
        """``namespace[name]``, remembered so that a rebinding invalidates the memo."""
        value = namespace.get(name, MISSING)
        key = (id(namespace), name)
        if key in self.bindings or key in self.literals:
            return value
        self.keep.append(namespace)
        if isinstance(value, list | dict | set) and encode_literal(value) is not None:
            self.literals[key] = (namespace, name, value, _copy(value))  # may mutate in place
        else:
            self.bindings[key] = (namespace, name, value)
        if value is not MISSING:
            self._consider(value, label)
        return value

    def _cell(self, cells: dict[str, CellType], name: str, label: str) -> Any:
        cell = cells.get(name)
        if cell is None:
            return MISSING
        try:
            value = cell.cell_contents
        except ValueError:
            value = MISSING
        if id(cell) not in self.cells:
            self.cells[id(cell)] = (cell, value)
            if value is not MISSING:
                self._consider(value, label)
        return value

    def _import(self, namespace: dict[str, Any], name: str, level: int, bare: bool) -> Any:
        """The module an ``import`` inside a function binds, imported only if it is ours.

        A library imported lazily inside a step (``import torch``) stays unimported: its
        top-level package is located without running it and found not to be the project's.
        """
        try:
            package = namespace.get("__package__") or namespace.get("__name__") or ""
            absolute = importlib.util.resolve_name("." * level + name, package)
            module = sys.modules.get(absolute)
            if module is None:
                spec = importlib.util.find_spec(top_package(absolute))
                origin = getattr(spec, "origin", None)
                locations = list(getattr(spec, "submodule_search_locations", None) or [])
                paths = [origin] if isinstance(origin, str) else locations
                if not any(is_user_path(p) for p in paths):
                    return MISSING
                module = importlib.import_module(absolute)
        except Exception:  # an import that fails here fails when the step runs: not ours to say
            return MISSING
        return sys.modules.get(top_package(absolute), MISSING) if bare else module

    def _import_from(self, sources: list[ModuleType], name: str) -> Any:
        for source in reversed(sources):
            if not self._is_user_module(source):
                return MISSING
            value = self._lookup(vars(source), name, f"{source.__name__}:{name}")
            if value is MISSING:
                value = sys.modules.get(f"{source.__name__}.{name}", MISSING)
            if value is not MISSING:
                if isinstance(value, ModuleType):
                    sources.append(value)
                return value
        return MISSING

    # what to include -----------------------------------------------------------------------

    def _is_user_module(self, module: ModuleType) -> bool:
        return is_user_module(module, self.project)

    def _consider(self, value: Any, label: str) -> None:
        """Add ``value`` to the fingerprint if it is project code or a literal."""
        if isinstance(value, ModuleType):
            return
        if isinstance(value, FunctionType | type):
            if id(value) in self.seen:
                return
            self.seen.add(id(value))
            self.keep.append(value)
            if is_user_object(value, self.project):
                if isinstance(value, FunctionType):
                    self._add_function(value)
                else:
                    self._add_class(value)
            return
        literal = encode_literal(value)
        if literal is not None:
            self.parts[label] = "=" + _short(literal)
            if isinstance(value, enum.Enum):
                self._consider(type(value), label)
        elif isinstance(value, MethodType):
            self._consider(value.__func__, label)
        elif isinstance(value, functools.partial):
            self._consider(value.func, label)
            self._consider(value.args, f"{label}.<args>")
            self._consider(value.keywords, f"{label}.<keywords>")
        elif id(value) not in self.seen:
            self.seen.add(id(value))
            self.keep.append(value)
            wrapped = own_attr(value, "__wrapped__")  # e.g. an lru_cache'd or @step helper
            if wrapped is not None:
                self._consider(wrapped, label)
                return
            cls = type(value)
            self._consider(cls, f"{cls.__module__}:{cls.__qualname__}")
            if is_user_object(cls, self.project):
                # An instance of a project class, e.g. CONFIG = Config(lr=0.1): its class's
                # code counts, and so does its state when that is made of literals.
                state = instance_state(value)
                if state is not None:
                    self.parts[label] = "=" + _short(f"{cls.__qualname__}({state[0]})")
                    self.states.append((value, state[1]))

    def _name(self, obj: FunctionType | type) -> str:
        name = f"{obj.__module__}:{obj.__qualname__}"
        if name in self.parts:  # two lambdas, or a redefinition: keep both, in walk order
            n = 2
            while f"{name}#{n}" in self.parts:
                n += 1
            name = f"{name}#{n}"
        return name

    def _add_function(self, func: FunctionType) -> None:
        node = self._node(func)
        self.parts[self._name(func)] = self._function_digest(func, node, drop_decorators=False)
        self._walk_function(func, node)
        wrapped = own_attr(func, "__wrapped__")
        if wrapped is not None:
            self._consider(wrapped, f"{func.__module__}:{func.__qualname__}")

    def _add_wrapped(self, wrapper: FunctionType) -> None:
        """The functions a user decorator's wrapper wraps (``functools.wraps``), innermost last.

        Their decorator lines are left out: what the decorators do is the wrapper's code,
        already hashed, and the outermost ones are bevel's ``@step(...)`` options, which must
        not count. Reached first from here, they are not hashed again through the closure.
        """
        inner = own_attr(wrapper, "__wrapped__")
        while isinstance(inner, FunctionType) and id(inner) not in self.seen:
            self.seen.add(id(inner))
            self.keep.append(inner)
            if is_user_object(inner, self.project):
                node = self._node(inner)
                self.parts[self._name(inner)] = self._function_digest(
                    inner, node, drop_decorators=True
                )
                self._walk_function(inner, node)
            inner = own_attr(inner, "__wrapped__")

    def _add_class(self, cls: type) -> None:
        digest, source_file = self._class_digest(cls)
        self.parts[self._name(cls)] = digest
        prefix = cls.__qualname__ + "."
        for method in _class_functions(cls):
            if not method.__qualname__.startswith(prefix):
                self._consider(method, f"{method.__module__}:{method.__qualname__}")
            elif _written_in(method, source_file):
                # Its source is part of the class's, but what it calls is not.
                self.seen.add(id(method))
                self.keep.append(method)
                self._walk_function(method, self._node(method))
        for value in vars(cls).values():
            if isinstance(value, type):
                self._consider(value, f"{cls.__module__}:{value.__qualname__}")
        for base in cls.__bases__:
            self._consider(base, f"{base.__module__}:{base.__qualname__}")
        meta = type(cls)
        if meta is not type:
            self._consider(meta, f"{meta.__module__}:{meta.__qualname__}")


def _defaults(func: FunctionType, node: ast.AST | None) -> list[tuple[str, Any]]:
    """Default values not written as literals in the source (``lr=LR``, ``loss=my_loss``).

    A literal default (``lr=0.1``) is already in the syntax tree; anything else was evaluated
    when the ``def`` ran, so its value, not its expression, is what the function uses.
    """
    code = func.__code__
    values: dict[str, Any] = {}
    positional = code.co_varnames[: code.co_argcount]
    for name, value in zip(reversed(positional), reversed(func.__defaults__ or ())):
        values[name] = value
    values.update(func.__kwdefaults__ or {})
    if node is None:  # bytecode digest: literal defaults are in code_digest already
        return [(k, v) for k, v in values.items() if encode_literal(v) is None]
    written: set[str] = set()
    args = node.args  # type: ignore[attr-defined]
    positional_nodes = [*args.posonlyargs, *args.args]
    pairs = zip(reversed(positional_nodes), reversed(args.defaults))
    pairs_kw = [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    for arg, default in [*pairs, *pairs_kw]:
        try:
            ast.literal_eval(default)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        written.add(arg.arg)
    return [(k, v) for k, v in values.items() if k not in written]


def _short(literal: str) -> str:
    """A literal as shown in ``code_parts`` (and so by explain), hashed when long."""
    return literal if len(literal) <= 200 else sha256(literal)


def instance_state(obj: object) -> tuple[str, Any] | None:
    """The encoded literal state of an object and a copy of it, or None.

    The state is the instance ``__dict__`` (or a slotted dataclass's fields); None when any
    value is not a literal (a fitted model, a connection): such objects are not fingerprinted
    beyond their class.
    """
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except Exception:
        namespace = None
    if not isinstance(namespace, dict):
        fields = getattr(type(obj), "__dataclass_fields__", None)
        if not isinstance(fields, dict):
            return None
        try:
            namespace = {name: object.__getattribute__(obj, name) for name in fields}
        except Exception:
            return None
    encoded = encode_literal(dict(namespace), budget=10_000)
    return None if encoded is None else (encoded, _copy(dict(namespace)))


def _written_in(method: FunctionType, source_file: str | None) -> bool:
    """True for a method written in the class body, rather than made by a library.

    ``dataclasses`` makes ``__init__`` with ``exec`` and wraps ``__repr__`` in a stdlib
    function: both follow from the class source, which is hashed already. Without source, every
    method that is not a library's is walked: only its bytecode says what it calls.
    """
    filename = method.__code__.co_filename
    if source_file is not None:
        return filename == source_file
    return filename.startswith("<") or is_user_path(filename)


def _accessors(value: object) -> list[FunctionType]:
    """The functions behind one class attribute: a method, static/class method or property."""
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    found: list[object] = [value]
    if isinstance(value, property):
        found = [value.fget, value.fset, value.fdel]
    return [f for f in found if isinstance(f, FunctionType)]


def _class_functions(cls: type) -> list[FunctionType]:
    """The functions written in (or assigned to) a class body, properties' accessors too."""
    return [f for value in vars(cls).values() for f in _accessors(value)]


def _copy(value: Any) -> Any:
    """A deep copy of a literal container, to notice in-place mutation later."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, set):
        return set(value)
    return value


def own_attr(obj: object, name: str) -> Any:
    """``obj.name`` from the instance dict only: never runs a user ``__getattr__``."""
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except Exception:  # no __dict__, or a proxy that refuses: nothing to follow
        return None
    return namespace.get(name) if isinstance(namespace, dict) else None
