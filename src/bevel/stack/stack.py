"""A Stack: one built component of each type, passed explicitly down from the edge.

The stack is built once at the edge (CLI, ``Client()``, ``run_pipeline``) and passed down; nothing
below looks up a global. The default stack needs no setup: local orchestrator, local files under
``.bevel/artifacts`` and the home metadata store (SQLite at ``.bevel/metadata.db`` unless
``$BEVEL_STORE_URL`` names another; its flavor follows the URL, see :mod:`bevel.stack.home`).
Other stacks are built from their stored definitions by :func:`bevel.stack.build.build_stack`.
Importing this module imports no store implementation (no SQLAlchemy): that happens when a
stack is built.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.local import LocalArtifactStore
from bevel.metadata.base import MetadataStore
from bevel.orchestrators.base import Orchestrator
from bevel.orchestrators.local import LocalOrchestrator
from bevel.settings import Settings, load_settings
from bevel.stack.components import (
    BUILTIN_COMPONENTS,
    COMPONENT_TYPES,
    DEFAULT_STACK,
    REQUIRED_TYPES,
)
from bevel.stack.home import home_metadata_store

__all__ = [
    "BUILTIN_COMPONENTS",
    "COMPONENT_TYPES",
    "DEFAULT_STACK",
    "REQUIRED_TYPES",
    "Stack",
    "default_stack",
]


@dataclass
class Stack:
    """The built components a run uses.

    ``components`` holds the optional ones by type (``stack.components.get("alerter")``);
    ``component_names`` says which named component each type came from (for messages).
    """

    name: str
    orchestrator: Orchestrator
    artifact_store: ArtifactStore
    metadata_store: MetadataStore
    components: dict[str, Any] = field(default_factory=dict)
    component_names: dict[str, str] = field(default_factory=lambda: dict(BUILTIN_COMPONENTS))

    def component(self, type: str) -> Any:
        """The component of ``type`` (required or optional), or None when the stack has none."""
        if type in REQUIRED_TYPES:
            return getattr(self, type)
        return self.components.get(type)

    def close(self) -> None:
        """Release connections: the metadata store's, and any optional component's ``close()``."""
        self.metadata_store.close()
        for component in (self.orchestrator, *self.components.values()):
            close = getattr(component, "close", None)
            if callable(close):
                close()


def default_stack(settings: Settings | None = None) -> Stack:
    """The zero-setup local stack rooted at the project's ``.bevel/`` folder."""
    settings = settings or load_settings()
    return Stack(
        name=DEFAULT_STACK,
        orchestrator=LocalOrchestrator(),
        artifact_store=LocalArtifactStore(settings.artifacts_dir),
        metadata_store=home_metadata_store(settings),
    )
