"""``ModelVersion``: one version of a model, read from the store, able to load its artifacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bevel._dataclass import dataclass
from bevel.artifacts.publish import load_recorded
from bevel.errors import NotFound
from bevel.metadata.records import (
    ArtifactRecord,
    ModelArtifactLink,
    ModelStage,
    ModelVersionRecord,
)
from bevel.stack.stack import Stack


@dataclass(frozen=True)
class ModelVersion:
    """A model version (``churn`` v3) on the stack it was read from.

    ``load_artifact("model")`` loads the trained model through its materializer; other links
    are named ``data.<input>`` (what the trainer was trained on) and ``<evaluator>.<output>``.
    """

    record: ModelVersionRecord
    stack: Stack

    @property
    def model(self) -> str:
        return self.record.model

    @property
    def number(self) -> int:
        return self.record.number

    @property
    def name(self) -> str | None:
        return self.record.name

    @property
    def stage(self) -> ModelStage | None:
        return self.record.stage

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.record.metrics)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.record.metadata)

    @property
    def run_id(self) -> str | None:
        return self.record.run_id

    @property
    def created(self) -> datetime:
        return self.record.created

    @property
    def artifacts(self) -> dict[str, ModelArtifactLink]:
        return {link.name: link for link in self.record.artifacts}

    def artifact(self, name: str = "model") -> ArtifactRecord:
        """The record of a linked artifact; NotFound lists the links there are."""
        link = self.record.artifact(name)
        if link is None:
            known = ", ".join(self.artifacts) or "none yet"
            raise NotFound(
                f"{self} has no artifact {name!r} (it has: {known})",
                hint="a @trainer step's output is linked as 'model' when it completes; "
                "`bevel models show " + f"{self.model} --version {self.number}` lists the links",
            )
        return self.stack.metadata_store.get_artifact(link.artifact_id)

    def load_artifact(self, name: str = "model") -> Any:
        """Load a linked artifact (default: the trained model)."""
        return load_recorded(self.stack.artifact_store, self.artifact(name))

    def __str__(self) -> str:
        label = f" ({self.name})" if self.name else ""
        return f"model {self.model!r} version {self.number}{label}"

    def __repr__(self) -> str:
        stage = f", {self.stage.value}" if self.stage else ""
        return f"<ModelVersion {self.model} v{self.number}{stage}>"
