"""Plain records exchanged with a metadata store (frozen dataclasses, no ORM objects).

Ids are 32-char lowercase hex uuid4 strings. Times are timezone-aware UTC datetimes.
JSON-ish fields (params, config, metadata) hold plain JSON values.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bevel._dataclass import dataclass


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"  # an upstream step failed
    CANCELLED = "cancelled"


# --- the one table of status transitions ---------------------------------------------------
#
# A record is created in any status (a run starts RUNNING; a step run starts RUNNING, or is
# recorded directly as CACHED, SKIPPED or CANCELLED when it never ran). After that, the only
# changes are the ones below: RUNNING ends once, and an ended status is final. Metadata stores
# enforce it with conditional updates (a change is written only if the stored status is one it
# may start from), so two processes racing to end the same run cannot both win, and a run that
# another process declared dead cannot turn "completed" behind its back.

RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.RUNNING: frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}
STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    StepStatus.RUNNING: frozenset({StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.CANCELLED}),
    StepStatus.COMPLETED: frozenset(),
    StepStatus.CACHED: frozenset(),
    StepStatus.FAILED: frozenset(),
    StepStatus.SKIPPED: frozenset(),
    StepStatus.CANCELLED: frozenset(),
}


def run_status_sources(target: RunStatus) -> tuple[RunStatus, ...]:
    """The statuses a run may change to ``target`` from (empty: ``target`` is never reached by
    a change)."""
    return tuple(s for s, targets in RUN_TRANSITIONS.items() if target in targets)


def step_status_sources(target: StepStatus) -> tuple[StepStatus, ...]:
    """The statuses a step run may change to ``target`` from."""
    return tuple(s for s, targets in STEP_TRANSITIONS.items() if target in targets)


def is_final(status: RunStatus | StepStatus) -> bool:
    """Whether ``status`` can never change again."""
    if isinstance(status, RunStatus):
        return not RUN_TRANSITIONS[status]
    return not STEP_TRANSITIONS[StepStatus(status)]


@dataclass(frozen=True)
class RunRecord:
    id: str
    pipeline: str
    name: str  # unique across runs; defaults to "<pipeline>-<timestamp>-<short id>"
    status: RunStatus
    created: datetime
    ended: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)  # Plan.to_dict()
    code_fingerprint: str = ""
    stack: str = "default"
    error: str | None = None
    host: str = ""  # hostname:pid of the process driving the run (liveness check)
    heartbeat: datetime | None = None  # last sign of life of that process


@dataclass(frozen=True)
class StepRunRecord:
    id: str
    run_id: str
    step_id: str  # the invocation id in the plan ("train_2")
    step_name: str  # the function name ("train")
    status: StepStatus
    started: datetime
    ended: datetime | None = None
    cache_key: str | None = None
    cached_from: str | None = None  # id of the step run whose outputs a CACHED run reuses
    attempts: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    code_hash: str = ""
    error: str | None = None
    traceback: str | None = None
    logs_uri: str | None = None  # where captured stdout/stderr/logging of the step lives
    # Cache-key ingredients (for ``bevel runs explain``): name -> hash/value.
    cache_ingredients: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ArtifactRecord:
    id: str
    name: str  # "<pipeline>.<step id>.<output>" unless the user named it
    version: int  # 1, 2, ... per name, assigned by the store on insert (0 = not yet assigned)
    uri: str  # folder in the artifact store holding the materialized files
    type_ref: str  # "module:qualname" of the Python type
    materializer: str  # "module:Class"
    materializer_version: str
    content_hash: str  # "blake3:<hex>" over the folder's files ("sha256:<hex>": older content)
    size: int  # bytes
    producer_step_run_id: str | None
    run_id: str | None
    output_name: str
    created: datetime
    metadata: dict[str, Any] = field(default_factory=dict)  # shape, dtypes, row count...
    visualizations: dict[str, str] = field(default_factory=dict)  # name -> uri of html/md/png
    python_version: str | None = None  # set when pickled


@dataclass(frozen=True)
class LineageEdge:
    """A step run consumed (``direction="in"``) or produced / reused (``"out"``) an artifact."""

    step_run_id: str
    artifact_id: str
    name: str  # input argument name or output name
    direction: str  # "in" | "out"


@dataclass(frozen=True)
class MetricRecord:
    run_id: str
    step_run_id: str | None
    key: str
    value: float
    step: int | None
    created: datetime


#: Step-run metadata key bevel writes when a step's on_success/on_failure hook raised:
#: ``{"hook": "on_failure", "function": "module:name", "error": "ValueError: ..."}``.
HOOK_ERROR = "bevel.hook_error"


@dataclass(frozen=True)
class MetadataEntry:
    """Free-form metadata logged on a run, step run or artifact (``log_metadata``)."""

    entity: str  # "run" | "step_run" | "artifact"
    entity_id: str
    key: str
    value: Any  # JSON
    created: datetime


@dataclass(frozen=True)
class PipelineRecord:
    name: str
    created: datetime
    last_run: datetime | None = None
    runs: int = 0
    source: str = ""


@dataclass(frozen=True)
class StepCompletion:
    """Everything recorded when a step run ends, written in ONE transaction."""

    step_run: StepRunRecord  # final status, ended, error...
    outputs: tuple[ArtifactRecord, ...] = ()  # new artifacts (version assigned by the store)
    reused_outputs: tuple[tuple[str, str], ...] = ()  # (output name, artifact id) for CACHED runs
    inputs: tuple[tuple[str, str], ...] = ()  # (input name, artifact id)
    metrics: tuple[MetricRecord, ...] = ()
    metadata: tuple[MetadataEntry, ...] = ()


# --- stack definitions (kept in the home metadata store, shared by everyone who uses it) ------


@dataclass(frozen=True)
class ComponentRecord:
    """A named, configured stack component: ``s3-store`` = artifact_store of flavor ``s3``.

    ``config`` is plain JSON as the user gave it: ``{{secret.key}}`` references stay references
    (resolved only when a stack is built). Names are unique across all component types.
    """

    name: str
    type: str  # "orchestrator", "artifact_store", "metadata_store", ...
    flavor: str
    config: dict[str, Any]
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class StackRecord:
    """A named stack: the component name chosen for each component type it uses."""

    name: str
    components: dict[str, str]  # component type -> component name
    created: datetime


@dataclass(frozen=True)
class SecretRecord:
    """A named secret as stored: ``blob`` is the encrypted value (never the plain text)."""

    name: str
    blob: str
    created: datetime
    updated: datetime


# --- the model control plane (revision 0003) -------------------------------------------------


class ModelStage(StrEnum):
    """Where a model version stands. ``staging`` and ``production`` have at most one holder per
    model (enforced by a unique constraint in the store); ``archived`` has any number."""

    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


#: Stages held by one version at a time: promoting another version archives the holder.
EXCLUSIVE_STAGES = (ModelStage.STAGING, ModelStage.PRODUCTION)


@dataclass(frozen=True)
class ModelRecord:
    """A named model (``@pipeline(model=Model("churn"))``), with a summary of its versions."""

    name: str
    created: datetime
    description: str = ""
    versions: int = 0  # how many versions it has
    latest: int | None = None  # the highest version number
    stages: dict[str, int] = field(default_factory=dict)  # "production" -> version number


@dataclass(frozen=True)
class ModelArtifactLink:
    """An artifact linked to a model version: its ``"model"`` output, the data it was trained
    on (``role="data"``), an evaluator's outputs (``role="evaluation"``)."""

    name: str  # unique per version: "model", "data.train", "evaluate.report"
    artifact_id: str
    role: str  # "model" | "data" | "evaluation" | "other"


@dataclass(frozen=True)
class ModelVersionRecord:
    """One version of a model: a number (1, 2, ... per model, assigned by the store) and an
    optional unique name, the run that built it, its stage, metadata and metrics, links."""

    id: str
    model: str
    number: int  # 0 = not yet assigned
    created: datetime
    name: str | None = None
    run_id: str | None = None  # the run that built it (one version per run and model)
    stage: ModelStage | None = None
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: tuple[ModelArtifactLink, ...] = ()

    def artifact(self, name: str) -> ModelArtifactLink | None:
        return next((link for link in self.artifacts if link.name == name), None)


@dataclass(frozen=True)
class ModelStageEvent:
    """One entry of a model's audit log: a version moved from one stage to another."""

    model: str
    version: int
    from_stage: ModelStage | None
    to_stage: ModelStage | None
    actor: str  # who ("alice@laptop", "run churn-training-12")
    reason: str
    created: datetime
