"""Plain lists of views that render as one table in a notebook.

They are ``list`` subclasses, so everything a list does still works (slicing gives a plain list).
"""

from __future__ import annotations

from bevel.client import render
from bevel.client.views import ArtifactView, PipelineView, RunView


class RunList(list[RunView]):
    """Runs, newest first; rendering the table uses only summary fields (no query)."""

    def _repr_html_(self) -> str:
        return render.runs_html(self)


class ArtifactList(list[ArtifactView]):
    def _repr_html_(self) -> str:
        return render.artifacts_html(self)


class PipelineList(list[PipelineView]):
    def _repr_html_(self) -> str:
        return render.pipelines_html(self)
