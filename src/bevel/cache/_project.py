"""Which code belongs to the user's project, and so goes into a step's code fingerprint.

A step's cache key must change when a helper the step calls changes (ZenML #1011 is the
complaint we avoid), but hashing the stdlib, numpy or bevel itself would be slow and pointless:
their code changes with their version, which a user pins. So the line is drawn by *where a
module's file lives*: anything under the interpreter's library directories (stdlib,
site-packages, dist-packages, the base interpreter's own library) is a library; everything else
(the user's checkout, a notebook, a temporary directory, code typed into a REPL) is the project.

Two refinements:

* modules of the same top-level package as the step are always the project, even when that
  package is pip-installed into site-packages (a production image built with ``pip install .``
  must fingerprint the same helpers as the editable checkout did);
* bevel's own modules are never the project (unless the step itself is one of bevel's).

We deliberately exclude the base interpreter's *library directories*, not all of
``sys.base_prefix``: a container whose Python lives in ``/usr/local`` may well keep its
application in ``/usr/local/app``.
"""

from __future__ import annotations

import functools
import os
import site
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from bevel._lazy import lazy_module

if TYPE_CHECKING:
    import sysconfig
else:  # asked only for a file outside site-packages (a helper of the project, the stdlib)
    sysconfig = lazy_module("sysconfig")

_LIBRARY_DIR_NAMES = frozenset({"site-packages", "dist-packages"})


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


@functools.cache
def _library_roots() -> tuple[str, ...]:
    """Directories whose modules are libraries: this interpreter's and its base's."""
    roots: set[str] = set()
    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    schemes = [
        sysconfig.get_paths(),
        sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix}),
    ]
    for paths in schemes:
        roots.update(paths[k] for k in keys if k in paths)
    roots.update(getattr(site, "getsitepackages", list)())
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    if isinstance(user_site, str):
        roots.add(user_site)
    roots.add(os.path.dirname(os.__file__))  # the stdlib, whatever the scheme says
    return tuple(sorted({_norm(r) for r in roots if r}))


@functools.lru_cache(maxsize=8192)
def is_user_path(path: str) -> bool:
    """True when a source file is part of the user's project rather than a library."""
    if not path or path.startswith("<"):
        return False
    real = _norm(path)
    if _LIBRARY_DIR_NAMES.intersection(real.split(os.sep)):
        return False
    return not any(real == root or real.startswith(root + os.sep) for root in _library_roots())


def top_package(module_name: str | None) -> str:
    """``"mylib"`` for ``"mylib.features"``; ``""`` for a missing name."""
    return (module_name or "").partition(".")[0]


def is_user_module(module: ModuleType, project: str) -> bool:
    """True when ``module`` belongs to the project whose top-level package is ``project``."""
    name = getattr(module, "__name__", None)
    top = top_package(name if isinstance(name, str) else None)
    if top and top == project:
        return True
    if top == "bevel":
        return False
    file = getattr(module, "__file__", None)
    if isinstance(file, str):
        return is_user_path(file)
    paths = getattr(module, "__path__", None)  # a namespace package has a path but no file
    if paths is not None:
        try:
            return any(isinstance(p, str) and is_user_path(p) for p in list(paths))
        except TypeError:
            return False
    return name == "__main__"  # the REPL or a notebook: definitely the user's code


def is_user_object(obj: object, project: str) -> bool:
    """True when a function or class was defined in the user's project.

    Decided by the module it says it belongs to; code created by ``exec`` or typed into a REPL,
    whose module is unknown, counts as the user's when its file is not a library's.
    """
    module_name = getattr(obj, "__module__", None)
    module = sys.modules.get(module_name) if isinstance(module_name, str) else None
    if module is not None:
        return is_user_module(module, project)
    if top_package(module_name if isinstance(module_name, str) else None) == "bevel":
        return project == "bevel"
    code = getattr(obj, "__code__", None)
    filename = getattr(code, "co_filename", None)
    if isinstance(filename, str):
        return filename.startswith("<") or is_user_path(filename)
    return module_name is None or module_name == "__main__"


_BEVEL_DIR = _norm(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def is_user_frame(path: str) -> bool:
    """Whether a traceback frame's file is the user's code: a project file not of bevel itself.

    bevel's own files count as a library here even in an editable checkout (where they are not
    under site-packages), so error displays show only the frames a user can act on.
    """
    if not is_user_path(path):
        return False
    real = _norm(path)
    return not (real == _BEVEL_DIR or real.startswith(_BEVEL_DIR + os.sep))
