"""Config classes of the built-in flavors: importable without s3fs, psycopg or pymysql.

Each is the set of ``--key value`` options of ``bevel component register TYPE NAME --flavor F``;
the flavor's implementation (see :mod:`bevel.stack.flavors`) is called with its fields as
keyword arguments.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel.authoring.resources import parse_memory
from bevel.metadata.sql.urls import driver_module
from bevel.metadata.sql.urls import install_hint as driver_install_hint
from bevel.stack.config import REFERENCE, about, option


def _literal(value: str | None) -> str | None:
    """The value when it holds no secret reference (only then can it be checked yet)."""
    return None if value is None or REFERENCE.search(value) else value


def _check_scheme(field: str, value: str | None, schemes: tuple[str, ...], example: str) -> None:
    text = _literal(value)
    if text is not None and not text.lower().startswith(schemes):
        raise ValueError(f"field {field!r} must start with {' or '.join(schemes)}, e.g. {example}")


# --- orchestrators ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalOrchestratorConfig:
    """Steps run inline, one after the other, in the calling process."""

    continue_on_failure: bool = option(
        True, help="after a step fails, run the steps that do not depend on it (false: stop)"
    )


@dataclass(frozen=True)
class LocalParallelConfig:
    """Independent steps run at once in worker processes (or threads), placed by resources."""

    processes: int | None = option(
        None, help="steps running at once (worker processes or threads); default: the CPUs"
    )
    mode: str = option("process", help="'process' (not blocked by the GIL) or 'thread'")
    cpus: float | None = option(None, help="CPUs steps may claim at once; default: this machine's")
    gpus: int | None = option(
        None,
        help="GPUs handed out as CUDA_VISIBLE_DEVICES; default: detected"
        " ($CUDA_VISIBLE_DEVICES, nvidia-smi)",
    )
    memory: str | None = option(
        None, help="memory steps may reserve at once, e.g. 64GiB; default: this machine's"
    )
    continue_on_failure: bool = option(
        True, help="after a step fails, run the steps that do not depend on it (false: stop)"
    )

    def check(self) -> None:
        if self.mode not in ("process", "thread"):
            raise ValueError("field 'mode' must be 'process' or 'thread'")
        if self.processes is not None and self.processes < 1:
            raise ValueError("field 'processes' must be at least 1")
        if self.cpus is not None and self.cpus <= 0:
            raise ValueError("field 'cpus' must be positive")
        if self.gpus is not None and self.gpus < 0:
            raise ValueError("field 'gpus' must not be negative")
        if self.memory is not None:
            parse_memory(self.memory)  # ValueError says what is wrong


@dataclass(frozen=True)
class DaskConfig:
    """Steps as tasks on a Dask cluster: a running scheduler, or a local cluster per run."""

    address: str | None = option(
        None,
        help="the scheduler, e.g. tcp://10.0.0.5:8786; none: a LocalCluster on this machine",
    )
    n_workers: int = option(2, help="worker processes of the local cluster (no address)")
    threads_per_worker: int = option(1, help="threads per worker of the local cluster")
    connect_timeout: float = option(10.0, help="seconds to wait for the scheduler")
    code_size_limit: str = option(
        "50MiB", help="the most project source shipped to the workers per run"
    )
    continue_on_failure: bool = option(
        True, help="after a step fails, run the steps that do not depend on it (false: stop)"
    )

    def check(self) -> None:
        _check_scheme("address", self.address, ("tcp://", "tls://", "ws://", "wss://", "inproc://"),
                      "tcp://10.0.0.5:8786")  # fmt: skip
        if self.n_workers < 1 or self.threads_per_worker < 1:
            raise ValueError("fields 'n_workers' and 'threads_per_worker' must be at least 1")
        if self.connect_timeout <= 0:
            raise ValueError("field 'connect_timeout' must be positive")
        parse_memory(self.code_size_limit)


# --- artifact stores --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalStoreConfig:
    path: str = option(help="folder for artifact files; relative to the project root", path=True)


@dataclass(frozen=True)
class FsspecStoreConfig:
    path: str = option(help="any fsspec URL: memory://x, file:///data, sftp://host/dir, ...")
    storage_options: dict[str, Any] = field(
        default_factory=dict, metadata=about("arguments for the fsspec filesystem (JSON)")
    )


@dataclass(frozen=True)
class S3StoreConfig:
    path: str = option(help="s3://bucket/prefix where artifacts are kept")
    endpoint_url: str | None = option(
        None, help="S3-compatible server (MinIO, Ceph, R2), e.g. http://127.0.0.1:9000"
    )
    key: str | None = option(
        None, help="access key id (default: the AWS credential chain)", sensitive=True
    )
    secret: str | None = option(None, help="secret access key", sensitive=True)
    token: str | None = option(None, help="session token", sensitive=True)
    region: str | None = option(None, help="region name, e.g. eu-west-1")
    connect_timeout: float = option(5.0, help="seconds to wait for a connection")
    read_timeout: float = option(30.0, help="seconds to wait for a response")
    max_attempts: int = option(3, help="attempts per request (botocore and s3fs retries)")
    client_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata=about('extra botocore client arguments (JSON), e.g. {"verify": false}'),
    )
    storage_options: dict[str, Any] = field(
        default_factory=dict, metadata=about("extra s3fs.S3FileSystem arguments (JSON)")
    )

    def check(self) -> None:
        _check_scheme("path", self.path, ("s3://", "s3a://"), "s3://ml-artifacts/team")
        _check_scheme(
            "endpoint_url", self.endpoint_url, ("http://", "https://"), "http://127.0.0.1:9000"
        )
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("fields 'connect_timeout' and 'read_timeout' must be positive")
        if self.max_attempts < 1:
            raise ValueError("field 'max_attempts' must be at least 1")

    def address(self) -> str:
        return f"{self.path} at {self.endpoint_url}" if self.endpoint_url else self.path


@dataclass(frozen=True)
class GcsStoreConfig:
    path: str = option(help="gs://bucket/prefix where artifacts are kept")
    project: str | None = option(None, help="Google Cloud project")
    token: str | None = option(
        None,
        help="credentials: a service-account JSON file, 'google_default' or 'anon'",
        sensitive=True,
    )
    storage_options: dict[str, Any] = field(
        default_factory=dict, metadata=about("extra gcsfs.GCSFileSystem arguments (JSON)")
    )

    def check(self) -> None:
        _check_scheme("path", self.path, ("gs://", "gcs://"), "gs://ml-artifacts/team")


@dataclass(frozen=True)
class AzureStoreConfig:
    path: str = option(help="abfs://container/prefix (or az://) where artifacts are kept")
    account_name: str | None = option(None, help="storage account name")
    account_key: str | None = option(None, help="storage account key", sensitive=True)
    connection_string: str | None = option(None, help="connection string", sensitive=True)
    sas_token: str | None = option(None, help="shared access signature", sensitive=True)
    storage_options: dict[str, Any] = field(
        default_factory=dict, metadata=about("extra adlfs.AzureBlobFileSystem arguments (JSON)")
    )

    def check(self) -> None:
        _check_scheme(
            "path", self.path, ("abfs://", "abfss://", "az://"), "abfs://ml-artifacts/team"
        )


# --- metadata stores --------------------------------------------------------------------------


def _driver_module(url: str | None) -> tuple[str, ...]:
    """The module the URL's driver needs (a plain URL: the driver bevel's extras install)."""
    text = _literal(url)
    module = driver_module(text) if text is not None else None
    return (module,) if module else ()


@dataclass(frozen=True)
class SqliteConfig:
    path: str | None = option(
        None, help="the database file; relative to the project root", path=True
    )
    url: str | None = option(None, help="a sqlite:/// URL instead of a path")

    def check(self) -> None:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of the fields 'path' and 'url'")
        _check_scheme("url", self.url, ("sqlite://",), "sqlite:////data/metadata.db")


@dataclass(frozen=True)
class PostgresConfig:
    url: str = option(
        help="postgresql://user:password@host:5432/db, psycopg 3 unless +driver is named "
        "(better: a {{secret.key}} password)",
        sensitive="url",
    )
    connect_timeout: float = option(10.0, help="seconds to wait for the server")

    def check(self) -> None:
        _check_scheme(
            "url", self.url, ("postgresql", "postgres"), "postgresql://bevel@db:5432/bevel"
        )
        if self.connect_timeout <= 0:
            raise ValueError("field 'connect_timeout' must be positive")

    def requires(self) -> tuple[str, ...]:
        """The driver module the URL needs: ``postgresql://`` means psycopg 3, as installed by
        ``bevel[postgresql]``; ``postgresql+psycopg2://`` means psycopg2."""
        return _driver_module(self.url)

    def install_hint(self, module: str) -> str:
        return driver_install_hint(self.url)


