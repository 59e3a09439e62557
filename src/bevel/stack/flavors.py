"""Flavors: which code implements a component type, and with which config.

One readable table, :data:`BUILTIN_FLAVORS`, maps ``(component type, flavor)`` to a
:class:`Flavor` whose ``implementation`` and ``config`` are ``"module:attribute"`` strings, so
that the table costs nothing to import: a flavor's code is imported only when a component of it
is built, and its config class (a plain dataclass, see :mod:`bevel.stack.config`) never needs
the heavy library.

Third-party packages add flavors through the entry point group ``bevel.flavors``. The entry
point's name is ``"<type>/<flavor>"`` and its value points at a :class:`Flavor` (or any object
with the same attributes), e.g. in ``pyproject.toml``::

    [project.entry-points."bevel.flavors"]
    "alerter/slack" = "bevel_slack.flavor:FLAVOR"

Only the entry point named for the flavor being built is loaded. The implementation is called
with the validated config's fields as keyword arguments (plus ``name=``, the component's name,
when it accepts a ``name`` parameter), and returns the component.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel.errors import ConfigError
from bevel.stack.components import COMPONENT_TYPES

if TYPE_CHECKING:
    from importlib import metadata

ENTRY_POINT_GROUP = "bevel.flavors"
# Named, not imported: importlib.metadata (email, zipfile, csv...) costs ~10 ms and only
# third-party flavors need it, while every default run looks up its home store flavor here.
_METADATA = "importlib.metadata"


def load_ref(ref: str) -> Any:
    """Import ``"module:attribute"`` (dots allowed in the attribute)."""
    module_name, _, attr = ref.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        value = getattr(value, part)
    return value


@dataclass(frozen=True)
class Flavor:
    """One way to provide a component type.

    ``requires`` lists the top-level modules the implementation imports (checked with
    ``importlib.util.find_spec`` before building, so a missing extra is reported with the
    ``install`` hint instead of an ImportError mid-run); a config class may refine it with a
    ``requires()`` method (the PostgreSQL driver named in the URL). ``remote`` says components
    of this flavor work from other machines (an object store, a database server).
    """

    type: str
    name: str
    implementation: str  # "module:callable", called with the config's fields
    config: str | builtins.type  # "module:Class" (or the class), a frozen dataclass
    description: str = ""
    requires: tuple[str, ...] = ()
    install: str = ""  # e.g. "pip install 'bevel[s3]'"
    remote: bool = False
    provider: str = "bevel"

    def config_class(self) -> builtins.type:
        cls = load_ref(self.config) if isinstance(self.config, str) else self.config
        if not isinstance(cls, type):
            raise TypeError(f"config of flavor {self.type}/{self.name} is not a class: {cls!r}")
        return cls

    def load_implementation(self) -> Callable[..., Any]:
        impl = load_ref(self.implementation)
        if not callable(impl):
            raise TypeError(f"{self.implementation} is not callable")
        return impl  # type: ignore[no-any-return]

    def missing(self, config: Any = None) -> list[str]:
        """Required modules that cannot be imported here (cheap: no import happens).

        A config's ``requires()``, when it names modules, replaces the flavor's own list: a
        ``postgresql+psycopg2://`` URL needs psycopg2, not the psycopg that a plain URL uses.
        """
        refine = getattr(config, "requires", None)
        refined = list(refine()) if callable(refine) else []
        needed = refined or list(self.requires)
        return [m for m in needed if importlib.util.find_spec(m) is None]

    def install_hint(self, module: str, config: Any = None) -> str:
        """How to install ``module``: only a command that installs it (the config may know
        better, e.g. which driver a URL asks for)."""
        refine = getattr(config, "install_hint", None)
        if callable(refine):
            return str(refine(module))
        if module in self.requires:
            return self.install or f"pip install {module}"
        return f"install the package that provides the Python module {module!r}"


_S3 = "pip install 'bevel[s3]'"
_PG = "pip install 'bevel[postgresql]'"
_MYSQL = "pip install 'bevel[mysql]'"
_MLFLOW = "pip install 'bevel[mlflow]'"
_CONFIGS = "bevel.stack.configs"
_OBJECT_STORES = "bevel.stack.object_stores"
_FACTORIES = "bevel.stack.factories"

#: (component type, flavor) -> Flavor. The implementations are imported only when used.
BUILTIN_FLAVORS: dict[tuple[str, str], Flavor] = {
    (f.type, f.name): f
    for f in (
        Flavor("orchestrator", "local", "bevel.orchestrators.local:LocalOrchestrator",
               f"{_CONFIGS}:LocalOrchestratorConfig",
               "steps run inline, one after the other, in this process"),
        Flavor("orchestrator", "local_parallel",
               "bevel.orchestrators.local_parallel:LocalParallelOrchestrator",
               f"{_CONFIGS}:LocalParallelConfig",
               "independent steps at once in worker processes or threads, placed by resources"),
        Flavor("orchestrator", "dask", "bevel.integrations.dask_orchestrator:DaskOrchestrator",
               f"{_CONFIGS}:DaskConfig", "steps as tasks on a Dask cluster (or a local one)",
               requires=("distributed",), install="pip install 'bevel[dask]'", remote=True),
        Flavor("artifact_store", "local", f"{_FACTORIES}:local_artifact_store",
               f"{_CONFIGS}:LocalStoreConfig", "a folder on this machine's disk"),
        Flavor("artifact_store", "fsspec", f"{_OBJECT_STORES}:fsspec_artifact_store",
               f"{_CONFIGS}:FsspecStoreConfig",
               "any fsspec filesystem URL (memory://, file://, sftp://, ...)"),
        Flavor("artifact_store", "s3", f"{_OBJECT_STORES}:s3_artifact_store",
               f"{_CONFIGS}:S3StoreConfig", "Amazon S3 or an S3-compatible server (MinIO)",
               requires=("s3fs",), install=_S3, remote=True),
        Flavor("artifact_store", "gcs", f"{_OBJECT_STORES}:gcs_artifact_store",
               f"{_CONFIGS}:GcsStoreConfig", "Google Cloud Storage",
               requires=("gcsfs",), install="pip install gcsfs", remote=True),
        Flavor("artifact_store", "azure", f"{_OBJECT_STORES}:azure_artifact_store",
               f"{_CONFIGS}:AzureStoreConfig", "Azure Blob Storage / Data Lake",
               requires=("adlfs",), install="pip install adlfs", remote=True),
        Flavor("metadata_store", "sqlite", f"{_FACTORIES}:sql_metadata_store",
               f"{_CONFIGS}:SqliteConfig", "a SQLite file (one machine)"),
        Flavor("metadata_store", "postgresql", f"{_FACTORIES}:sql_metadata_store",
               f"{_CONFIGS}:PostgresConfig", "a PostgreSQL database (shared by a team)",
               requires=("psycopg",), install=_PG, remote=True),
        Flavor("metadata_store", "mysql", f"{_FACTORIES}:sql_metadata_store",
               f"{_CONFIGS}:MysqlConfig", "a MySQL or MariaDB database (shared by a team)",
               requires=("pymysql",), install=_MYSQL, remote=True),
        Flavor("metadata_store", "rest", "bevel.metadata.rest.store:RestMetadataStore",
               f"{_CONFIGS}:RestConfig", "a bevel server (bevel server start), over HTTP",
               remote=True),
        Flavor("model_deployer", "local", "bevel.integrations.deployer:LocalModelDeployer",
               f"{_CONFIGS}:LocalDeployerConfig",
               "model servers (FastAPI) as background processes on this machine",
               requires=("fastapi", "uvicorn"), install="pip install 'bevel[serve]'"),
        Flavor("experiment_tracker", "mlflow",
               "bevel.integrations.mlflow.tracker:MlflowExperimentTracker",
               f"{_CONFIGS}:MlflowConfig",
               "each run and its steps as (nested) MLflow runs: parameters, metrics, tags",
               requires=("mlflow",), install=_MLFLOW, remote=True),
        Flavor("model_registry", "mlflow",
               "bevel.integrations.mlflow.registry:MlflowModelRegistry",
               f"{_CONFIGS}:MlflowConfig",
               "model versions and their stages (as aliases) in MLflow's model registry",
               requires=("mlflow",), install=_MLFLOW, remote=True),
    )
}  # fmt: skip


def check_type(type: str) -> str:
    if type not in COMPONENT_TYPES:
        close = [t for t in COMPONENT_TYPES if t.startswith(type[:3])]
        guess = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(
            f"unknown component type {type!r}",
            hint=f"{guess}the types are: {', '.join(COMPONENT_TYPES)}",
        )
    return type


def _entry_points() -> list[metadata.EntryPoint]:
    # Not cached: scanning installed packages costs a few ms and happens only for third-party
    # flavors and `bevel flavor list`; a cache would hide packages installed meanwhile.
    found: Any = importlib.import_module(_METADATA).entry_points(group=ENTRY_POINT_GROUP)
    return list(found)


def _from_entry_point(ep: metadata.EntryPoint) -> Flavor:
    obj = ep.load()
    if not isinstance(obj, Flavor):
        fields = ("type", "name", "implementation", "config")
        if not all(hasattr(obj, f) for f in fields):
            raise TypeError(f"{ep.value} is not a bevel.stack.flavors.Flavor")
        extra = ("description", "requires", "install", "remote")
        obj = Flavor(
            **{f: getattr(obj, f) for f in fields},
            **{f: getattr(obj, f) for f in extra if hasattr(obj, f)},
        )
    expected = ep.name.split("/", 1)
    if [obj.type, obj.name] != expected:
        raise TypeError(f"entry point {ep.name!r} provides flavor {obj.type}/{obj.name}")
    provider = ep.dist.name if ep.dist is not None else ep.module
    return replace(obj, provider=provider)


def get_flavor(type: str, name: str) -> Flavor:
    """The flavor ``name`` of component ``type``: built-in, else from an installed package.

    Raises ConfigError listing the known flavors of that type.
    """
    check_type(type)
    builtin = BUILTIN_FLAVORS.get((type, name))
    if builtin is not None:
        return builtin
    for ep in _entry_points():
        if ep.name == f"{type}/{name}":
            try:
                return _from_entry_point(ep)
            except Exception as err:
                raise ConfigError(
                    f"flavor {type}/{name} from entry point {ep.value!r} cannot be loaded: "
                    f"{type_name(err)}: {err}",
                    hint="reinstall or fix the package that provides it",
                ) from err
    known = [f.name for f in list_flavors(type)[0]]
    raise ConfigError(
        f"unknown {type} flavor {name!r}",
        hint=f"{type} flavors: {', '.join(known) or '(none installed)'}; packages add more "
        f"through the {ENTRY_POINT_GROUP!r} entry point (see: bevel flavor list)",
    )


def type_name(err: BaseException) -> str:
    return type(err).__name__


def list_flavors(type: str | None = None) -> tuple[list[Flavor], list[str]]:
    """Built-in and third-party flavors (of one type), and problems with broken entry points."""
    if type is not None:
        check_type(type)
    flavors = [f for f in BUILTIN_FLAVORS.values() if type in (None, f.type)]
    problems = []
    for ep in _entry_points():
        ep_type = ep.name.split("/", 1)[0]
        if type not in (None, ep_type):
            continue
        try:
            flavor = _from_entry_point(ep)
        except Exception as err:
            problems.append(f"entry point {ep.name!r} ({ep.value}): {type_name(err)}: {err}")
            continue
        if (flavor.type, flavor.name) not in BUILTIN_FLAVORS:
            flavors.append(flavor)
    order = {t: i for i, t in enumerate(COMPONENT_TYPES)}
    flavors.sort(key=lambda f: (order.get(f.type, 99), f.provider != "bevel", f.name))
    return flavors, problems
