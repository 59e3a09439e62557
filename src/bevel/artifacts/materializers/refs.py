"""References to classes that another process can import: ``"module:qualname"`` or
``"/path/to/script.py:qualname"``.

Artifacts record their type and materializer by reference, and whoever loads the artifact (a
notebook, ``bevel artifacts show``, a worker) imports it again. A class defined in the script
being run reports its module as ``__main__`` (``python script.py``) or as a module bevel made up
from the file name (``bevel run script.py:p``), and neither name means the same thing in another
process. Such classes are recorded by file path instead; importing a file reference reuses the
module already loaded from that file, or imports the file once under its own name (its folder on
``sys.path``, as ``python script.py`` would have it). ``if __name__ == "__main__":`` blocks do not
run then, and a pipeline called at the file's top level is refused (see
:func:`bevel.authoring.tracing.importing_for_reference`): loading an artifact never starts a run.

Classes with no file (a notebook cell, ``python -c``) or defined inside a function keep their
plain reference; only the process that defined them can load such artifacts, and the error says
so (:func:`unimportable_hint`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import types
import typing
from typing import Any

from bevel.authoring.tracing import importing_for_reference

NONE_REF = "builtins:NoneType"

# Modules bevel imported from a file under a name of its choosing (``bevel run file.py``).
_file_modules: set[str] = set()
# path -> module imported from it, found by __file__ or imported by _import_file.
_by_file: dict[str, types.ModuleType] = {}


def mark_file_module(module_name: str) -> None:
    """Record that ``module_name`` was imported from a file by path, not found on ``sys.path``
    (its classes are then referenced by file path)."""
    _file_modules.add(module_name)


def unwrap(tp: Any) -> Any:
    """The class behind ``NewType`` and ``Annotated`` wrappers."""
    while True:
        if getattr(tp, "__supertype__", None) is not None:  # typing.NewType
            tp = tp.__supertype__
        elif typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        else:
            return tp


def is_union(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin is typing.Union or origin is types.UnionType


def type_ref(tp: Any) -> str:
    """The importable reference of a class; generic aliases give their origin (``list[int]`` ->
    ``"builtins:list"``) and ``None`` gives ``"builtins:NoneType"``. Annotations that are not a
    class (unions, ``Any``) give ``""``: the artifact then loads without a type."""
    tp = unwrap(tp)
    if tp is None or tp is type(None):
        return NONE_REF
    if is_union(tp):
        return ""
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        tp = origin
    if not isinstance(tp, type):
        return ""
    return class_ref(tp)


def class_ref(cls: type) -> str:
    module_name = cls.__module__
    if module_name == "__main__" or module_name in _file_modules:
        path = _defining_file(cls)
        if path is not None:
            return f"{path}:{cls.__qualname__}"
    return f"{module_name}:{cls.__qualname__}"


def plain_ref(cls: type) -> str:
    """``"module:qualname"`` as the class reports it (the registry's in-process table keys)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def is_file_ref(module_part: str) -> bool:
    return module_part.endswith(".py") or "/" in module_part or os.sep in module_part


def _defining_file(cls: type) -> str | None:
    """The file of the script that defines ``cls`` at its top level, if there is one."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py") or "<locals>" in cls.__qualname__:
        return None
    found: Any = module
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    if found is not cls:
        return None
    path = os.path.abspath(path)
    # `python -m ipykernel_launcher` and similar runners leave their own file as __main__'s
    # while the class comes from elsewhere (a notebook cell): check the file defines it.
    if cls.__module__ == "__main__" and not _defines_class(path, cls.__name__):
        return None
    _by_file[path] = module  # type: ignore[assignment]
    return path


def _defines_class(path: str, name: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    return re.search(rf"^\s*class\s+{re.escape(name)}\b", text, re.M) is not None


def import_ref(ref: str) -> Any:
    """Import a reference (raises ImportError / AttributeError; callers wrap them)."""
    if ref == NONE_REF:
        return type(None)
    module_part, sep, qualname = ref.rpartition(":")
    if not sep or not module_part or not qualname:
        raise ImportError(f"{ref!r} is not a 'module:qualname' reference")
    if is_file_ref(module_part):
        obj: Any = _file_module(module_part)
    else:
        obj = importlib.import_module(module_part)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _file_module(path: str) -> types.ModuleType:
    path = os.path.abspath(path)
    known = _by_file.get(path)
    if known is not None and sys.modules.get(known.__name__) is known:
        return known
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.abspath(file) == path:
            _by_file[path] = module
            return module
    return _import_file(path)


def _import_file(path: str) -> types.ModuleType:
    """Import the script at ``path`` as a module (not as ``__main__``), once per process."""
    if not os.path.isfile(path):
        raise ImportError(f"{path} does not exist (the script that defined it moved or is gone)")
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules else _unique_name(stem, path)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # its sibling imports work, as under `python script.py`
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with importing_for_reference(path):
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _by_file[path] = module
    _file_modules.add(name)
    return module


def _unique_name(stem: str, path: str) -> str:
    digest = hashlib.sha256(path.encode()).hexdigest()[:10]
    safe = re.sub(r"\W", "_", stem)
    return f"bevel_file_{safe}_{digest}"


def unimportable_hint(ref: str) -> str:
    """How to fix a reference that does not import here, by what kind of reference it is."""
    module_part, _, qualname = ref.rpartition(":")
    if "<locals>" in qualname:
        return (
            "it was defined inside a function, so only the process that defined it can use it: "
            "define it at the top level of a module"
        )
    if module_part == "__main__":
        return (
            "it was defined in an interactive session (a notebook, a REPL or `python -c`), so "
            "only that session can use it: move it into a module (a .py file) and import it "
            "from there, then re-run the step"
        )
    if is_file_ref(module_part):
        return f"make {module_part} exist here again (it defines {qualname}), or re-run the step"
    return f"make the module {module_part!r} importable here (install it or add it to PYTHONPATH)"
