"""``@dataclass`` for bevel's own classes: the standard library's semantics, a fraction of the
definition cost.

Python 3.11's ``dataclasses.dataclass`` compiles every generated method from source with
``exec()`` when the class is defined: ~6 compilations, ~1.5 ms per frozen class on the
development VM, ~100 ms for the 75 classes a run imports (half of ``import bevel.api``), paid
in every process whether or not it ever makes an instance. This decorator makes the same
classes without compiling anything at definition time:

- ``__eq__``, ``__hash__``, ``__repr__`` and a frozen class's ``__setattr__``/``__delattr__``
  are shared closures over the field names (the comparisons and hashes of the tuples of
  fields, exactly as the standard library's);
- ``__init__`` is compiled from the same kind of source the standard library writes (so it is
  as fast, with the same signature, defaults, ``default_factory``, ``init=False`` and
  ``__post_init__``), but on first use: creating an instance, or reading ``cls.__init__``
  (``inspect.signature``), of which most classes in most processes see none; and its code is
  kept beside this module's ``.pyc`` for the next process (``_compiled``).

Everything the code and users rely on holds: frozen instances raise
``dataclasses.FrozenInstanceError``; ``__dataclass_fields__`` holds real ``dataclasses.Field``
objects, so ``dataclasses.fields``, ``replace``, ``asdict``, ``astuple`` and ``is_dataclass``
work, and a class made by the standard decorator may inherit from one made here (and the other
way round); ``__match_args__``; pickling and copying as for any class. Type checkers read the
decorator as a dataclass (``typing.dataclass_transform``). Not offered: ``order``, ``slots``,
``kw_only``, ``InitVar`` and ``unsafe_hash`` (nothing in bevel uses them; asking raises
``TypeError``). Unlike the standard library, a class without a docstring does not get its
signature as ``__doc__``. ``tests/core/test_dataclass.py`` compares both decorators on the
same classes.
"""

from __future__ import annotations

import abc
import atexit
import dataclasses
import marshal
import os
import reprlib
import sys
import typing
from collections.abc import Callable
from contextlib import suppress
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")

_MISSING: Any = dataclasses.MISSING
_FIELD: Any = dataclasses._FIELD  # type: ignore[attr-defined]  # what fields() keeps


