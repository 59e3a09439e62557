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
import sys
import typing
from typing import Any

from bevel.artifacts.materializers.base import Materializer, complete
from bevel.artifacts.materializers.refs import (
    NONE_REF,
    class_ref,
    import_ref,
    is_union,
    plain_ref,
    type_ref,
    unimportable_hint,
    unwrap,
)
from bevel.errors import ArtifactError, ConfigError

__all__ = [
    "NONE_REF",
    "get_materializer",
    "import_ref",
    "materializer_ref",
    "register_materializer",
    "resolve_materializer",
    "type_ref",
    "unknown_type_hint",
]

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
_TORCH = "bevel.integrations.torch"
_DATA = f"{_PKG}.data_reports"
TEXT_MATERIALIZER = f"{_PKG}.text:TextMaterializer"
FIGURE_MATERIALIZER = f"{_PKG}.matplotlib_figure:FigureMaterializer"
IMAGE_MATERIALIZER = f"{_PKG}.pil_image:ImageMaterializer"

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
    # torch: safetensors + JSON, never a pickle (bevel.integrations.torch)
    "torch.nn.modules.module:Module": f"{_TORCH}:TorchModuleMaterializer",
    "torch:Tensor": f"{_TORCH}:TensorMaterializer",
    "torch.utils.data.dataset:TensorDataset": f"{_TORCH}:TensorDatasetMaterializer",
    "torch.utils.data.dataloader:DataLoader": f"{_TORCH}:DataLoaderMaterializer",
    "matplotlib.figure:Figure": FIGURE_MATERIALIZER,
    "PIL.Image:Image": IMAGE_MATERIALIZER,
    **{
        f"bevel.artifacts.text_types:{name}": TEXT_MATERIALIZER
        for name in ("HTMLString", "MarkdownString", "CSVString", "JSONString")
    },
    # bevel.data's artifacts (statistics, schemas, anomaly and drift reports)
    "bevel.data.statistics:Profile": f"{_DATA}:ProfileMaterializer",
    "bevel.data.schema:Schema": f"{_DATA}:SchemaMaterializer",
    "bevel.data.validation:AnomalyReport": f"{_DATA}:AnomalyReportMaterializer",
    "bevel.data.drift_detection:DriftReport": f"{_DATA}:DriftReportMaterializer",
}

_table: dict[str, str] = dict(_DEFAULT_TABLE)
_instances: dict[str, Materializer] = {}
# Materializer classes given as objects, by their recorded ref: used in this process without
# importing (a class defined in a function or a notebook cell has no importable ref).
_classes: dict[str, type] = {}

# Missing module (top-level name) -> the extra that installs it.
_EXTRAS = {
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pandas",
    "pydantic": "pydantic",
    "sklearn": "sklearn",
    "joblib": "sklearn",
    "skops": "sklearn",
    "torch": "torch",
    "safetensors": "torch",
    "optuna": "optuna",
    "fastapi": "serve",
    "uvicorn": "serve",
    "scipy": "data",
    "matplotlib": "examples",
    "pandera": "data",
}


def register_materializer(type_: type | str, materializer: type | str) -> None:
    """Use ``materializer`` for ``type_`` and its subclasses (later registrations win).

    Both may be given as classes or as ``"module:qualname"`` strings; strings keep the
    registration free of imports::

        bevel.register_materializer("torch.nn.modules.module:Module", "mylib.io:TorchMaterializer")
    """
    key = _checked_ref(type_, "register_materializer", plain=True)
    _table[key] = materializer_ref(materializer, "register_materializer")


def materializer_ref(materializer: type | str, what: str = "materializers") -> str:
    """The recorded reference of a materializer given as a class or a ``"module:Class"``
    string; a class is remembered, so this process uses it without importing it again."""
    ref = _checked_ref(materializer, what, plain=False)
    if isinstance(materializer, type):
        _classes[ref] = materializer
    return ref


