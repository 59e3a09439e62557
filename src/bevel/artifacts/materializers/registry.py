"""The lazy type -> materializer table, and how a type finds its materializer.

Both sides of the table are ``"module:qualname"`` strings, and a type is matched by comparing the
strings of the classes in its MRO, so resolving never imports anything: pandas is only imported
when the user's type is a pandas type, which means the user already imported it. Register your
own type (a class or its ``"module:qualname"``)::

    import bevel
    bevel.register_materializer("mylib.models:Forest", "mylib.bevel_io:ForestMaterializer")

Types outside the table are an error (never a silent pickle): see :func:`unknown_type_hint`.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import types
import typing
from typing import Any

from bevel.artifacts.materializers.base import Materializer
from bevel.errors import ArtifactError, ConfigError

_PKG = "bevel.artifacts.materializers"
JSON_MATERIALIZER = f"{_PKG}.json_builtins:JsonMaterializer"
BYTES_MATERIALIZER = f"{_PKG}.raw_bytes:BytesMaterializer"
NUMPY_MATERIALIZER = f"{_PKG}.numpy_array:NumpyMaterializer"
DATAFRAME_MATERIALIZER = f"{_PKG}.pandas_parquet:DataFrameMaterializer"
SERIES_MATERIALIZER = f"{_PKG}.pandas_parquet:SeriesMaterializer"
PYDANTIC_MATERIALIZER = f"{_PKG}.pydantic_model:PydanticMaterializer"
DATACLASS_MATERIALIZER = f"{_PKG}.dataclass_json:DataclassMaterializer"
PATH_MATERIALIZER = f"{_PKG}.path_copy:PathMaterializer"
#: Explicit opt-in only (``@step(pickle=True)``); never chosen by :func:`resolve_materializer`.
PICKLE_MATERIALIZER = f"{_PKG}.pickled:PickleMaterializer"
SKLEARN_MATERIALIZER = "bevel.integrations.sklearn:SklearnMaterializer"

NONE_REF = "builtins:NoneType"

# Keys are "module:qualname" as the class reports it (``cls.__module__``): pandas 3 says
# "pandas:DataFrame", pandas 2 "pandas.core.frame:DataFrame", so both are listed. Any other
# importable location of the same class also matches, see _match_by_identity().
_DEFAULT_TABLE: dict[str, str] = {
    **{
        f"builtins:{name}": JSON_MATERIALIZER
        for name in ("int", "float", "str", "bool", "NoneType", "list", "dict", "tuple")
    },
    "builtins:bytes": BYTES_MATERIALIZER,
    "builtins:bytearray": BYTES_MATERIALIZER,
    "numpy:ndarray": NUMPY_MATERIALIZER,
    "numpy:generic": NUMPY_MATERIALIZER,  # numpy scalars (np.float64 also derives from float)
    "pandas:DataFrame": DATAFRAME_MATERIALIZER,
    "pandas:Series": SERIES_MATERIALIZER,
    "pandas.core.frame:DataFrame": DATAFRAME_MATERIALIZER,  # pandas < 3
    "pandas.core.series:Series": SERIES_MATERIALIZER,
    "pydantic.main:BaseModel": PYDANTIC_MATERIALIZER,
    "pathlib:Path": PATH_MATERIALIZER,
    "pathlib._local:Path": PATH_MATERIALIZER,  # Python 3.13+
    "sklearn.base:BaseEstimator": SKLEARN_MATERIALIZER,
}

_table: dict[str, str] = dict(_DEFAULT_TABLE)
_instances: dict[str, Materializer] = {}

# Missing module (top-level name) -> the extra that installs it.
_EXTRAS = {
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pandas",
    "pydantic": "pydantic",
    "sklearn": "sklearn",
    "joblib": "sklearn",
}


def _unwrap(tp: Any) -> Any:
    """The class behind ``NewType`` and ``Annotated`` wrappers."""
    while True:
        if getattr(tp, "__supertype__", None) is not None:  # typing.NewType
            tp = tp.__supertype__
        elif typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin is typing.Union or origin is types.UnionType


def type_ref(tp: Any) -> str:
    """``"module:qualname"`` of a class; generic aliases give their origin (``list[int]`` ->
    ``"builtins:list"``) and ``None`` gives ``"builtins:NoneType"``. Annotations that are not a
    class (unions, ``Any``) give ``""``: the artifact then loads without a type."""
    tp = _unwrap(tp)
    if tp is None or tp is type(None):
        return NONE_REF
    if _is_union(tp):
        return ""
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        tp = origin
    if not isinstance(tp, type):
        return ""
    return f"{tp.__module__}:{tp.__qualname__}"


def import_ref(ref: str) -> Any:
    """Import ``"module:qualname"`` (raises ImportError / AttributeError; callers wrap them)."""
    if ref == NONE_REF:
        return type(None)
    module_name, sep, qualname = ref.partition(":")
    if not sep or not module_name or not qualname:
        raise ImportError(f"{ref!r} is not a 'module:qualname' reference")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def register_materializer(type_: type | str, materializer: type | str) -> None:
    """Use ``materializer`` for ``type_`` and its subclasses (later registrations win).

    Both may be given as classes or as ``"module:qualname"`` strings; strings keep the
    registration free of imports::

        bevel.register_materializer("torch.nn.modules.module:Module", "mylib.io:TorchMaterializer")
    """
    key = type_ if isinstance(type_, str) else type_ref(type_)
    value = materializer if isinstance(materializer, str) else type_ref(materializer)
    for ref in (key, value):
        module_name, sep, qualname = ref.partition(":")
        if not (sep and module_name and qualname):
            raise ConfigError(
                f"register_materializer: {ref!r} is not a class or a 'module:qualname' string",
                hint="pass the class itself or a string like 'mylib.models:Forest'",
            )
    _table[key] = value


def resolve_materializer(tp: Any) -> str | None:
    """The materializer ref for an annotation, or ``None`` when no materializer is registered.

    Walks ``tp.__mro__`` and returns the first registered class, so subclasses inherit their
    base's materializer. Handles ``None``, generic aliases (``list[int]``, ``dict[str, float]``),
    ``Annotated``, ``NewType``, unions whose members all resolve to the same materializer, and
    dataclasses (when nothing in their MRO is registered). Nothing is imported.
    """
    tp = _unwrap(tp)
    if tp is None or tp is type(None):
        return _table.get(NONE_REF)
    if _is_union(tp):
        found = {resolve_materializer(arg) for arg in typing.get_args(tp)}
        return found.pop() if len(found) == 1 else None
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        tp = origin
    if not isinstance(tp, type):
        return None
    for cls in tp.__mro__:
        ref = _table.get(f"{cls.__module__}:{cls.__qualname__}") or _match_by_identity(cls)
        if ref:
            return ref
    if dataclasses.is_dataclass(tp):
        return DATACLASS_MATERIALIZER
    return None


def _match_by_identity(cls: type) -> str | None:
    """A registration that names ``cls`` by another importable location (``"pandas:DataFrame"``
    for a class reporting ``pandas.core.frame``, or the reverse). Only modules that are already
    imported are looked at, so this never imports anything."""
    for key, materializer in _table.items():
        module_name, _, qualname = key.partition(":")
        if qualname.rpartition(".")[2] != cls.__name__:
            continue
        module = sys.modules.get(module_name)
        if module is None:
            continue
        try:
            obj: Any = module
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except Exception:  # a stale or odd registration must not break resolution
            continue
        if obj is cls:
            return materializer
    return None


def get_materializer(ref: str) -> Materializer:
    """The (cached) materializer instance for ``ref``; its module is imported on first use."""
    cached = _instances.get(ref)
    if cached is not None:
        return cached
    try:
        cls = import_ref(ref)
    except ImportError as exc:
        raise ArtifactError(
            f"cannot import materializer {ref}: {exc}", hint=_install_hint(exc)
        ) from exc
    except AttributeError as exc:
        raise ArtifactError(
            f"materializer {ref} does not exist: {exc}",
            hint="check the 'module:Class' string given to register_materializer",
        ) from exc
    instance: Materializer = cls()
    _instances[ref] = instance
    return instance


def _install_hint(exc: ImportError) -> str:
    top = (exc.name or "").partition(".")[0]
    extra = _EXTRAS.get(top)
    if extra:
        return f"install the extra: pip install 'bevel[{extra}]'"
    if top:
        return f"install the package that provides {top!r} in this environment"
    return "check that the materializer's module is importable here"


def unknown_type_hint(tp: Any) -> str:
    """How to fix "no materializer for this type": register one, or opt into pickle."""
    ref = type_ref(tp)
    if not ref:
        return (
            f"annotate the output with one concrete class instead of {tp!r} "
            '(or opt into pickle for it: `@step(pickle=True)` or `@step(pickle=["output_name"])`)'
        )
    return (
        f"register a materializer for it: `bevel.register_materializer({ref!r}, "
        "'your_module:YourMaterializer')` (a class with version, save, load, metadata and "
        "visualizations; see bevel.artifacts.materializers.base.Materializer), or opt into "
        'pickle for this output: `@step(pickle=True)` or `@step(pickle=["output_name"])` '
        "(pickled artifacts only load on the same Python minor version)"
    )
