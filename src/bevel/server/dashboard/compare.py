"""``/compare?runs=A&runs=B...``: 2 to 10 runs side by side, one column each (W&B's layout):
parameters with a diff-only switch (MLflow #2836, #7980), each metric's last, min and max
(not only the last: MLflow #6348), metric series overlaid in one chart per metric (uPlot,
``static/js/compare.js``), and each step's status per run (which ran, which were cached).
Built on the run records themselves, not a side system (Kedro-Viz #1624); the runs are read in
one query each, their metrics in one query each (10 at most)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bevel.errors import ConfigError
from bevel.metadata.records import MetricRecord, RunRecord
from bevel.server.auth.keys import VIEWER
from bevel.server.dashboard.render import html
from bevel.server.dashboard.views import Node, build_graph, diff_keys, now_utc, run_seconds
from bevel.server.routes import route, state_of

router = APIRouter(tags=["dashboard"], include_in_schema=False)
MAX_RUNS = 10
MAX_POINTS = 5000
_REFS = Query(
    [], description="run ids or names, 2 to 10"
)  # per series sent to the chart (the newest kept)


def metric_table(
    runs: list[RunRecord], metrics: dict[str, list[MetricRecord]]
) -> list[dict[str, Any]]:
    """One row per metric key: for each run its last, min and max value and point count."""
    keys = sorted({m.key for points in metrics.values() for m in points})
    rows = []
    for key in keys:
        cells = []
        for run in runs:
            values = [m.value for m in metrics[run.id] if m.key == key]
            cells.append(None if not values else {"last": values[-1], "min": min(values),
                                                  "max": max(values), "n": len(values)})  # fmt: skip
        lasts = [c["last"] for c in cells if c is not None]
        rows.append({"key": key, "cells": cells, "differs": len(set(lasts)) > 1 or None in cells})
    return rows


def series(runs: list[RunRecord], metrics: dict[str, list[MetricRecord]]) -> dict[str, Any]:
    """Metric key -> per run ``[[step...], [value...]]``: only keys some run logged more than
    once (a single number is a table cell, not a line)."""
    out: dict[str, Any] = {}
    keys = sorted({m.key for points in metrics.values() for m in points})
    for key in keys:
        per_run: list[list[list[Any]]] = []
        for run in runs:
            points = [m for m in metrics[run.id] if m.key == key][-MAX_POINTS:]
            steps = [m.step if m.step is not None else i for i, m in enumerate(points)]
            per_run.append([steps, [m.value for m in points]])
        if any(len(p[0]) > 1 for p in per_run):
            out[key] = per_run
    return out


@route(router, "GET", "/compare", role=VIEWER)
def compare_page(
    request: Request,
    runs: list[str] = _REFS,
    diff: bool = False,
) -> Response:
    refs = list(dict.fromkeys(r[:255] for r in runs if r))
    if not 2 <= len(refs) <= MAX_RUNS:
        raise ConfigError(
            f"compare needs 2 to {MAX_RUNS} runs, not {len(refs)}",
            hint="select 2-10 rows on the runs page and press Compare "
            "(or /compare?runs=ID&runs=ID)",
        )
    store = state_of(request).store
    chosen = [store.get_run(ref) for ref in refs]
    metrics = {run.id: store.metrics(run.id) for run in chosen}
    params = sorted({k for run in chosen for k in run.params})
    param_rows = {k: [run.params.get(k, _MISSING) for run in chosen] for k in params}
    differs = diff_keys(param_rows)
    now = now_utc()
    step_ids: dict[str, None] = {}
    statuses = []  # per run: step id -> status, or a mapped step's "3 completed, 1 cached"
    for run in chosen:
        graph = build_graph(run, store.step_runs(run.id), {}, now)
        step_ids.update(dict.fromkeys(n.id for n in graph.nodes))
        statuses.append({n.id: _status_text(n) for n in graph.nodes})
    return html(
        request, "compare.html", runs=chosen, diff=diff, params=params, param_rows=param_rows,
        differs=differs, missing=_MISSING, metric_rows=metric_table(chosen, metrics),
        series={"runs": [r.name for r in chosen], "metrics": series(chosen, metrics)},
        steps=list(step_ids), statuses=statuses,
        seconds=[run_seconds(r, now) for r in chosen], refs=refs,
    )  # fmt: skip


def _status_text(node: Node) -> str:
    if not node.mapped:
        return node.status
    return ", ".join(f"{n} {k}" for k, n in sorted(node.counts().items()))


class _Missing:
    def __repr__(self) -> str:
        return "—"


_MISSING = _Missing()