def _checked_ref(given: type | str, what: str, *, plain: bool) -> str:
    if isinstance(given, type):
        return plain_ref(given) if plain else class_ref(given)
    if isinstance(given, str):
        module_name, sep, qualname = given.rpartition(":")
        if sep and module_name and qualname:
            return given
    raise ConfigError(
        f"{what}: {given!r} is not a class or a 'module:qualname' string",
        hint="pass the class itself or a string like 'mylib.models:Forest'",
    )


def resolve_materializer(tp: Any) -> str | None:
    """The materializer ref for an annotation, or ``None`` when no materializer is registered.

    Walks ``tp.__mro__`` and returns the first registered class, so subclasses inherit their
    base's materializer. Handles ``None``, generic aliases (``list[int]``, ``dict[str, float]``),
    ``Annotated``, ``NewType``, unions whose members all resolve to the same materializer, and
    dataclasses (when nothing in their MRO is registered). Nothing is imported.
    """
    tp = unwrap(tp)
    if tp is None or tp is type(None):
        return _table.get(NONE_REF)
    if is_union(tp):
        found = {resolve_materializer(arg) for arg in typing.get_args(tp)}
        return found.pop() if len(found) == 1 else None
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        tp = origin
    if not isinstance(tp, type):
        return None
    for cls in tp.__mro__:
        ref = _table.get(plain_ref(cls)) or _match_by_identity(cls)
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
    """The (cached) materializer instance for ``ref``; its module is imported on first use.

    The instance is checked against the contract (:func:`~.base.complete`), so a class without
    ``save``/``load`` or with a bad ``version`` is reported when the pipeline compiles.
    """
    cached = _instances.get(ref)
    if cached is not None:
        return cached
    cls = _classes.get(ref)
    if cls is None:
        try:
            cls = import_ref(ref)
        except ImportError as exc:
            hint = _install_hint(exc) if exc.name else unimportable_hint(ref)
            raise ArtifactError(f"cannot import materializer {ref}: {exc}", hint=hint) from exc
        except AttributeError as exc:
            raise ArtifactError(
                f"materializer {ref} does not exist: {exc}", hint=unimportable_hint(ref)
            ) from exc
    instance = complete(_instantiate(cls, ref), ref)
    _instances[ref] = instance
    return instance


def _instantiate(cls: Any, ref: str) -> Any:
    if not isinstance(cls, type):
        raise ArtifactError(
            f"materializer {ref} is a {type(cls).__name__}, not a class",
            hint="register the materializer class itself (bevel creates one instance of it)",
        )
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if abstract:
        raise ArtifactError(
            f"materializer {ref} does not define {', '.join(f'{m}()' for m in abstract)}",
            hint="a materializer defines save(self, obj, directory) and "
            "load(self, directory, type_) (see docs/extending.md)",
        )
    try:
        return cls()
    except Exception as exc:
        raise ArtifactError(
            f"cannot create materializer {ref}: {type(exc).__name__}: {exc}",
            hint="bevel creates a materializer with no arguments: give every parameter of "
            "its __init__ a default",
        ) from exc


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
    if not type_ref(tp):
        return (
            f"annotate the output with one concrete class instead of {tp!r} "
            '(or opt into pickle for it: `@step(pickle=True)` or `@step(pickle=["output_name"])`)'
        )
    cls = unwrap(tp)
    cls = typing.get_origin(cls) if isinstance(typing.get_origin(cls), type) else cls
    ref = plain_ref(cls)  # what the registry's table matches in this process
    return (
        f"register a materializer for it: `bevel.register_materializer({ref!r}, "
        "'your_module:YourMaterializer')` (a subclass of bevel.materializers.Materializer "
        "with save and load; see docs/extending.md), or opt into "
        'pickle for this output: `@step(pickle=True)` or `@step(pickle=["output_name"])` '
        "(pickled artifacts only load on the same Python minor version)"
    )
