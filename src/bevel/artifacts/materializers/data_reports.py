"""Materializers of the bevel.data artifacts: each one a small, readable file plus its report.

=================  ==============  =========================================================
Profile            profile.json    the statistics; visualization "statistics"
Schema             schema.yaml     the YAML ``Schema.load`` reads (editable); "schema"
AnomalyReport      anomalies.json  every anomaly; visualization "anomalies"
DriftReport        drift.json      per-column drift; visualization "drift"
=================  ==============  =========================================================

They are registered by name in bevel's materializer table, so a step annotated ``-> Profile``
needs nothing more.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from bevel.artifacts.materializers.base import Materializer, VisualizationValue
from bevel.data.drift_detection import DriftReport
from bevel.data.schema import Schema
from bevel.data.statistics import Profile
from bevel.data.validation import AnomalyReport


class _JsonReport(Materializer):
    """A dataclass with ``to_dict``/``from_dict``/``html`` as one JSON file and one report.

    A subclass names its file, its visualization and its type in its class statement
    (``class X(_JsonReport, filename=..., viz_name=..., kind=...)``) and says what its listing
    shows in ``metadata``; the rest is this class's."""

    filename: ClassVar[str]
    viz_name: ClassVar[str]
    kind: ClassVar[Any]

    def __init_subclass__(cls, *, filename: str, viz_name: str, kind: Any, **rest: Any) -> None:
        super().__init_subclass__(**rest)
        cls.filename, cls.viz_name, cls.kind = filename, viz_name, kind

    def save(self, obj: Any, directory: str) -> None:
        text = json.dumps(obj.to_dict(), ensure_ascii=False, separators=(",", ":"), default=str)
        with open(os.path.join(directory, self.filename), "w", encoding="utf-8") as f:
            f.write(text)

    def load(self, directory: str, type_: type | None) -> Any:
        with open(os.path.join(directory, self.filename), encoding="utf-8") as f:
            return self.kind.from_dict(json.loads(f.read()))

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        return {self.viz_name: obj.html()}


class ProfileMaterializer(
    _JsonReport, filename="profile.json", viz_name="statistics", kind=Profile
):
    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"rows": obj.rows, "n_columns": len(obj.columns), "sample": obj.sample}


class AnomalyReportMaterializer(
    _JsonReport, filename="anomalies.json", viz_name="anomalies", kind=AnomalyReport
):
    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"rows": obj.rows, "anomalies": len(obj.anomalies), "ok": obj.ok}


class DriftReportMaterializer(
    _JsonReport, filename="drift.json", viz_name="drift", kind=DriftReport
):
    def metadata(self, obj: Any) -> dict[str, Any]:
        share = round(obj.share_drifted, 4)
        return {
            "drift_detected": obj.drift_detected,
            "drifted": obj.drifted,
            "share_drifted": share,
        }


class SchemaMaterializer(Materializer):
    filename: ClassVar[str] = "schema.yaml"

    def save(self, obj: Any, directory: str) -> None:
        obj.save(os.path.join(directory, self.filename))

    def load(self, directory: str, type_: type | None) -> Any:
        return Schema.load(os.path.join(directory, self.filename))

    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"n_columns": len(obj.columns), "strict": obj.strict}

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        return {"schema": obj.html()}
