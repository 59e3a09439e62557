"""``current.model``: the model version a running step builds or uses.

In a training pipeline (``Model("churn")``) it is the version this run builds: created by the
first step that needs it (the ``@trainer`` completing, or a step touching ``current.model``),
one per run and model, so steps running in parallel, or on other machines, share it. In an
inference pipeline (``Model("churn", version="production")``) it is the version resolved when
the run started.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel._system import new_id
from bevel.errors import ModelError
from bevel.metadata.records import ModelStage, ModelVersionRecord, RunRecord
from bevel.stack.stack import Stack

if TYPE_CHECKING:
    from bevel.models import control, mirror, views
    from bevel.models.control import Decision, Direction
    from bevel.models.views import ModelVersion
else:  # every step's context imports this module (for ``no_model``); pipelines with a model
    control = lazy_module("bevel.models.control")  # load the control plane on first use
    mirror = lazy_module("bevel.models.mirror")
    views = lazy_module("bevel.models.views")


class ModelBinding:
    """What ``current.model`` is inside a step of a pipeline with a model."""

    def __init__(self, model: dict[str, Any], *, run: RunRecord, step_id: str, stack: Stack):
        self.name: str = model["name"]
        self._model = model
        self._run = run
        self._step_id = step_id
        self._stack = stack
        self._version: ModelVersion | None = None

    @property
    def builds(self) -> bool:
        """Whether this run builds a new version (training) rather than using one."""
        return self._model.get("version") is None

    @property
    def version(self) -> ModelVersion:
        """The version (created on first use in a training run; re-read each time)."""
        store = self._stack.metadata_store
        if self.builds:
            record = store.create_model_version(
                ModelVersionRecord(
                    id=new_id(),
                    model=self.name,
                    number=0,
                    created=datetime.now(UTC),
                    name=self._model.get("version_name"),
                    run_id=self._run.id,
                    description=self._model.get("description") or "",
                )
            )
        else:
            resolved = self._model.get("resolved") or {}
            record = store.get_model_version(self.name, resolved.get("number") or self._ref())
        self._version = views.ModelVersion(record, self._stack)
        return self._version

    def _ref(self) -> str:
        return str(self._model["version"])

    @property
    def number(self) -> int:
        return self.version.number

    @property
    def actor(self) -> str:
        return f"run {self._run.name} (step {self._step_id})"

    def log_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach JSON metadata to the version (a key again replaces its value)."""
        self._stack.metadata_store.update_model_version(self.version.record.id, metadata=metadata)

    def log_metrics(self, metrics: dict[str, float]) -> None:
        """Record metrics of the version (what promotion rules compare)."""
        values = {str(k): float(v) for k, v in metrics.items()}
        version = self.version
        self._stack.metadata_store.update_model_version(version.record.id, metrics=values)
        mirror.version_changed(self._stack, self.name, version.number)

    def load_artifact(self, name: str = "model") -> Any:
        """Load an artifact linked to the version (default: the trained model)."""
        return self.version.load_artifact(name)

    def promote(self, stage: str | ModelStage = ModelStage.PRODUCTION, reason: str = "") -> None:
        """Move this version to ``stage`` (the holder is archived), audited as this step."""
        control.Models(self._stack, registry_errors="warn").promote(
            self.name, self.version.number, stage=stage, reason=reason, actor=self.actor
        )

    def promote_if_better(
        self,
        metric: str,
        *,
        stage: str | ModelStage = ModelStage.PRODUCTION,
        direction: Direction = "maximize",
        min_delta: float = 0.0,
    ) -> Decision:
        """Promote this version when its ``metric`` beats the stage holder's by more than
        ``min_delta`` (an empty stage is taken). Returns the decision and its reason, which is
        also the audit log's reason."""
        target = control.parse_stage(stage) or ModelStage.PRODUCTION
        return control.Models(self._stack, registry_errors="warn").promote_if_better(
            self.name, self.version.number, metric, stage=target, direction=direction,
            min_delta=min_delta, actor=self.actor,
        )  # fmt: skip

    def deploy(
        self, *, stage: str | None = None, version: int | str | None = None,
        port: int | None = None, restart: bool = True,
    ) -> str:  # fmt: skip
        """Serve this version (or the holder of ``stage``, or ``version``) with the stack's
        model deployer (default: ``local``); returns the URL. ``restart=False`` keeps a server
        already running that version."""
        ref = stage or version or self.version.number
        return control.Models(self._stack).deploy(self.name, ref, port=port, restart=restart)

    def __repr__(self) -> str:
        how = "builds a new version" if self.builds else f"uses version {self._ref()!r}"
        return f"<current.model {self.name!r}: this run {how}>"


def no_model(pipeline: str) -> ModelError:
    return ModelError(
        f"pipeline '{pipeline}' has no model, so current.model is not available",
        hint='name one: @pipeline(model=Model("churn")) to build versions, or '
        '@pipeline(model=Model("churn", version="production")) to use one',
    )
