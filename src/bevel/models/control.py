"""Promotion and the Python face of ``bevel models``.

``Models`` (``Client().models``) lists models and versions, reads the audit log and promotes::

    from bevel import Client

    with Client() as client:
        client.models.promote("churn", 3, stage="production", reason="beats v2 on AUC")
        model = client.models.version("churn", "production").load_artifact("model")

Promotion *rules as code* are :func:`decide`: a candidate is promoted when its metric beats
the current holder's by more than ``min_delta`` (or when the stage is empty). Steps use it
through ``current.model.promote_if_better(...)``.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any, Literal

from bevel._dataclass import dataclass
from bevel._system import hostname
from bevel.errors import ConfigError, ModelError, NotFound
from bevel.metadata.records import ModelRecord, ModelStage, ModelStageEvent
from bevel.models import mirror
from bevel.models.views import ModelVersion
from bevel.settings import load_settings
from bevel.stack.flavors import get_flavor
from bevel.stack.stack import Stack

Direction = Literal["maximize", "minimize"]


def user_actor() -> str:
    """Who acts from a shell or a script: ``user@host``."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (some containers)
        user = "unknown"
    return f"{user}@{hostname()}"


def parse_stage(stage: str | ModelStage | None) -> ModelStage | None:
    if stage is None or isinstance(stage, ModelStage):
        return stage
    try:
        return ModelStage(stage.lower())
    except ValueError:
        known = ", ".join(s.value for s in ModelStage)
        raise ConfigError(f"unknown model stage {stage!r}", hint=f"use one of: {known}") from None


@dataclass(frozen=True)
class Decision:
    """The outcome of a promotion rule: whether it promoted, and why (also the audit reason)."""

    promoted: bool
    reason: str
    events: tuple[ModelStageEvent, ...] = ()

    def __bool__(self) -> bool:
        return self.promoted


def decide(
    candidate: ModelVersion,
    holder: ModelVersion | None,
    metric: str,
    *,
    direction: Direction = "maximize",
    min_delta: float = 0.0,
    stage: ModelStage = ModelStage.PRODUCTION,
) -> Decision:
    """Whether ``candidate`` should take ``stage`` from ``holder``, judged on ``metric``."""
    if direction not in ("maximize", "minimize"):
        raise ConfigError(
            f"direction must be 'maximize' or 'minimize', got {direction!r}",
            hint="e.g. promote_if_better('accuracy', direction='maximize')",
        )
    if metric not in candidate.metrics:
        known = ", ".join(sorted(candidate.metrics)) or "none"
        raise ModelError(
            f"{candidate} has no metric {metric!r} to compare (its metrics: {known})",
            hint="log it in an @evaluator step of the same pipeline: log_metric("
            f"{metric!r}, value); the evaluator must run before the step that promotes "
            "(pass it the evaluator's output, or after=...)",
        )
    value = candidate.metrics[metric]
    if holder is None:
        return Decision(True, f"{metric} {value:g}; no version was in {stage.value}")
    if holder.number == candidate.number:
        return Decision(False, f"{candidate} is in {stage.value} already")
    if metric not in holder.metrics:
        return Decision(True, f"{metric} {value:g}; version {holder.number} has no {metric}")
    current = holder.metrics[metric]
    better = value - current > min_delta if direction == "maximize" else current - value > min_delta
    sign = (">" if value > current else "<=") if direction == "maximize" else (
        "<" if value < current else ">="
    )  # fmt: skip
    margin = f" by more than {min_delta:g}" if min_delta and better else ""
    reason = f"{metric} {value:g} {sign} {current:g} of version {holder.number}{margin}"
    return Decision(better, reason)


