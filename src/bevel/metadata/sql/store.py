"""``SqlMetadataStore``: the metadata store on SQLite (default), PostgreSQL or MySQL/MariaDB.

One set of queries (:mod:`.reads`, :mod:`.writes`, :mod:`.status`, :mod:`.definitions`, portable
SQL text) runs on a small connection interface (:mod:`.db`) with two implementations: the
standard library's ``sqlite3`` for SQLite files (:mod:`.sqlite`: neither SQLAlchemy nor Alembic
is imported on a normal run) and SQLAlchemy connections for server databases (:mod:`.server`,
for their pool and reconnects). The first call checks the schema revision once (one ``SELECT``
when up to date). Every method is one short transaction. Writes that can race on a server
database (artifact versions, a new pipeline row) are retried whole.

Example::

    store = SqlMetadataStore("sqlite:///.bevel/metadata.db")
    for run in store.list_runs(RunFilter(pipeline="train", limit=10)):
        print(run.name, run.status)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bevel import names
from bevel._lazy import lazy_module
from bevel.errors import BevelError, ConfigError, MetadataError
from bevel.metadata.base import ArtifactFilter, CacheHit, References, RunFilter, StepDetails
from bevel.metadata.records import (
    ArtifactRecord,
    ComponentRecord,
    LineageEdge,
    MetadataEntry,
    MetricRecord,
    ModelArtifactLink,
    ModelRecord,
    ModelStage,
    ModelStageEvent,
    ModelVersionRecord,
    PipelineRecord,
    RunRecord,
    RunStatus,
    SecretRecord,
    StackRecord,
    StepCompletion,
    StepRunRecord,
)
from bevel.metadata.sql import reads, writes
from bevel.metadata.sql import status as status_writes
from bevel.metadata.sql.db import Conn, Database

if TYPE_CHECKING:
    import random

    from bevel.metadata.sql import definitions as defs
    from bevel.metadata.sql import gc as sql_gc
    from bevel.metadata.sql import models as sql_models
else:  # jitter for a retried write (a busy database); reads never need it
    random = lazy_module("random")
    # Stack definitions, the model registry and gc's queries: no run or listing asks for them
    defs = lazy_module("bevel.metadata.sql.definitions")
    sql_gc = lazy_module("bevel.metadata.sql.gc")
    sql_models = lazy_module("bevel.metadata.sql.models")

T = TypeVar("T")

_ATTEMPTS = 6
_ALL_RUNS = RunFilter()
_ALL_ARTIFACTS = ArtifactFilter()


def open_database(url: str, *, connect_timeout: float = 10.0) -> Database:
    """The database behind a store URL: ``sqlite3`` for SQLite, SQLAlchemy for the others
    (imported only then)."""
    if url.partition("://")[0].split("+", 1)[0].lower() == "sqlite":
        from bevel.metadata.sql.sqlite import shared_database

        return shared_database(url)
    from bevel.metadata.sql.server import ServerDatabase  # imports SQLAlchemy

    return ServerDatabase(url, connect_timeout=connect_timeout)


class SqlMetadataStore:
    """The SQL implementation of :class:`bevel.metadata.base.MetadataStore`.

    ``url``: ``sqlite:///path/metadata.db`` (``sqlite://`` for an in-memory database: for
    tests; private to this store and this process), ``postgresql://user:pw@host/db`` or
    ``mysql://user:pw@host/db`` (any SQLAlchemy URL of those databases). ``connect_timeout``
    bounds how long connecting to a server database may take; SQLite instead waits up to 30 s
    for another process's write lock. ``name`` is the stack component's name, so that errors
    say which component failed. Safe to share between threads, and between processes (each
    opens its own connections; forked children drop the parent's).

    It is also the :class:`~bevel.metadata.base.DefinitionStore` (components, stacks, secrets)
    when it is the home metadata store.
    """

    def __init__(self, url: str, *, connect_timeout: float = 10.0, name: str | None = None) -> None:
        self.name = name
        self._db = open_database(url, connect_timeout=connect_timeout)
        self.url = self._db.url
        self._checked = False
        self._check_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqlMetadataStore({self.url!r})"

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB included)."""
        return self._db.dialect.name

    def _ensure_ready(self) -> None:
        if self._checked:
            return
        with self._check_lock:
            if not self._checked:
                with self._db.errors("connecting", self.name):
                    self._db.ensure_schema()
                self._checked = True

    @contextmanager
    def _read(self, action: str) -> Iterator[Conn]:
        self._ensure_ready()
        with self._db.errors(action, self.name), self._db.transaction(write=False) as conn:
            yield conn

    def _write(self, action: str, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` in one write transaction, retrying it whole on a race (server databases)."""
        self._ensure_ready()
        for attempt in range(_ATTEMPTS):
            try:
                with self._db.transaction(write=True) as conn:
                    return fn(conn)
            except BevelError:
                raise
            except Exception as err:
                if attempt + 1 < _ATTEMPTS and self._db.retryable(err):
                    time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
                    continue
                with self._db.errors(action, self.name):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def reading(self, action: str) -> AbstractContextManager[Conn]:
        """A connection for reading, for code that keeps its own tables in this database (the
        bevel server's users and API keys); ``action`` names it in errors. Queries are portable
        SQL text, as the store's own (:mod:`bevel.metadata.sql.db`)."""
        return self._read(action)

    def writing(self, action: str, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` in one write transaction, as the store's own writes are run."""
        return self._write(action, fn)

    def close(self) -> None:
        """Close pooled connections (the store reconnects if used again)."""
        self._db.close()

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> RunRecord:
        names.check("run name", run.name, limit=names.MAX_RUN_NAME)
        names.check("pipeline name", run.pipeline)
        self._write(f"recording run {run.name!r}", lambda conn: writes.create_run(conn, run))
        return run

    def finish_run(
        self, run_id: str, status: RunStatus, *, ended: datetime, error: str | None = None
    ) -> None:
        self._write(
            f"finishing run {run_id}",
            lambda conn: status_writes.finish_run(conn, run_id, RunStatus(status), ended, error),
        )

    def heartbeat(self, run_id: str, at: datetime) -> None:
        self._write(
            f"heartbeat of run {run_id}",
            lambda conn: status_writes.heartbeat(conn, run_id, at),
        )

    def get_run(self, id_or_name: str) -> RunRecord:
        with self._read(f"looking up run {id_or_name!r}") as conn:
            return reads.get_run(conn, id_or_name)

    def list_runs(self, flt: RunFilter = _ALL_RUNS) -> list[RunRecord]:
        with self._read("listing runs") as conn:
            return reads.list_runs(conn, flt)

    def step_status_counts(self, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Run id -> step status -> how many step runs (one query for a page of runs)."""
        with self._read("counting step runs") as conn:
            return reads.step_status_counts(conn, list(run_ids))

    def delete_run(self, run_id: str, *, force: bool = False) -> list[str]:
        return self._write(
            f"deleting run {run_id}", lambda conn: writes.delete_run(conn, run_id, force=force)
        )

    def references(self, prefix: str, uris: Sequence[str] | None = None) -> References:
        with self._read("listing what the records reference") as conn:
            return sql_gc.references(conn, prefix, uris)

    def mark_stale_runs(
        self, older_than: datetime, *, run_ids: Sequence[str] | None = None, reason: str = ""
    ) -> list[str]:
        if older_than.tzinfo is None:
            older_than = older_than.replace(tzinfo=UTC)
        return self._write(
            "marking stale runs",
            lambda conn: status_writes.mark_stale_runs(
                conn, older_than, run_ids=run_ids, reason=reason
            ),
        )

    # --- steps ------------------------------------------------------------------------------

    def start_step_run(
        self, step_run: StepRunRecord, *, metadata: Sequence[MetadataEntry] = ()
    ) -> None:
        _check_step_names(step_run)

        def start(conn: Conn) -> None:
            writes.start_step_run(conn, step_run)
            if metadata:
                writes.log_metadata(conn, metadata)

        self._write(f"recording the start of step {step_run.step_id!r}", start)

    def finish_step_run(self, completion: StepCompletion) -> list[ArtifactRecord]:
        _check_step_names(completion.step_run)
        for art in completion.outputs:
            names.check("artifact name", art.name, limit=names.MAX_RUN_NAME)
            names.check("output name", art.output_name)
        return self._write(
            f"recording the outcome of step {completion.step_run.step_id!r}",
            lambda conn: writes.finish_step_run(conn, completion),
        )

    def step_runs(self, run_id: str) -> list[StepRunRecord]:
        with self._read(f"listing the step runs of run {run_id}") as conn:
            return reads.step_runs_of(conn, run_id)

    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        with self._read(f"looking up step run {step_run_id!r}") as conn:
            return reads.get_step_run(conn, step_run_id)

    def find_cached(self, cache_key: str) -> CacheHit | None:
        with self._read("looking up the cache") as conn:
            return reads.find_cached(conn, cache_key)

    def previous_step_run(
        self, pipeline: str, step_id: str, before: datetime
    ) -> StepRunRecord | None:
        with self._read(f"looking up the previous run of step {step_id!r}") as conn:
            return reads.previous_step_run(conn, pipeline, step_id, before)

    # --- artifacts & lineage ----------------------------------------------------------------

    def get_artifact(self, id_or_prefix: str) -> ArtifactRecord:
        with self._read(f"looking up artifact {id_or_prefix!r}") as conn:
            return reads.get_artifact(conn, id_or_prefix)

    def list_artifacts(self, flt: ArtifactFilter = _ALL_ARTIFACTS) -> list[ArtifactRecord]:
        with self._read("listing artifacts") as conn:
            return reads.list_artifacts(conn, flt)

    def lineage(
        self, *, step_run_id: str | None = None, artifact_id: str | None = None
    ) -> list[LineageEdge]:
        with self._read("reading lineage") as conn:
            return reads.lineage_edges(conn, step_run_id, artifact_id)

    def step_details(self, step_run_ids: Sequence[str]) -> StepDetails:
        with self._read("reading step runs") as conn:
            return reads.step_details(conn, list(dict.fromkeys(step_run_ids)))

    def step_io(self, run_id: str) -> dict[str, dict[str, dict[str, ArtifactRecord]]]:
        with self._read(f"reading the inputs and outputs of run {run_id}") as conn:
            return reads.step_io(conn, run_id)

    # --- metrics, metadata, pipelines -------------------------------------------------------

    def log_metadata(self, entries: Sequence[MetadataEntry]) -> None:
        if entries:
            self._write("logging metadata", lambda conn: writes.log_metadata(conn, entries))

    def get_metadata(self, entity: str, entity_id: str) -> dict[str, Any]:
        with self._read(f"reading metadata of {entity} {entity_id}") as conn:
            return reads.get_metadata(conn, entity, entity_id)

    def metrics(self, run_id: str) -> list[MetricRecord]:
        with self._read(f"reading metrics of run {run_id}") as conn:
            return reads.metrics_of(conn, run_id)

    def metadata_of(self, entity: str, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not entity_ids:
            return {}
        with self._read(f"reading metadata of {len(entity_ids)} {entity}(s)") as conn:
            return reads.metadata_of(conn, entity, list(dict.fromkeys(entity_ids)))

    def latest_metrics(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, dict[str, float]]:
        if not run_ids or (keys is not None and not keys):
            return {}
        with self._read(f"reading the metrics of {len(run_ids)} run(s)") as conn:
            return reads.latest_metrics(
                conn, list(dict.fromkeys(run_ids)), None if keys is None else list(keys)
            )

    def list_pipelines(self) -> list[PipelineRecord]:
        with self._read("listing pipelines") as conn:
            return reads.list_pipelines(conn)

    # --- models -------------------------------------------------------------------------------

    def create_model_version(self, version: ModelVersionRecord) -> ModelVersionRecord:
        names.check("model name", version.model)
        if version.name is not None:
            names.check("model version name", version.name)
            if version.name.isdigit() or version.name in (*sql_models.STAGES, "latest"):
                raise ConfigError(
                    f"{version.name!r} cannot name a model version: it reads as a version "
                    "number, a stage or 'latest'",
                    hint="pick a name with a letter in it that is not a stage, e.g. 'v2-wide'",
                )
        return self._write(
            f"registering a version of model {version.model!r}",
            lambda conn: sql_models.create_version(conn, version),
        )

    def update_model_version(
        self,
        version_id: str,
        *,
        metadata: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        artifacts: Sequence[ModelArtifactLink] = (),
    ) -> ModelVersionRecord:
        return self._write(
            f"updating model version {version_id}",
            lambda conn: sql_models.update_version(
                conn, version_id, metadata=metadata or {}, metrics=metrics or {},
                artifacts=artifacts,
            ),
        )  # fmt: skip

    def get_model_version(self, model: str, ref: str | int) -> ModelVersionRecord:
        with self._read(f"looking up version {ref!r} of model {model!r}") as conn:
            return sql_models.get_version(conn, model, str(ref))

    def list_model_versions(
        self, model: str, *, stage: ModelStage | None = None, limit: int = 50, offset: int = 0
    ) -> list[ModelVersionRecord]:
        with self._read(f"listing the versions of model {model!r}") as conn:
            return sql_models.list_versions(
                conn, model, stage=None if stage is None else ModelStage(stage),
                limit=limit, offset=offset,
            )  # fmt: skip

    def list_models(self) -> list[ModelRecord]:
        with self._read("listing models") as conn:
            return sql_models.list_models(conn)

    def set_model_stage(
        self,
        model: str,
        version: int,
        stage: ModelStage | None,
        *,
        actor: str,
        reason: str = "",
        at: datetime,
    ) -> list[ModelStageEvent]:
        target = None if stage is None else ModelStage(stage)
        return self._write(
            f"moving version {version} of model {model!r} to {target or 'no stage'}",
            lambda conn: sql_models.set_stage(
                conn, model, int(version), target, actor=actor[:255], reason=reason, at=at
            ),
        )

    def model_events(self, model: str, *, limit: int = 0) -> list[ModelStageEvent]:
        with self._read(f"reading the audit log of model {model!r}") as conn:
            return sql_models.list_events(conn, model, limit)

    # --- stack definitions (DefinitionStore) --------------------------------------------------

    def create_component(
        self, component: ComponentRecord, *, replace: bool = False
    ) -> ComponentRecord:
        self._write(
            f"saving stack component {component.name!r}",
            lambda conn: defs.create_component(conn, component, replace=replace),
        )
        return self.get_component(component.name)

    def get_component(self, name: str) -> ComponentRecord:
        with self._read(f"looking up stack component {name!r}") as conn:
            return defs.get_component(conn, name)

    def list_components(self, type: str | None = None) -> list[ComponentRecord]:
        with self._read("listing stack components") as conn:
            return defs.list_components(conn, type)

    def update_component(
        self, name: str, config: dict[str, Any], *, updated: datetime
    ) -> ComponentRecord:
        return self._write(
            f"updating stack component {name!r}",
            lambda conn: defs.update_component(conn, name, config, updated),
        )

    def delete_component(self, name: str) -> None:
        self._write(
            f"deleting stack component {name!r}", lambda conn: defs.delete_component(conn, name)
        )

    def create_stack(
        self, stack: StackRecord, *, replace: bool = False, require: Sequence[str] = ()
    ) -> StackRecord:
        self._write(
            f"saving stack {stack.name!r}",
            lambda conn: defs.create_stack(conn, stack, replace=replace, require=require),
        )
        return self.get_stack(stack.name)

    def get_stack(self, name: str) -> StackRecord:
        with self._read(f"looking up stack {name!r}") as conn:
            return defs.get_stack(conn, name)

    def list_stacks(self) -> list[StackRecord]:
        with self._read("listing stacks") as conn:
            return defs.list_stacks(conn)

    def delete_stack(self, name: str) -> None:
        self._write(f"deleting stack {name!r}", lambda conn: defs.delete_stack(conn, name))

    def stacks_using(self, component: str) -> list[str]:
        with self._read(f"looking up the stacks using {component!r}") as conn:
            return defs.stacks_using(conn, component)

    def put_secret(self, secret: SecretRecord, *, replace: bool = False) -> None:
        self._write(
            f"saving secret {secret.name!r}",
            lambda conn: defs.put_secret(conn, secret, replace=replace),
        )

    def get_secret(self, name: str) -> SecretRecord:
        with self._read(f"looking up secret {name!r}") as conn:
            return defs.get_secret(conn, name)

    def list_secrets(self) -> list[SecretRecord]:
        with self._read("listing secrets") as conn:
            return defs.list_secrets(conn)

    def delete_secret(self, name: str) -> None:
        self._write(f"deleting secret {name!r}", lambda conn: defs.delete_secret(conn, name))


__all__ = ["MetadataError", "SqlMetadataStore"]


def _check_step_names(step_run: StepRunRecord) -> None:
    """Names are checked before writing, so every database accepts the same ones (SQLite would
    store a NUL or 10,000 characters that PostgreSQL and MariaDB refuse): see bevel.names."""
    names.check("step id", step_run.step_id)
    names.check("step name", step_run.step_name)
