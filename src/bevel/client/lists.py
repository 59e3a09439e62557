"""Plain lists of views that render as one table in a notebook.

They are ``list`` subclasses, so everything a list does still works (slicing gives a plain list).
A :class:`RunList` also fetches its runs' latest metrics in one query and converts to a pandas
DataFrame::

    runs = Client().runs(pipeline="training", limit=20)
    runs.latest_metrics(["accuracy"])         # {run id: {"accuracy": 0.93}}, one query
    df = runs.to_pandas()                     # params.C, metrics.accuracy, ... columns
    df.sort_values("metrics.accuracy").tail(3)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.client.views import ArtifactView, PipelineView, RunView
from bevel.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from bevel.client import render
else:  # notebook HTML: loaded when a list is shown in a notebook
    render = lazy_module("bevel.client.render")

_MISSING = object()


class RunList(list[RunView]):
    """Runs, newest first; rendering the table uses only summary fields (no query)."""

    def latest_metrics(self, keys: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
        """``{run id: {key: last value}}`` for these runs (all keys, or ``keys``): one query."""
        if not self:
            return {}
        return self[0]._client.store.latest_metrics([r.id for r in self], keys)

    def to_pandas(self) -> pd.DataFrame:
        """One row per run: summary fields, then ``params.<name>`` (nested dicts flattened with
        dots), ``metrics.<key>`` (last values) and ``metadata.<key>`` (run metadata) columns.
        Two queries (metrics and metadata), whatever the number of runs."""
        try:
            import pandas as pd  # optional dependency, imported on use
        except ImportError as exc:
            raise ConfigError(
                "RunList.to_pandas() needs pandas", hint="pip install 'bevel[pandas]'"
            ) from exc
        metrics = self.latest_metrics()
        metadata = self[0]._client.store.metadata_of("run", [r.id for r in self]) if self else {}
        rows = []
        for run in self:
            row: dict[str, Any] = {
                "id": run.id,
                "name": run.name,
                "pipeline": run.pipeline,
                "status": run.status.value,
                "created": run.created,
                "ended": run.ended,
                "duration": run.duration,
                "stack": run.stack,
            }
            row.update({f"params.{k}": v for k, v in flatten(run.params).items()})
            row.update({f"metrics.{k}": v for k, v in metrics.get(run.id, {}).items()})
            row.update({f"metadata.{k}": v for k, v in metadata.get(run.id, {}).items()})
            rows.append(row)
        columns = ["id", "name", "pipeline", "status", "created", "ended", "duration", "stack"]
        frame = pd.DataFrame(rows, columns=_all_columns(columns, rows))
        for name in ("created", "ended"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
        return frame

    def _repr_html_(self) -> str:
        return render.runs_html(self)


def _all_columns(first: list[str], rows: Iterable[dict[str, Any]]) -> list[str]:
    seen = dict.fromkeys(first)
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"C": 1}}`` -> ``{"model.C": 1}`` (lists and scalars are kept as they are)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """``values[name]``, or the nested value a dotted ``name`` points at; ``None`` if absent."""
    if name in values:
        return values[name]
    found = flatten(values).get(name, _MISSING)
    return None if found is _MISSING else found


class ArtifactList(list[ArtifactView]):
    def _repr_html_(self) -> str:
        return render.artifacts_html(self)


class PipelineList(list[PipelineView]):
    def _repr_html_(self) -> str:
        return render.pipelines_html(self)