class Models:
    """Models and their versions on one stack (what ``bevel models`` shows and does)."""

    def __init__(self, stack: Stack, *, registry_errors: Literal["raise", "warn"] = "raise"):
        self.stack = stack
        # Where a promotion's mirror to the stack's model registry failing goes: raised to a
        # CLI or Client user; a warning inside a step, whose work is done (bevel.models.mirror).
        self.registry_errors = registry_errors

    def all(self) -> list[ModelRecord]:
        """Every model, by name, with its version count and stage holders."""
        return self.stack.metadata_store.list_models()

    def version(self, model: str, ref: str | int = "latest") -> ModelVersion:
        """A version by number, name, ``"latest"`` or stage (NotFound says what is missing)."""
        return ModelVersion(self.stack.metadata_store.get_model_version(model, ref), self.stack)

    def versions(
        self, model: str, *, stage: str | ModelStage | None = None, limit: int = 50
    ) -> list[ModelVersion]:
        records = self.stack.metadata_store.list_model_versions(
            model, stage=parse_stage(stage), limit=limit
        )
        return [ModelVersion(r, self.stack) for r in records]

    def events(self, model: str, *, limit: int = 0) -> list[ModelStageEvent]:
        return self.stack.metadata_store.model_events(model, limit=limit)

    def promote(
        self,
        model: str,
        version: int | str,
        *,
        stage: str | ModelStage = ModelStage.PRODUCTION,
        reason: str = "",
        actor: str | None = None,
    ) -> list[ModelStageEvent]:
        """Move a version (number, name or stage) to ``stage``; the previous holder of
        ``staging``/``production`` is archived. Returns the audit entries written."""
        target = parse_stage(stage)
        number = self.version(model, version).number
        events = self.stack.metadata_store.set_model_stage(
            model, number, target, actor=actor or user_actor(), reason=reason,
            at=datetime.now(UTC),
        )  # fmt: skip
        if events:
            self._mirror_stages(model, number, target)
        return events

    def sync(self, model: str) -> mirror.SyncReport:
        """Mirror every version of ``model`` and its stages to the stack's model registry
        again (after the registry was down, or was added to the stack later)."""
        return mirror.sync(self.stack, model)

    def registry_versions(self, model: str) -> list[dict[str, Any]] | None:
        """The stack's model registry's versions of ``model`` (None: the stack has none)."""
        found = mirror.registry(self.stack)
        return None if found is None else list(found.versions(model))

    def _mirror_stages(self, model: str, number: int, stage: ModelStage | None) -> None:
        moved = f"model {model!r} version {number} moved to {stage.value if stage else 'no stage'}"
        mirror.stages_changed(self.stack, model, warn=self.registry_errors == "warn", what=moved)

    def promote_if_better(
        self,
        model: str,
        version: int | str,
        metric: str,
        *,
        stage: str | ModelStage = ModelStage.PRODUCTION,
        direction: Direction = "maximize",
        min_delta: float = 0.0,
        actor: str | None = None,
    ) -> Decision:
        """Promote ``version`` when its ``metric`` beats the stage holder's (see :func:`decide`)."""
        target = parse_stage(stage) or ModelStage.PRODUCTION
        candidate = self.version(model, version)
        try:
            holder: ModelVersion | None = self.version(model, target.value)
        except NotFound:
            holder = None
        decision = decide(
            candidate, holder, metric, direction=direction, min_delta=min_delta, stage=target
        )
        if not decision.promoted:
            return decision
        events = self.stack.metadata_store.set_model_stage(
            model, candidate.number, target, actor=actor or user_actor(),
            reason=decision.reason, at=datetime.now(UTC),
        )  # fmt: skip
        if events:
            self._mirror_stages(model, candidate.number, target)
        return Decision(True, decision.reason, tuple(events))

    # --- deployments -------------------------------------------------------------------------

    def deployer(self) -> Any:
        """The stack's ``model_deployer``, else a ``local`` one logging to
        ``.bevel/deployments``."""
        found = self.stack.component("model_deployer")
        if found is not None:
            return found
        folder = load_settings().home / "deployments"
        return get_flavor("model_deployer", "local").load_implementation()(folder=str(folder))

    def deploy(
        self, model: str, ref: int | str = "production", *, port: int | None = None,
        restart: bool = True,
    ) -> str:  # fmt: skip
        """Serve a version (number, name, stage) with the stack's model deployer; returns the
        URL. ``restart=False`` keeps a server already running that version."""
        number = self.version(model, ref).number
        deployer = self.deployer()
        if not restart:
            for running in getattr(deployer, "deployments", lambda *_: [])(
                self.stack.metadata_store, model
            ):
                if running.version == number and running.state == "running":
                    return str(running.url)
        url = deployer.deploy(model, str(number), store=self.stack.metadata_store, port=port)
        return str(url)
