"""The read side of the SQL store: every function is one or two queries on a given connection.

Filters, ordering and pages are pushed into SQL (``bevel runs list`` is one query, never a loop
over runs), and multi-entity reads such as :func:`step_io` join instead of looping (no N+1).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.engine import Connection

from bevel.errors import NotFound
from bevel.metadata.base import ArtifactFilter, CacheHit, RunFilter, StepDetails, StepIO
from bevel.metadata.records import (
    ArtifactRecord,
    LineageEdge,
    MetricRecord,
    PipelineRecord,
    RunRecord,
    StepRunRecord,
    StepStatus,
)
from bevel.metadata.sql.convert import (
    artifact_record,
    metric_record,
    run_record,
    step_run_record,
)
from bevel.metadata.sql.schema import (
    artifacts,
    lineage,
    metadata_entries,
    metrics,
    pipelines,
    runs,
    step_runs,
)

MIN_PREFIX = 6
_HEX = re.compile(r"[0-9a-f]+")
_NAME_VERSION = re.compile(r"(?P<name>.+):(?P<version>\d+)")


def run_not_found(what: str) -> NotFound:
    return NotFound(
        f"no run with id or name {what!r}", hint="`bevel runs list` shows the runs and their ids"
    )


_MAX_ROWS = 2**63 - 1  # SQL integers are 64-bit: a larger Python int cannot be bound


def _page(query: Select[Any], limit: int, offset: int) -> Select[Any]:
    """Apply a page; ``limit <= 0`` means no limit (so does one beyond what SQL can count)."""
    if 0 < limit < _MAX_ROWS:
        query = query.limit(limit)
    return query.offset(min(offset, _MAX_ROWS)) if offset > 0 else query


def _by_prefix(conn: Connection, query: Select[Any], id_col: Any, prefix: str, what: str) -> Any:
    """The one row whose id starts with ``prefix``; None if none; NotFound if ambiguous."""
    if len(prefix) < MIN_PREFIX or not _HEX.fullmatch(prefix):
        return None
    rows = conn.execute(query.where(id_col.startswith(prefix)).limit(3)).mappings().all()
    if len(rows) > 1:
        ids = ", ".join(r["id"] for r in rows[:2]) + (", ..." if len(rows) > 2 else "")
        raise NotFound(
            f"{what} id prefix {prefix!r} is ambiguous: it matches {ids}",
            hint="give more characters of the id",
        )
    return rows[0] if rows else None


# --- runs ----------------------------------------------------------------------------------


def get_run(conn: Connection, id_or_name: str) -> RunRecord:
    rows = (
        conn.execute(select(runs).where(or_(runs.c.id == id_or_name, runs.c.name == id_or_name)))
        .mappings()
        .all()
    )
    if rows:  # an exact id wins over a run that happens to be named like an id
        return run_record(next((r for r in rows if r["id"] == id_or_name), rows[0]))
    row = _by_prefix(conn, select(runs), runs.c.id, id_or_name, "run")
    if row is None:
        raise run_not_found(id_or_name)
    return run_record(row)


def list_runs(conn: Connection, flt: RunFilter) -> list[RunRecord]:
    query = select(runs)
    if flt.pipeline is not None:
        query = query.where(runs.c.pipeline == flt.pipeline)
    if flt.status is not None:
        query = query.where(runs.c.status == flt.status.value)
    if flt.name:
        query = query.where(runs.c.name.icontains(flt.name, autoescape=True))
    query = query.order_by(runs.c.created.desc(), runs.c.id.desc())
    return [run_record(r) for r in conn.execute(_page(query, flt.limit, flt.offset)).mappings()]


def list_pipelines(conn: Connection) -> list[PipelineRecord]:
    stats = (
        select(
            runs.c.pipeline,
            func.count(runs.c.id).label("runs"),
            func.max(runs.c.created).label("last_run"),
        )
        .group_by(runs.c.pipeline)
        .subquery()
    )
    query = (
        select(pipelines, stats.c.runs, stats.c.last_run)
        .outerjoin(stats, stats.c.pipeline == pipelines.c.name)
        .order_by(pipelines.c.name)
    )
    return [
        PipelineRecord(
            name=r["name"],
            created=r["created"],
            last_run=r["last_run"],
            runs=r["runs"] or 0,
            source=r["source"],
        )
        for r in conn.execute(query).mappings()
    ]


# --- step runs -----------------------------------------------------------------------------


def step_runs_of(conn: Connection, run_id: str) -> list[StepRunRecord]:
    query = (
        select(step_runs)
        .where(step_runs.c.run_id == run_id)
        .order_by(step_runs.c.started, step_runs.c.id)
    )
    return [step_run_record(r) for r in conn.execute(query).mappings()]


def get_step_run(conn: Connection, step_run_id: str) -> StepRunRecord:
    row = conn.execute(select(step_runs).where(step_runs.c.id == step_run_id)).mappings().first()
    if row is None:
        row = _by_prefix(conn, select(step_runs), step_runs.c.id, step_run_id, "step run")
    if row is None:
        raise NotFound(
            f"no step run with id {step_run_id!r}",
            hint="`bevel runs show <run>` lists a run's step runs and their ids",
        )
    return step_run_record(row)


def find_cached(conn: Connection, cache_key: str) -> CacheHit | None:
    query = (
        select(step_runs)
        .where(step_runs.c.cache_key == cache_key, step_runs.c.status == StepStatus.COMPLETED.value)
        .order_by(step_runs.c.started.desc(), step_runs.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    outputs = {
        name: artifact
        for _, direction, name, artifact in _edges_with_artifacts(conn, [row["id"]])
        if direction == "out"
    }
    return CacheHit(step_run=step_run_record(row), outputs=outputs)


def previous_step_run(
    conn: Connection, pipeline: str, step_id: str, before: datetime
) -> StepRunRecord | None:
    query = (
        select(step_runs)
        .join(runs, runs.c.id == step_runs.c.run_id)
        .where(
            runs.c.pipeline == pipeline,
            step_runs.c.step_id == step_id,
            step_runs.c.status.in_([StepStatus.COMPLETED.value, StepStatus.CACHED.value]),
            step_runs.c.started < before,
        )
        .order_by(step_runs.c.started.desc(), step_runs.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else step_run_record(row)


# --- artifacts & lineage -------------------------------------------------------------------


def get_artifact(conn: Connection, ref: str) -> ArtifactRecord:
    """By id, ``name:version``, unique id prefix (6+ hex chars) or name (its latest version)."""
    row = conn.execute(select(artifacts).where(artifacts.c.id == ref)).mappings().first()
    if row is None and (m := _NAME_VERSION.fullmatch(ref)):
        row = (
            conn.execute(
                select(artifacts).where(
                    artifacts.c.name == m["name"], artifacts.c.version == int(m["version"])
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        row = _by_prefix(conn, select(artifacts), artifacts.c.id, ref, "artifact")
    if row is None:
        row = (
            conn.execute(
                select(artifacts)
                .where(artifacts.c.name == ref)
                .order_by(artifacts.c.version.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(
            f"no artifact with id, name or name:version {ref!r}",
            hint="`bevel artifacts list` shows the artifacts, their ids and versions",
        )
    return artifact_record(row)


def list_artifacts(conn: Connection, flt: ArtifactFilter) -> list[ArtifactRecord]:
    query = select(artifacts)
    if flt.name is not None:
        query = query.where(artifacts.c.name == flt.name)
    if flt.run_id is not None:
        query = query.where(artifacts.c.run_id == flt.run_id)
    if flt.content_hash is not None:
        query = query.where(artifacts.c.content_hash == flt.content_hash)
    query = query.order_by(artifacts.c.created.desc(), artifacts.c.version.desc(), artifacts.c.id)
    return [
        artifact_record(r) for r in conn.execute(_page(query, flt.limit, flt.offset)).mappings()
    ]


def lineage_edges(
    conn: Connection, step_run_id: str | None, artifact_id: str | None
) -> list[LineageEdge]:
    if step_run_id is None and artifact_id is None:
        raise ValueError("lineage() needs step_run_id or artifact_id")
    query = select(lineage)
    if step_run_id is not None:
        query = query.where(lineage.c.step_run_id == step_run_id)
    if artifact_id is not None:
        query = query.where(lineage.c.artifact_id == artifact_id)
    query = query.order_by(lineage.c.step_run_id, lineage.c.direction, lineage.c.name)
    return [
        LineageEdge(r["step_run_id"], r["artifact_id"], r["name"], r["direction"])
        for r in conn.execute(query).mappings()
    ]


def step_io(conn: Connection, run_id: str) -> dict[str, dict[str, dict[str, ArtifactRecord]]]:
    """``{step_run_id: {"in": {name: artifact}, "out": {name: artifact}}}`` in two queries."""
    ids = list(conn.execute(select(step_runs.c.id).where(step_runs.c.run_id == run_id)).scalars())
    io: dict[str, dict[str, dict[str, ArtifactRecord]]] = {i: {"in": {}, "out": {}} for i in ids}
    if ids:
        for step_run_id, direction, name, artifact in _edges_with_artifacts(conn, run_id=run_id):
            io[step_run_id][direction][name] = artifact
    return io


def step_details(conn: Connection, step_run_ids: list[str]) -> StepDetails:
    """Step runs by id with their edges, metrics and pipelines: three queries."""
    if not step_run_ids:
        return StepDetails([], {}, [], {})
    rows = conn.execute(
        select(step_runs, runs.c.pipeline.label("run_pipeline"))
        .join(runs, runs.c.id == step_runs.c.run_id)
        .where(step_runs.c.id.in_(step_run_ids))
        .order_by(step_runs.c.started, step_runs.c.id)
    ).mappings()
    records, pipelines = [], {}
    for row in rows:
        records.append(step_run_record(row))
        pipelines[row["run_id"]] = row["run_pipeline"]
    ids = [r.id for r in records]
    io: StepIO = {i: {"in": {}, "out": {}} for i in ids}
    for step_run_id, direction, name, artifact in _edges_with_artifacts(conn, ids):
        io[step_run_id][direction][name] = artifact
    found = conn.execute(
        select(metrics).where(metrics.c.step_run_id.in_(ids)).order_by(metrics.c.id)
    ).mappings()
    return StepDetails(records, io, [metric_record(r) for r in found], pipelines)


def _edges_with_artifacts(
    conn: Connection, step_run_ids: list[str] | None = None, *, run_id: str | None = None
) -> list[tuple[str, str, str, ArtifactRecord]]:
    """(step run id, direction, edge name, artifact) for the given step runs, or a whole run."""
    query = select(
        lineage.c.step_run_id.label("edge_step_run_id"),
        lineage.c.direction.label("edge_direction"),
        lineage.c.name.label("edge_name"),
        artifacts,
    ).join(artifacts, artifacts.c.id == lineage.c.artifact_id)
    if run_id is not None:
        query = query.join(step_runs, step_runs.c.id == lineage.c.step_run_id).where(
            step_runs.c.run_id == run_id
        )
    else:
        query = query.where(lineage.c.step_run_id.in_(step_run_ids or []))
    return [
        (r["edge_step_run_id"], r["edge_direction"], r["edge_name"], artifact_record(r))
        for r in conn.execute(query).mappings()
    ]


# --- metrics & metadata --------------------------------------------------------------------


def get_metadata(conn: Connection, entity: str, entity_id: str) -> dict[str, Any]:
    query = (
        select(metadata_entries.c.key, metadata_entries.c.value)
        .where(metadata_entries.c.entity == entity, metadata_entries.c.entity_id == entity_id)
        .order_by(metadata_entries.c.key)
    )
    return {key: value for key, value in conn.execute(query)}


def metadata_of(conn: Connection, entity: str, entity_ids: list[str]) -> dict[str, dict[str, Any]]:
    query = (
        select(metadata_entries.c.entity_id, metadata_entries.c.key, metadata_entries.c.value)
        .where(metadata_entries.c.entity == entity, metadata_entries.c.entity_id.in_(entity_ids))
        .order_by(metadata_entries.c.entity_id, metadata_entries.c.key)
    )
    found: dict[str, dict[str, Any]] = {}
    for entity_id, key, value in conn.execute(query):
        found.setdefault(entity_id, {})[key] = value
    return found


def latest_metrics(
    conn: Connection, run_ids: list[str], keys: list[str] | None
) -> dict[str, dict[str, float]]:
    """One query: a window function ranks each (run, key)'s points, newest first (SQLite 3.25+,
    PostgreSQL, MySQL 8 / MariaDB 10.2+ all have ROW_NUMBER)."""
    rank = (
        func.row_number()
        .over(
            partition_by=(metrics.c.run_id, metrics.c.key),
            order_by=(
                metrics.c.created.desc(),
                func.coalesce(metrics.c.step, -1).desc(),
                metrics.c.id.desc(),
            ),
        )
        .label("rank")
    )
    ranked = select(metrics.c.run_id, metrics.c.key, metrics.c.value, rank).where(
        metrics.c.run_id.in_(run_ids)
    )
    if keys is not None:
        ranked = ranked.where(metrics.c.key.in_(keys))
    sub = ranked.subquery()
    query = select(sub.c.run_id, sub.c.key, sub.c.value).where(sub.c.rank == 1)
    found: dict[str, dict[str, float]] = {}
    for run_id, key, value in conn.execute(query.order_by(sub.c.run_id, sub.c.key)):
        found.setdefault(run_id, {})[key] = float(value)
    return found


def metrics_of(conn: Connection, run_id: str) -> list[MetricRecord]:
    query = select(metrics).where(metrics.c.run_id == run_id).order_by(metrics.c.id)
    return [metric_record(r) for r in conn.execute(query).mappings()]