class _Params:
    """What ``__dataclass_params__`` holds (the standard decorator reads ``frozen`` of a base)."""

    __slots__ = ("eq", "frozen", "init", "order", "repr", "unsafe_hash")

    def __init__(self, *, repr: bool, eq: bool, frozen: bool) -> None:
        self.init, self.repr, self.eq, self.frozen = True, repr, eq, frozen
        self.order = self.unsafe_hash = False

    def __repr__(self) -> str:
        return f"_Params(repr={self.repr}, eq={self.eq}, frozen={self.frozen})"


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(
    *, frozen: bool = False, eq: bool = True, repr: bool = True
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def dataclass(
    cls: type[T] | None = None, /, *, frozen: bool = False, eq: bool = True, repr: bool = True
) -> type[T] | Callable[[type[T]], type[T]]:
    """Make ``cls`` a dataclass, as ``dataclasses.dataclass(frozen=, eq=, repr=)`` would."""

    def wrap(cls: type[T]) -> type[T]:
        _process(cls, frozen=frozen, eq=eq, repr=repr)
        return cls

    return wrap if cls is None else wrap(cls)


def _process(cls: Any, *, frozen: bool, eq: bool, repr: bool) -> None:
    fields: dict[str, dataclasses.Field[Any]] = {}
    frozen_bases = set()
    for base in cls.__mro__[-1:0:-1]:
        base_fields = getattr(base, "__dataclass_fields__", None)
        if base_fields is not None:
            frozen_bases.add(base.__dataclass_params__.frozen)  # type: ignore[attr-defined]
            fields.update((f.name, f) for f in base_fields.values() if f._field_type is _FIELD)
    if frozen_bases and frozen_bases != {frozen}:
        kind = "frozen" if frozen else "non-frozen"
        other = "non-frozen" if frozen else "frozen"
        raise TypeError(f"cannot inherit {kind} dataclass from a {other} one")
    namespace = cls.__dict__
    annotations: dict[str, Any] = namespace.get("__annotations__", {})
    for name, annotation in annotations.items():
        if _is_classvar(annotation):
            continue
        if isinstance(annotation, str) and "InitVar" in annotation:
            raise TypeError(f"{cls.__qualname__}.{name}: InitVar is not supported here")
        fields[name] = _field(cls, name, annotation, namespace.get(name, _MISSING))
    for name, value in namespace.items():
        if isinstance(value, dataclasses.Field) and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    _check_defaults(cls, fields)

    names = tuple(f.name for f in fields.values())
    cls.__dataclass_fields__ = fields
    generated_init = "__init__" not in namespace and not hasattr(cls, "__post_init__")
    if generated_init and all(f.init for f in fields.values()):  # it only sets them: replace()
        cls.__bevel_fields__ = frozenset(names)
    cls.__dataclass_params__ = _Params(repr=repr, eq=eq, frozen=frozen)
    if "__init__" not in namespace:
        cls.__init__ = _LazyInit(cls, f"{cls.__qualname__}.__init__")
    if repr and "__repr__" not in namespace:
        cls.__repr__ = _make_repr(cls, tuple(f.name for f in fields.values() if f.repr))
    compared = tuple(f.name for f in fields.values() if f.compare)
    if eq and "__eq__" not in namespace:
        cls.__eq__ = _make_eq(cls, _values(compared))
    class_hash = namespace.get("__hash__", _MISSING)
    explicit_hash = not (class_hash is _MISSING or (class_hash is None and "__eq__" in namespace))
    if eq and not explicit_hash:
        if frozen:
            hashed = tuple(
                f.name for f in fields.values() if (f.compare if f.hash is None else f.hash)
            )
            cls.__hash__ = _make_hash(cls, _values(hashed))
        else:
            cls.__hash__ = None
    if frozen:
        for method in ("__setattr__", "__delattr__"):
            if method in namespace:
                raise TypeError(f"Cannot overwrite attribute {method} in class {cls.__name__}")
        cls.__setattr__ = _make_frozen_setattr(cls, frozenset(names))
        cls.__delattr__ = _make_frozen_delattr(cls, frozenset(names))
    if "__match_args__" not in namespace:
        setattr(cls, "__match_args__", tuple(f.name for f in fields.values() if f.init))  # noqa: B010
    if isinstance(cls, abc.ABCMeta):
        abc.update_abstractmethods(cls)  # type: ignore[arg-type]


def replace(obj: T, /, **changes: Any) -> T:
    """``dataclasses.replace(obj, **changes)``: a copy of ``obj`` with ``changes``.

    For a class made here whose ``__init__`` only sets the fields (the generated one, every
    field in it, no ``__post_init__``: bevel's records), that is the old instance's field
    values and ``changes`` put in a new instance without calling ``__init__`` (~8,000
    instructions instead of ~52,000; a step run replaces ~4 records). Anything else, unknown
    field names included, goes to ``dataclasses.replace`` (and raises what it raises).
    """
    cls = type(obj)
    names: frozenset[str] | None = cls.__dict__.get("__bevel_fields__")
    if names is None or not changes.keys() <= names:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    state = obj.__dict__
    new = object.__new__(cls)
    new.__dict__.update({name: state[name] for name in names}, **changes)
    return new


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):  # `from __future__ import annotations`: always, in bevel
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return getattr(annotation, "__origin__", annotation) is typing.ClassVar


def _field(cls: type, name: str, annotation: Any, default: Any) -> dataclasses.Field[Any]:
    f: Any = (
        default if isinstance(default, dataclasses.Field) else dataclasses.field(default=default)
    )
    if f.kw_only is not _MISSING and f.kw_only:
        raise TypeError(f"{cls.__qualname__}.{name}: kw_only fields are not supported here")
    f.name, f.type, f.kw_only = name, annotation, False
    f._field_type = _FIELD
    if f.default is not _MISSING and f.default.__class__.__hash__ is None:
        raise ValueError(
            f"mutable default {type(f.default)} for field {name} is not allowed: "
            "use default_factory"
        )
    if isinstance(default, dataclasses.Field):
        # As the standard decorator does: the class attribute is the plain default, or none.
        if f.default is _MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, f.default)
    return f  # type: ignore[no-any-return]


def _check_defaults(cls: type, fields: dict[str, dataclasses.Field[Any]]) -> None:
    seen_default = False
    for f in fields.values():
        if not f.init:
            continue
        if f.default is _MISSING and f.default_factory is _MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = True


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving an instance's values of ``names`` as a tuple (one C call)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


