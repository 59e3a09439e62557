"""bevel.client: read-only views over recorded runs (notebook, CLI and server use them).

The names below load on first use, so importing a submodule (the CLI's formatters) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel._lazy import lazy_getattr

_EXPORTS = {
    "Client": "bevel.client.client:Client",
    "RunView": "bevel.client.views:RunView",
    "StepView": "bevel.client.views:StepView",
    "ArtifactView": "bevel.client.views:ArtifactView",
    "PipelineView": "bevel.client.views:PipelineView",
    "StepCounts": "bevel.client.views:StepCounts",
    "RunList": "bevel.client.lists:RunList",
    "ArtifactList": "bevel.client.lists:ArtifactList",
    "PipelineList": "bevel.client.lists:PipelineList",
}

__all__ = [
    "ArtifactList",
    "ArtifactView",
    "Client",
    "PipelineList",
    "PipelineView",
    "RunList",
    "RunView",
    "StepCounts",
    "StepView",
]

if TYPE_CHECKING:
    from bevel.client.client import Client
    from bevel.client.lists import ArtifactList, PipelineList, RunList
    from bevel.client.views import ArtifactView, PipelineView, RunView, StepCounts, StepView


__getattr__ = lazy_getattr("bevel.client", _EXPORTS, globals())
