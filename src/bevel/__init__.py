"""bevel: typed Python ML pipelines, recorded, cached, and stack-swappable.

``import bevel`` is cheap: the public names below are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel._lazy import lazy_getattr

__version__ = "0.1.0"

# name -> "module:attribute"; resolved lazily so `import bevel` imports almost nothing.
_EXPORTS = {
    "step": "bevel.authoring.step:step",
    "trainer": "bevel.authoring.step:trainer",
    "evaluator": "bevel.authoring.step:evaluator",
    "Model": "bevel.authoring.model:Model",
    "External": "bevel.authoring.external:External",
    "ExternalPath": "bevel.authoring.external:ExternalPath",
    "pipeline": "bevel.authoring.pipeline:pipeline",
    "current": "bevel.run.context:current",
    "log_metadata": "bevel.run.context:log_metadata",
    "log_metric": "bevel.run.context:log_metric",
    "Client": "bevel.client.client:Client",
    "run_pipeline": "bevel.api:run_pipeline",
    "register_materializer": "bevel.artifacts.materializers.registry:register_materializer",
    "HTMLString": "bevel.artifacts.text_types:HTMLString",
    "MarkdownString": "bevel.artifacts.text_types:MarkdownString",
    "CSVString": "bevel.artifacts.text_types:CSVString",
    "JSONString": "bevel.artifacts.text_types:JSONString",
    "ResourceSettings": "bevel.authoring.resources:ResourceSettings",
    "unmapped": "bevel.authoring.tracing:unmapped",
}

__all__ = [
    "CSVString",
    "Client",
    "External",
    "ExternalPath",
    "HTMLString",
    "JSONString",
    "MarkdownString",
    "Model",
    "ResourceSettings",
    "__version__",
    "current",
    "evaluator",
    "log_metadata",
    "log_metric",
    "pipeline",
    "register_materializer",
    "run_pipeline",
    "step",
    "trainer",
    "unmapped",
]

if TYPE_CHECKING:
    from bevel.api import run_pipeline
    from bevel.artifacts.materializers.registry import register_materializer
    from bevel.artifacts.text_types import CSVString, HTMLString, JSONString, MarkdownString
    from bevel.authoring.external import External, ExternalPath
    from bevel.authoring.model import Model
    from bevel.authoring.pipeline import pipeline
    from bevel.authoring.resources import ResourceSettings
    from bevel.authoring.step import evaluator, step, trainer
    from bevel.authoring.tracing import unmapped
    from bevel.client.client import Client
    from bevel.run.context import current, log_metadata, log_metric


__getattr__ = lazy_getattr("bevel", _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