@dataclass(frozen=True)
class MysqlConfig:
    url: str = option(
        help="mysql://user:password@host:3306/db (MariaDB too), PyMySQL unless +driver is named",
        sensitive="url",
    )
    connect_timeout: float = option(10.0, help="seconds to wait for the server")

    def check(self) -> None:
        _check_scheme("url", self.url, ("mysql", "mariadb"), "mysql://bevel@db:3306/bevel")
        if self.connect_timeout <= 0:
            raise ValueError("field 'connect_timeout' must be positive")

    def requires(self) -> tuple[str, ...]:
        return _driver_module(self.url)

    def install_hint(self, module: str) -> str:
        return driver_install_hint(self.url)


@dataclass(frozen=True)
class RestConfig:
    url: str = option(help="the bevel server, e.g. http://ml.internal:8237")
    api_key: str | None = option(
        None,
        help="an API key (better: a {{secret.key}} reference; default: $BEVEL_API_KEY, then "
        "the key `bevel login URL` stored)",
        sensitive=True,
    )
    timeout: float = option(30.0, help="seconds to wait for each answer")

    def check(self) -> None:
        _check_scheme("url", self.url, ("http://", "https://"), "http://127.0.0.1:8237")
        if self.timeout <= 0:
            raise ValueError("field 'timeout' must be positive")


