"""A Stack: one built component of each type, passed explicitly down from the edge.

The stack is built once at the edge (CLI, ``Client()``, ``run_pipeline``) and passed down; nothing
below looks up a global. The default stack needs no setup: local orchestrator, local files under
``.bevel/artifacts`` and SQLite at ``.bevel/metadata.db``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.local import LocalArtifactStore
from bevel.metadata.base import MetadataStore
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.orchestrators.base import Orchestrator
from bevel.orchestrators.local import LocalOrchestrator
from bevel.settings import Settings, load_settings


@dataclass
class Stack:
    name: str
    orchestrator: Orchestrator
    artifact_store: ArtifactStore
    metadata_store: MetadataStore

    def close(self) -> None:
        self.metadata_store.close()


def default_stack(settings: Settings | None = None) -> Stack:
    """The zero-setup local stack rooted at the project's ``.bevel/`` folder."""
    settings = settings or load_settings()
    return Stack(
        name="default",
        orchestrator=LocalOrchestrator(),
        artifact_store=LocalArtifactStore(str(settings.artifacts_path)),
        metadata_store=SqlMetadataStore(settings.database_url),
    )
