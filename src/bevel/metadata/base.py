"""The MetadataStore protocol: the one interface every metadata store implements.

Implementations: :mod:`bevel.metadata.sql` (SQLite by default, PostgreSQL, MySQL/MariaDB). One
contract test suite (``bevel.testing.metadata_contract``) runs against every implementation.
Listing is generic: a filter and a page, pushed into the store as one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bevel._dataclass import dataclass
from bevel.errors import ConfigError
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


@dataclass(frozen=True)
class RunFilter:
    """Which runs ``list_runs`` returns: all conditions must hold.

    ``name`` matches run names containing it (case-insensitive): run names are unique, so an
    exact match is ``get_run``'s job. ``limit <= 0`` means no limit. ``sort``: one of
    :data:`RUN_SORTS`, ``-`` first for descending (ties broken by id, so pages are stable).
    """

    pipeline: str | None = None
    status: RunStatus | None = None
    name: str | None = None
    limit: int = 50
    offset: int = 0
    sort: str = "-created"


#: The columns runs may be sorted by (``RunFilter.sort``, ``GET /runs?sort=``).
RUN_SORTS = ("created", "name", "pipeline", "status")


def check_run_sort(sort: str) -> tuple[str, bool]:
    """``"-created"`` -> ``("created", True)``; ConfigError for a column not in RUN_SORTS."""
    column, descending = sort.removeprefix("-"), sort.startswith("-")
    if column not in RUN_SORTS:
        raise ConfigError(
            f"runs cannot be sorted by {sort!r}",
            hint=f"sort by one of {', '.join(RUN_SORTS)} (prefix - for descending)",
        )
    return column, descending


@dataclass(frozen=True)
class ArtifactFilter:
    """Which artifacts ``list_artifacts`` returns (newest first): all conditions must hold.

    ``name`` is exact (every version of one artifact). ``limit <= 0`` means no limit.
    """

    name: str | None = None
    run_id: str | None = None
    content_hash: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class CacheHit:
    """A completed step run whose outputs can be reused, with those outputs by output name."""

    step_run: StepRunRecord
    outputs: dict[str, ArtifactRecord]


StepIO = dict[str, dict[str, dict[str, ArtifactRecord]]]  # step run id -> "in"/"out" -> name


@dataclass(frozen=True)
class References:
    """What the records point at in one artifact store (for garbage collection)."""

    uris: frozenset[str]  # artifact uris under the store's root
    run_ids: frozenset[str]  # every run recorded (a run's logs live under logs/<run id>/)


@dataclass(frozen=True)
class StepDetails:
    """Everything needed to show some step runs, fetched together (no query per step)."""

    step_runs: list[StepRunRecord]  # in start order
    io: StepIO
    metrics: list[MetricRecord]
    pipelines: dict[str, str]  # run id -> pipeline name


@runtime_checkable
class MetadataStore(Protocol):
    """Records runs, step runs, artifacts, lineage, metrics and metadata.

    Writes are short transactions; ``finish_step_run`` writes a step's whole outcome atomically.
    Readers get frozen records. Safe to use from several processes at once.
    """

    url: str  # for display (credentials masked)

    # --- runs -------------------------------------------------------------------------------
    def create_run(self, run: RunRecord) -> RunRecord:
        """Insert a run (and its pipeline row if new). Raises ConfigError if the name is taken."""
        ...

    def finish_run(
        self, run_id: str, status: RunStatus, *, ended: datetime, error: str | None = None
    ) -> None:
        """End a RUNNING run, as ``RUN_TRANSITIONS`` allows. Its step runs still RUNNING end
        with it (CANCELLED with a cancelled run, else FAILED); a run cannot complete while a
        step runs. Raises StatusConflict if the run has already ended (by whatever process),
        NotFound for an unknown id."""
        ...

    def heartbeat(self, run_id: str, at: datetime) -> None:
        """Record that the process driving the run is alive (liveness check for stale runs).

        Raises StatusConflict once the run is no longer RUNNING: that is how its driver learns
        that another process ended it. NotFound for an unknown (or deleted) run."""
        ...

    def get_run(self, id_or_name: str) -> RunRecord:
        """By id, id prefix (unique, 6+ chars) or name. Raises NotFound with a hint."""
        ...

    def list_runs(self, flt: RunFilter = RunFilter()) -> list[RunRecord]:
        """Newest first; one query."""
        ...

    def delete_run(self, run_id: str, *, force: bool = False) -> list[str]:
        """Delete a run, its step runs, metrics, metadata, lineage and the artifacts it produced.

        Artifacts that other runs' lineage still points at (consumed by a later run, or reused
        by a CACHED step run) are kept, detached (``run_id`` and ``producer_step_run_id``
        cleared), so those runs stay loadable, and deleted with the last run that references
        them. A RUNNING run is refused with MetadataError
        unless ``force``. Raises NotFound for an unknown id.

        Returns the uris of deleted artifacts no longer referenced by any remaining artifact (so
        the caller can remove their files; deduplicated artifacts share uris).
        """
        ...

    def references(self, prefix: str, uris: Sequence[str] | None = None) -> References:
        """The artifact uris recorded under ``prefix`` (an artifact store's root uri), only
        those among ``uris`` when given, and the ids of all runs. What garbage collection must
        keep; two queries (chunked for ``uris``)."""
        ...

    def mark_stale_runs(
        self, older_than: datetime, *, run_ids: Sequence[str] | None = None, reason: str = ""
    ) -> list[str]:
        """Mark RUNNING runs (and their RUNNING step runs) with no heartbeat since ``older_than``
        as FAILED, only among ``run_ids`` when given; ``reason`` goes into the error text.
        Returns the ids marked.

        The silence is checked atomically with the change: a run that beats after the caller
        judged it dead (but before this call commits) is not marked."""
        ...

    # --- steps ------------------------------------------------------------------------------
    def start_step_run(
        self, step_run: StepRunRecord, *, metadata: Sequence[MetadataEntry] = ()
    ) -> None:
        """Insert a step run in the RUNNING state (visible to progress displays), with
        ``metadata`` entries logged in the same transaction where the store can (the worker
        that took the step: see ``bevel.run.redelivery``).

        Only into a RUNNING run: StatusConflict otherwise, NotFound for an unknown run."""
        ...

    def finish_step_run(self, completion: StepCompletion) -> list[ArtifactRecord]:
        """Upsert the final step run, insert its artifacts (assigning versions per name), lineage
        edges, metrics and metadata in ONE transaction. Returns the artifacts with versions set.

        Only into a RUNNING run, and only as ``STEP_TRANSITIONS`` allows (a RUNNING step run
        ends once; one recorded without running, e.g. CACHED, is inserted final). Otherwise
        StatusConflict, and nothing of the completion is recorded."""
        ...

    def step_runs(self, run_id: str) -> list[StepRunRecord]:
        """In start order."""
        ...

    def get_step_run(self, step_run_id: str) -> StepRunRecord: ...

    def find_cached(self, cache_key: str) -> CacheHit | None:
        """The newest COMPLETED step run with this cache key, with its outputs."""
        ...

    def previous_step_run(
        self, pipeline: str, step_id: str, before: datetime
    ) -> StepRunRecord | None:
        """The latest COMPLETED/CACHED run of the same step of the same pipeline before ``before``
        (what ``bevel runs explain`` compares against)."""
        ...

    # --- artifacts & lineage ----------------------------------------------------------------
    def get_artifact(self, id_or_prefix: str) -> ArtifactRecord:
        """By id, ``name:version``, unique id prefix (6+ chars) or name (its latest version).

        Raises NotFound with a hint."""
        ...

    def list_artifacts(self, flt: ArtifactFilter = ArtifactFilter()) -> list[ArtifactRecord]: ...

    def lineage(
        self, *, step_run_id: str | None = None, artifact_id: str | None = None
    ) -> list[LineageEdge]:
        """Edges touching a step run or an artifact (both given: edges between the two).

        Raises ValueError when neither is given."""
        ...

    def step_details(self, step_run_ids: Sequence[str]) -> StepDetails:
        """The given step runs (unknown ids are left out) with their inputs, outputs, metrics
        and pipelines, in a fixed number of queries however many runs they belong to."""
        ...

    def step_io(self, run_id: str) -> StepIO:
        """``{step_run_id: {"in": {name: artifact}, "out": {name: artifact}}}`` for every step run
        of a run, including those without inputs or outputs (one or two queries, no N+1)."""
        ...

    # --- metrics, metadata, pipelines -------------------------------------------------------
    def log_metadata(self, entries: Sequence[MetadataEntry]) -> None:
        """Record entries; logging a key again replaces its value. ``entity`` must be "run",
        "step_run" or "artifact" (ConfigError otherwise)."""
        ...

    def get_metadata(self, entity: str, entity_id: str) -> dict[str, Any]: ...

    def metadata_of(self, entity: str, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Metadata of many entities of one kind in one query: ``{entity id: {key: value}}``
        (ids with no metadata are left out), keys sorted."""
        ...

    def metrics(self, run_id: str) -> list[MetricRecord]:
        """Every point of every metric of a run, in the order they were recorded."""
        ...

    def latest_metrics(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """The last value of each metric (all, or only ``keys``) of many runs in one query:
        ``{run id: {key: value}}``. Last means logged latest (then the highest ``step``);
        runs without metrics are left out."""
        ...

    def list_pipelines(self) -> list[PipelineRecord]: ...

    # --- models (the model control plane) ---------------------------------------------------
    def create_model_version(self, version: ModelVersionRecord) -> ModelVersionRecord:
        """Insert a version numbered ``max + 1`` for its model (created when new), with its
        artifact links. With a ``run_id``, the version that run already has for this model is
        returned instead (links added to it): one version per run and model. A taken version
        name is a ConfigError."""
        ...

    def update_model_version(
        self,
        version_id: str,
        *,
        metadata: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        artifacts: Sequence[ModelArtifactLink] = (),
    ) -> ModelVersionRecord:
        """Merge metadata and metrics into a version (a key again replaces its value) and link
        artifacts (a link of the same name is replaced), in one transaction. NotFound."""
        ...

    def get_model_version(self, model: str, ref: str | int) -> ModelVersionRecord:
        """``ref``: a number, ``"latest"``, ``"staging"``/``"production"`` (the holder) or a
        version name. NotFound names what is missing: the model, or the version, or "no
        version in production" with the command that promotes one."""
        ...

    def list_model_versions(
        self, model: str, *, stage: ModelStage | None = None, limit: int = 50, offset: int = 0
    ) -> list[ModelVersionRecord]:
        """Newest first; ``limit <= 0`` means no limit. NotFound for an unknown model."""
        ...

    def list_models(self) -> list[ModelRecord]:
        """By name, each with its version count, latest number and stage holders."""
        ...

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
        """Move a version to ``stage`` (None: out of every stage) and log who, when and why.

        ``staging`` and ``production`` hold one version each: the previous holder moves to
        ``archived`` in the same transaction, and concurrent promotions of one model are
        serialised, so a stage never has two holders. Returns the audit entries written
        (none when the version is in that stage already). NotFound for an unknown model or
        version."""
        ...

    def model_events(self, model: str, *, limit: int = 0) -> list[ModelStageEvent]:
        """The audit log of a model, oldest first (``limit``: only the newest entries)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class DefinitionStore(Protocol):
    """Stack components, stacks and secrets: what ``bevel component|stack|secret`` manage.

    They live in the *home* metadata store (``Settings.database_url``), so a team that points
    ``BEVEL_STORE_URL`` at one shared database shares its definitions. The store knows nothing
    of flavors or built-in components: :mod:`bevel.stack.definitions` validates above it. Names
    are exact (case-sensitive). Secrets are opaque encrypted blobs here.
    """

    # --- components -------------------------------------------------------------------------
    def create_component(
        self, component: ComponentRecord, *, replace: bool = False
    ) -> ComponentRecord:
        """Insert a component; ``replace`` overwrites one of the same name (its type may only
        change while no stack uses it). A taken name without ``replace`` is a ConfigError."""
        ...

    def get_component(self, name: str) -> ComponentRecord:
        """Raises NotFound with a hint."""
        ...

    def list_components(self, type: str | None = None) -> list[ComponentRecord]:
        """By type, then name."""
        ...

    def update_component(
        self, name: str, config: dict[str, Any], *, updated: datetime
    ) -> ComponentRecord:
        """Replace a component's config. Raises NotFound."""
        ...

    def delete_component(self, name: str) -> None:
        """Raises NotFound; a component that stacks use is refused (ConfigError naming them)."""
        ...

    # --- stacks -----------------------------------------------------------------------------
    def create_stack(
        self, stack: StackRecord, *, replace: bool = False, require: Sequence[str] = ()
    ) -> StackRecord:
        """Insert a stack (``replace``: overwrite one of the same name). ConfigError if taken.

        ``require`` names components that must exist: they are checked (and, on server
        databases, locked against a concurrent delete) in the same transaction as the insert.
        """
        ...

    def get_stack(self, name: str) -> StackRecord:
        """Raises NotFound with a hint."""
        ...

    def list_stacks(self) -> list[StackRecord]:
        """By name."""
        ...

    def delete_stack(self, name: str) -> None:
        """Raises NotFound."""
        ...

    def stacks_using(self, component: str) -> list[str]:
        """Names of the stacks that use a component, sorted."""
        ...

    # --- secrets ----------------------------------------------------------------------------
    def put_secret(self, secret: SecretRecord, *, replace: bool = False) -> None:
        """Store an encrypted secret; ConfigError if the name is taken and not ``replace``."""
        ...

    def get_secret(self, name: str) -> SecretRecord:
        """Raises NotFound with a hint."""
        ...

    def list_secrets(self) -> list[SecretRecord]:
        """By name."""
        ...

    def delete_secret(self, name: str) -> None:
        """Raises NotFound."""
        ...
