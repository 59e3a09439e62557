"""Notebook HTML of the views (``_repr_html_`` delegates here to keep the view classes small)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bevel.client import format as fmt
from bevel.client import html as h
from bevel.client import metrics
from bevel.client.metrics import MetricSeries

if TYPE_CHECKING:
    from bevel.client.views import ArtifactView, PipelineView, RunView, StepView


def _artifact_ref(artifact: ArtifactView) -> h.Raw:
    return h.Raw(
        f"{h.esc(artifact.name)} v{artifact.version} "
        f"<code>{h.esc(fmt.short_id(artifact.id))}</code>"
    )


def runs_html(runs: Iterable[RunView]) -> str:
    """The run list: summary fields only, so rendering it costs no query."""
    rows = [
        (
            h.code(fmt.short_id(r.id)),
            r.name,
            r.pipeline,
            h.status(r.status.value),
            fmt.timestamp(r.created),
            fmt.duration(r.duration),
            fmt.value(r.params, 60) if r.params else "",
        )
        for r in runs
    ]
    return h.table(("id", "name", "pipeline", "status", "created", "duration", "params"), rows)


def run_html(run: RunView) -> str:
    counts = run.counts
    header = h.fields(
        [
            ("run", run.name),
            ("id", h.code(run.id)),
            ("pipeline", run.pipeline),
            ("status", h.status(run.status.value)),
            ("created", fmt.timestamp(run.created)),
            ("duration", fmt.duration(run.duration)),
            (
                "steps",
                f"{counts.total} ({counts.completed} ran, {counts.cached} cached, {counts.failed} failed)",
            ),
            ("params", fmt.value(run.params, 200) if run.params else "-"),
            ("stack", run.stack),
        ]
        + ([("metadata", fmt.value(run.metadata, 200))] if run.metadata else [])
        + ([("error", h.pre(run.error))] if run.error else [])
    )
    steps = h.table(
        ("step", "status", "duration", "outputs", "metrics"),
        [
            (
                s.step_id,
                h.status(s.status.value),
                fmt.duration(s.duration),
                ", ".join(s.outputs),
                ", ".join(f"{k}={fmt.metric(v)}" for k, v in s.metrics.items()),
            )
            for s in run.steps.values()
        ],
        caption="steps",
    )
    parts = [header, steps, *_metrics_table(run.metric_series)]
    rows = [
        (st.step_id, k, fmt.value(v, 200))
        for st in run.steps.values()
        for k, v in st.metadata.items()
    ]
    if rows:
        parts.append(h.table(("step", "key", "value"), rows, caption="metadata"))
    return h.section(*parts)


def _metrics_table(series: dict[str, MetricSeries]) -> list[str]:
    if not series:
        return []
    rows = [(k, fmt.metric(s.last), metrics.describe(s)) for k, s in series.items()]
    return [h.table(("metric", "value", "series"), rows, caption="metrics")]


def step_html(step: StepView) -> str:
    rows: list[tuple[str, object]] = [
        ("step", step.step_id),
        ("function", step.name),
        ("id", h.code(step.id)),
        ("status", h.status(step.status.value)),
        ("started", fmt.timestamp(step.started)),
        ("duration", fmt.duration(step.duration)),
        ("attempts", step.attempts),
        ("params", fmt.value(step.params, 200) if step.params else "-"),
    ]
    if step.cached_from:
        rows.append(("cached from", h.code(fmt.short_id(step.cached_from))))
    if step.error:
        rows.append(("error", h.pre(step.error)))
    if step.traceback:
        rows.append(("traceback", h.pre(step.traceback)))
    parts = [h.fields(rows)]
    io_rows = [
        ("in", n, _artifact_ref(a), fmt.type_name(a.type_ref)) for n, a in step.inputs.items()
    ]
    io_rows += [
        ("out", n, _artifact_ref(a), fmt.type_name(a.type_ref)) for n, a in step.outputs.items()
    ]
    if io_rows:
        parts.append(h.table(("", "name", "artifact", "type"), io_rows, caption="artifacts"))
    parts.extend(_metrics_table(step.metric_series))
    if step.metadata:
        rows = [(k, fmt.value(v, 200)) for k, v in step.metadata.items()]
        parts.append(h.table(("key", "value"), rows, caption="metadata"))
    return h.section(*parts)


def artifacts_html(artifacts: Iterable[ArtifactView]) -> str:
    rows = [
        (
            h.code(fmt.short_id(a.id)),
            a.name,
            a.version,
            fmt.type_name(a.type_ref),
            fmt.size(a.size),
            fmt.timestamp(a.created),
        )
        for a in artifacts
    ]
    return h.table(("id", "name", "version", "type", "size", "created"), rows)


def artifact_html(artifact: ArtifactView) -> str:
    header = h.fields(
        [
            ("artifact", f"{artifact.name} v{artifact.version}"),
            ("id", h.code(artifact.id)),
            ("type", h.code(artifact.type_ref)),
            ("materializer", h.code(f"{artifact.materializer} ({artifact.materializer_version})")),
            ("size", fmt.size(artifact.size)),
            ("content hash", h.code(artifact.content_hash)),
            ("uri", h.code(artifact.uri)),
            ("created", fmt.timestamp(artifact.created)),
        ]
    )
    parts = [header]
    if artifact.metadata:
        parts.append(
            h.table(
                ("key", "value"),
                [(k, fmt.value(v, 200)) for k, v in artifact.metadata.items()],
                caption="metadata",
            )
        )
    if artifact.visualizations:
        parts.append(
            h.table(
                ("name", "uri"),
                [(k, h.code(v)) for k, v in artifact.visualizations.items()],
                caption="visualizations",
            )
        )
    return h.section(*parts)


def pipelines_html(pipelines: Iterable[PipelineView]) -> str:
    rows = [(p.name, p.runs, fmt.timestamp(p.last_run), p.source) for p in pipelines]
    return h.table(("pipeline", "runs", "last run", "source"), rows)
