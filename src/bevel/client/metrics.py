"""Metric series: every point a step logged with ``log_metric(key, value, step=i)``.

``run.metrics`` and ``step.metrics`` give the last value of each key; ``metric_series`` keeps
the whole history::

    loss = run.metric_series["loss"]
    loss.last, loss.values, loss.steps      # 0.12, [0.9, 0.5, ..., 0.12], [0, 1, ..., 9]
    loss.to_pandas()                        # step / value / time / step_run_id columns
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bevel._dataclass import dataclass
from bevel.client import format as fmt
from bevel.metadata.records import MetricRecord

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class MetricPoint:
    """One logged value: ``step`` is the counter given to ``log_metric`` (None if none)."""

    value: float
    step: int | None
    time: datetime
    step_run_id: str | None


@dataclass(frozen=True)
class MetricSeries:
    """The points of one metric key, in the order they were logged."""

    key: str
    points: tuple[MetricPoint, ...]

    @property
    def last(self) -> float:
        """The value :attr:`RunView.metrics` reports: logged latest, then the highest step."""
        return _last(self.points).value

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]

    @property
    def steps(self) -> list[int | None]:
        return [p.step for p in self.points]

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self) -> Iterator[MetricPoint]:
        return iter(self.points)

    def sparkline(self, width: int = 24) -> str:
        """The series as a line of block characters (``▇▅▃▂▁``), at most ``width`` wide."""
        return fmt.sparkline(self.values, width)

    def to_pandas(self) -> pd.DataFrame:
        """One row per point: ``step``, ``value``, ``time``, ``step_run_id``."""
        import pandas as pd  # optional dependency, imported on use

        return pd.DataFrame(
            {
                "step": [p.step for p in self.points],
                "value": self.values,
                "time": [p.time for p in self.points],
                "step_run_id": [p.step_run_id for p in self.points],
            }
        )

    def __repr__(self) -> str:
        return f"MetricSeries({self.key!r}, last={fmt.metric(self.last)}, points={len(self)})"


def _order(point: MetricPoint) -> tuple[datetime, int]:
    return point.time, point.step if point.step is not None else -1


def _last(points: Sequence[MetricPoint]) -> MetricPoint:
    best = points[0]
    for point in points[1:]:
        if _order(point) >= _order(best):  # ties: the one recorded later
            best = point
    return best


def series_of(records: Iterable[MetricRecord]) -> dict[str, MetricSeries]:
    """Records (in the store's recording order) grouped by key, keys in first-logged order."""
    grouped: dict[str, list[MetricPoint]] = {}
    for m in records:
        grouped.setdefault(m.key, []).append(MetricPoint(m.value, m.step, m.created, m.step_run_id))
    return {key: MetricSeries(key, tuple(points)) for key, points in grouped.items()}


def last_values(series: dict[str, MetricSeries]) -> dict[str, float]:
    return {key: s.last for key, s in series.items()}


def describe(series: MetricSeries, width: int = 24) -> str:
    """``▇▅▃▂▁  10 points, 0.9 → 0.12 (min 0.1)`` for a series; ``""`` for a single value."""
    if len(series) < 2:
        return ""
    values = series.values
    low, high = min(values), max(values)
    text = f"{series.sparkline(width)}  {len(series)} points, "
    text += f"{fmt.metric(values[0])} → {fmt.metric(values[-1])}"
    extremes = [f"min {fmt.metric(low)}"] if low not in (values[0], values[-1]) else []
    extremes += [f"max {fmt.metric(high)}"] if high not in (values[0], values[-1]) else []
    return text + (f" ({', '.join(extremes)})" if extremes else "")
