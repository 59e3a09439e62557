"""The HTML report of a run comparison (``bevel runs compare --html``, ``compare_report()``).

Sections: the table (one column per run, differing rows highlighted), each metric per run, the
metric series over steps (``log_metric(..., step=i)``), and parallel coordinates from the
parameters that differ between the runs to a metric. Self-contained: inline SVG, no scripts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel.client import format as fmt
from bevel.client.compare import RunFacts, differing, frame, lower_is_better, ordered_keys
from bevel.viz import svg
from bevel.viz.html import badge, esc, fragment, num, page, table

if TYPE_CHECKING:
    import pandas as pd


def _cell(value: Any) -> str:
    if value is None:
        return '<span class="bv-m">-</span>'
    if isinstance(value, float) and math.isnan(value):
        return '<span class="bv-m">-</span>'
    if isinstance(value, bool | int | float):
        return esc(num(value))
    if isinstance(value, str):
        return esc(value)
    return f"<code>{esc(json.dumps(value, default=str))}</code>"


@dataclass(frozen=True)
class ComparisonReport:
    """The comparison as HTML: rendered in a notebook, written by ``save()``."""

    facts: Sequence[RunFacts]
    metric: str | None = None  # the metric of the parallel-coordinates chart

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The comparison table (what ``Client().compare()`` returns)."""
        return frame(self.facts)

    @cached_property
    def differing(self) -> list[str]:
        """The columns whose values differ between the runs."""
        return differing(self.frame)

    def fragments(self) -> list[str]:
        parts = [self._table()]
        metrics = ordered_keys(f.metrics for f in self.facts)
        if metrics:
            parts.append(self._metric_bars(metrics))
        series = ordered_keys(f.series for f in self.facts)
        if series:
            parts.append(self._series(series))
        parallel = self._parallel(metrics)
        if parallel:
            parts.append(parallel)
        return parts

    def html(self) -> str:
        names = ", ".join(f.name for f in self.facts)
        return page(
            "Run comparison",
            self.fragments(),
            subtitle=f"{len(self.facts)} runs: {esc(names)}",
        )

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.html(), encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        return "".join(self.fragments())

    # --- sections ---------------------------------------------------------------------------
    def _table(self) -> str:
        data = self.frame
        diff = set(self.differing)
        headers = ["", *(f.name for f in self.facts)]
        rows, classes = [], []
        for column in data.columns:
            values = data[column].tolist()
            if column == "created":
                cells = [esc(fmt.timestamp(f.identity["created"])) for f in self.facts]
            elif column == "duration" or str(column).startswith("duration."):
                cells = [esc(fmt.duration(v)) if v == v else "-" for v in values]
            elif column == "status":
                cells = [badge(v, _STATUS_TONE.get(v, "muted")) for v in values]
            else:
                cells = [_cell(v) for v in values]
            label = f'<span class="bv-name">{esc(column)}</span>'
            rows.append([label, *cells])
            classes.append("bv-row-diff" if column in diff else "")
        note = (
            f"{len(diff)} of {len(data.columns)} fields differ (highlighted)"
            if diff
            else "no parameter or metric differs"
        )
        return fragment(
            table(
                headers,
                rows,
                numeric=range(1, len(headers)),
                row_classes=classes,
                plain_headers=True,
            ),
            title="Runs side by side",
            subtitle=esc(note),
        )

    def _metric_bars(self, metrics: list[str]) -> str:
        panels = []
        for key in metrics:
            items = [(f.name, f.metrics.get(key)) for f in self.facts]
            values = [v for _, v in items if v is not None]
            best = (min if lower_is_better(key) else max)(values) if values else None
            chart = svg.bar_chart(items, width=340, highlight=_is(best, values=items))
            panels.append(f'<div class="bv-panel"><h4>{esc(key)}</h4>{chart}</div>')
        return fragment(
            f'<div class="bv-grid">{"".join(panels)}</div>',
            title="Metrics per run",
            subtitle="the last logged value of each metric; the best run's bar is darker (the "
            "lowest for losses, errors and costs, else the highest)",
        )

    def _series(self, keys: list[str]) -> str:
        panels = []
        for key in keys:
            lines = [
                (f.name, [x for x, _ in f.series[key]], [y for _, y in f.series[key]])
                for f in self.facts
                if key in f.series
            ]
            chart = svg.line_chart(lines, width=440, height=230, x_label="step")
            panels.append(f'<div class="bv-panel"><h4>{esc(key)}</h4>{chart}</div>')
        return fragment(
            f'<div class="bv-grid">{"".join(panels)}</div>',
            title="Metric series",
            subtitle="values logged with log_metric(key, value, step=i), one line per run",
        )

    def _parallel(self, metrics: list[str]) -> str:
        if not metrics or len(self.facts) < 2:
            return ""
        metric = self.metric if self.metric in metrics else metrics[0]
        data = self.frame
        varying = [c for c in self.differing if c.startswith(("params.", "steps."))]
        scalar = [
            c
            for c in varying
            if all(v is None or isinstance(v, bool | int | float | str) for v in data[c].tolist())
        ]
        if not scalar:
            return ""
        axes: list[tuple[str, list[Any]]] = [
            (c.removeprefix("params."), [_axis_value(v) for v in data[c].tolist()]) for c in scalar
        ]
        axes.append((metric, [f.metrics.get(metric) for f in self.facts]))
        low = lower_is_better(metric)
        chart = svg.parallel_coordinates(
            axes,
            names=[f.name for f in self.facts],
            width=max(420, 170 * len(axes)),
            dark_low=low,
        )
        return fragment(
            chart,
            title=f"Parameters → {metric}",
            subtitle="one line per run across the parameters that differ, coloured by "
            f"{esc(metric)} (darker is better: {'lower' if low else 'higher'})",
        )


_STATUS_TONE = {"completed": "ok", "cached": "info", "failed": "bad", "running": "warn"}


def _is(best: float | None, *, values: list[tuple[str, float | None]]) -> Callable[[int], bool]:
    """Whether bar ``i`` holds the best value."""

    def check(i: int) -> bool:
        return best is not None and values[i][1] == best

    return check


def _axis_value(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