# --- model deployers --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalDeployerConfig:
    """Model servers as background processes on this machine (``bevel models serve``)."""

    folder: str = option(
        ".bevel/deployments", help="where the servers' logs go; relative to the project root",
        path=True,
    )  # fmt: skip
    host: str = option("127.0.0.1", help="address the servers bind (keep 127.0.0.1 unless needed)")
    port: int | None = option(None, help="port of the first server (default: a free one)")
    start_timeout: float = option(60.0, help="seconds to wait for a new server's /health")


# --- MLflow (experiment tracker, model registry) -----------------------------------------------


@dataclass(frozen=True)
class MlflowConfig:
    """An MLflow tracking server (which is also its model registry)."""

    tracking_uri: str = option(help="the MLflow server, e.g. http://127.0.0.1:5000")
    experiment: str | None = option(
        None, help="the MLflow experiment runs go to (default: the pipeline's name)"
    )
    timeout: float = option(30.0, help="seconds to wait for each answer")
    retries: int = option(2, help="how often MLflow's client retries a failed request")

    def check(self) -> None:
        _check_scheme("tracking_uri", self.tracking_uri, ("http://", "https://"),
                      "http://127.0.0.1:5000")  # fmt: skip
        if self.timeout <= 0:
            raise ValueError("field 'timeout' must be positive")
        if self.retries < 0:
            raise ValueError("field 'retries' must be 0 or more")