def _make_repr(cls: Any, names: tuple[str, ...]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({parts})"

    __repr__.__qualname__ = f"{cls.__qualname__}.__repr__"
    return __repr__


def _make_eq(cls: Any, values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    __eq__.__qualname__ = f"{cls.__qualname__}.__eq__"
    return __eq__


def _make_hash(cls: Any, values: Callable[[Any], tuple[Any, ...]]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))

    __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
    return __hash__


def _make_frozen_setattr(cls: Any, names: frozenset[str]) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    __setattr__.__qualname__ = f"{cls.__qualname__}.__setattr__"
    return __setattr__


def _make_frozen_delattr(cls: Any, names: frozenset[str]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    __delattr__.__qualname__ = f"{cls.__qualname__}.__delattr__"
    return __delattr__


class _LazyInit:
    """``cls.__init__`` until first read: reading it (to call it, or ``inspect.signature``)
    compiles the real one, which replaces this in the class."""

    def __init__(self, cls: type, qualname: str) -> None:
        self.cls, self.qualname = cls, qualname

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        init = _compile_init(self.cls)
        init.__qualname__ = self.qualname
        type.__setattr__(self.cls, "__init__", init)
        return init if obj is None else init.__get__(obj, owner)


class _HasFactory:
    """The default of a parameter whose field has a ``default_factory``."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _HasFactory()


def _compile_init(cls: type) -> Callable[..., None]:
    """The ``__init__`` the standard decorator would write for ``cls``, compiled now."""
    fields = cls.__dataclass_fields__.values()  # type: ignore[attr-defined]
    frozen = cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    this = "__dataclass_self__" if "self" in cls.__dataclass_fields__ else "self"  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"__factory__": _HAS_FACTORY, "__object__": object}
    params, body = [this], []
    for f in fields:
        if f.init:
            if f.default is not _MISSING:
                namespace[f"__default_{f.name}__"] = f.default
                params.append(f"{f.name}=__default_{f.name}__")
            elif f.default_factory is not _MISSING:
                params.append(f"{f.name}=__factory__")
            else:
                params.append(f.name)
        if f.default_factory is not _MISSING:
            namespace[f"__make_{f.name}__"] = f.default_factory
            value = (
                f"__make_{f.name}__() if {f.name} is __factory__ else {f.name}"
                if f.init
                else f"__make_{f.name}__()"
            )
        elif f.init:
            value = f.name
        else:
            continue  # init=False with a plain default: the class attribute serves
        if frozen:
            body.append(f"__object__.__setattr__({this}, {f.name!r}, {value})")
        else:
            body.append(f"{this}.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append(f"{this}.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n    " + "\n    ".join(body or ["pass"])
    exec(_compiled(source), namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__module__ = cls.__module__
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init


# --- compiled __init__ code, kept across processes -----------------------------------------
# Compiling one small ``__init__`` costs ~150 us; a run makes instances of ~40 classes, so ~6 ms
# of every run was the compiler. The code object depends on nothing but its source text (the
# defaults and factories are names in the namespace it is executed in), so, as Python keeps a
# module's bytecode in ``__pycache__``, this keeps each source's marshalled code beside this
# module's own ``.pyc``: a process compiles only a source no earlier one stored (~3 us to load).

_MAX_STORED = 512  # bevel's classes are ~100; dynamically made ones cannot grow it past this
_stored: dict[str, bytes] | None = None  # source -> marshalled code, as read from the file
_added: dict[str, bytes] = {}  # what this process compiled that the file did not have


def _cache_file() -> str | None:
    """Beside this module's ``.pyc`` (honouring ``sys.pycache_prefix``); None without one."""
    cached = globals().get("__cached__")
    return f"{os.path.splitext(cached)[0]}.inits" if cached else None


def _read(path: str | None) -> dict[str, bytes]:
    if path is None:
        return {}
    try:
        with open(path, "rb") as fh:
            version, stored = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}  # none yet, or damaged: compile, and write it anew
    if version != sys.version or not isinstance(stored, dict):
        return {}
    return stored


def _compiled(source: str) -> Any:
    """The code object of ``source``: from the file when stored there, else compiled now."""
    global _stored
    if _stored is None:
        _stored = _read(_cache_file())
    data = _stored.get(source)
    if data is not None:
        try:
            return marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            pass
    code = compile(source, "<string>", "exec")
    if not sys.dont_write_bytecode and len(_stored) + len(_added) < _MAX_STORED:
        if not _added:
            atexit.register(_write)
        _added[source] = marshal.dumps(code)
    return code


def _write() -> None:
    """Add what this process compiled to the file (merged with what others added meanwhile);
    written whole to a temporary name and renamed, so a reader sees one version or the other."""
    path = _cache_file()
    if path is None or not _added:
        return
    stored = {**_read(path), **_added}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(marshal.dumps((sys.version, stored)))
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError):
            os.unlink(tmp)
