"""The read side of the SQL store: every function is one or two queries on a given connection.

Each query is written once, as portable SQL (see :mod:`bevel.metadata.sql.dialect`), and runs
on SQLite, PostgreSQL and MySQL/MariaDB alike. Filters, ordering and pages are pushed into SQL
(``bevel runs list`` is one query, never a loop over runs), multi-entity reads such as
:func:`step_io` join instead of looping (no N+1), and every lookup is served by an index (the
query plans are checked by ``tests/metadata/test_metadata_sql_plans.py``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bevel.errors import NotFound
from bevel.metadata.base import (
    ArtifactFilter,
    CacheHit,
    RunFilter,
    StepDetails,
    StepIO,
    check_run_sort,
)
from bevel.metadata.records import (
    ArtifactRecord,
    LineageEdge,
    MetricRecord,
    PipelineRecord,
    RunRecord,
    StepRunRecord,
    StepStatus,
)
from bevel.metadata.sql.db import Conn, Row
from bevel.metadata.sql.dialect import contains_pattern
from bevel.metadata.sql.tables import ARTIFACT, METRIC, RUN, STEP_RUN, from_json

MIN_PREFIX = 6
_HEX = re.compile(r"[0-9a-f]+")
_NAME_VERSION = re.compile(r"(?P<name>.+):(?P<version>\d+)")
_MAX_ROWS = 2**63 - 1  # SQL integers are 64-bit: a larger Python int cannot be bound
_NEXT_HEX = {**{str(i): str(i + 1) for i in range(9)}, "9": "a", **dict(zip("abcde", "bcdef"))}
_NEXT_HEX["f"] = "g"

_RUNS = f"SELECT {RUN.columns()} FROM runs"
_STEP_RUNS = f"SELECT {STEP_RUN.columns()} FROM step_runs"
_ARTIFACTS = f"SELECT {ARTIFACT.columns()} FROM artifacts"
_COMPLETED = StepStatus.COMPLETED.value


def run_not_found(what: str) -> NotFound:
    return NotFound(
        f"no run with id or name {what!r}", hint="`bevel runs list` shows the runs and their ids"
    )


def _page(limit: int, offset: int) -> tuple[str, dict[str, int]]:
    """A page clause; ``limit <= 0`` means no limit (so does one beyond what SQL can count)."""
    clause, params = "", {}
    if 0 < limit < _MAX_ROWS or offset > 0:
        clause = " LIMIT :limit"
        params["limit"] = limit if 0 < limit < _MAX_ROWS else _MAX_ROWS
    if offset > 0:
        clause += " OFFSET :offset"
        params["offset"] = min(offset, _MAX_ROWS)
    return clause, params


def _by_prefix(conn: Conn, select: str, prefix: str, what: str) -> Row | None:
    """The one row (of ``select``, whose first column is the id) whose id starts with
    ``prefix``; None if none; NotFound if ambiguous. A range on the primary key, not a
    ``LIKE``, so that it is an index lookup on every database."""
    if len(prefix) < MIN_PREFIX or not _HEX.fullmatch(prefix):
        return None
    high = prefix[:-1] + _NEXT_HEX[prefix[-1]]
    rows = conn.all(
        f"{select} WHERE id >= :low AND id < :high ORDER BY id LIMIT 3", low=prefix, high=high
    )
    rows = [r for r in rows if str(r[0]).startswith(prefix)]
    if len(rows) > 1:
        ids = ", ".join(r[0] for r in rows[:2]) + (", ..." if len(rows) > 2 else "")
        raise NotFound(
            f"{what} id prefix {prefix!r} is ambiguous: it matches {ids}",
            hint="give more characters of the id",
        )
    return rows[0] if rows else None


# --- runs ----------------------------------------------------------------------------------


def get_run(conn: Conn, id_or_name: str) -> RunRecord:
    rows = conn.all(f"{_RUNS} WHERE id = :ref OR name = :ref", ref=id_or_name)
    if rows:  # an exact id wins over a run that happens to be named like an id
        row = next((r for r in rows if r[0] == id_or_name), rows[0])
        return RUN.record(row, conn.dialect)
    found = _by_prefix(conn, _RUNS, id_or_name, "run")
    if found is None:
        raise run_not_found(id_or_name)
    return RUN.record(found, conn.dialect)


def list_runs(conn: Conn, flt: RunFilter) -> list[RunRecord]:
    where, params = [], {}
    if flt.pipeline is not None:
        where.append("pipeline = :pipeline")
        params["pipeline"] = flt.pipeline
    if flt.status is not None:
        where.append("status = :status")
        params["status"] = flt.status.value
    if flt.name:
        where.append("lower(name) LIKE lower(:name) ESCAPE '/'")
        params["name"] = contains_pattern(flt.name)
    column, descending = check_run_sort(flt.sort)
    way = " DESC" if descending else ""
    page, page_params = _page(flt.limit, flt.offset)
    sql = _RUNS + (" WHERE " + " AND ".join(where) if where else "")
    # the column comes from RUN_SORTS, never from the caller's text
    order = f"{column}{way}, id{way}" if column == "created" else f"{column}{way}, created DESC, id"
    sql += f" ORDER BY {order}" + page
    return RUN.records(conn.all(sql, {**params, **page_params}), conn.dialect)


def step_status_counts(conn: Conn, run_ids: list[str]) -> dict[str, dict[str, int]]:
    """How many step runs of each status each run has (one grouped query; the runs list of
    the dashboard shows them for a page of runs)."""
    if not run_ids:
        return {}
    marks = ", ".join(f":r{i}" for i in range(len(run_ids)))
    rows = conn.all(
        f"SELECT run_id, status, count(*) FROM step_runs WHERE run_id IN ({marks})"
        " GROUP BY run_id, status",
        {f"r{i}": rid for i, rid in enumerate(run_ids)},
    )
    counts: dict[str, dict[str, int]] = {rid: {} for rid in run_ids}
    for run_id, status, n in rows:
        counts[str(run_id)][str(status)] = int(n)
    return counts


def list_pipelines(conn: Conn) -> list[PipelineRecord]:
    rows = conn.all(
        "SELECT p.name, p.created, p.source, s.runs, s.last_run FROM pipelines p"
        " LEFT JOIN (SELECT pipeline, count(*) AS runs, max(created) AS last_run FROM runs"
        " GROUP BY pipeline) s ON s.pipeline = p.name ORDER BY p.name"
    )
    time = conn.dialect.time
    return [
        PipelineRecord(
            name=name,
            created=time(created),  # type: ignore[arg-type]
            last_run=time(last_run),
            runs=int(runs or 0),
            source=source,
        )
        for name, created, source, runs, last_run in rows
    ]


# --- step runs -----------------------------------------------------------------------------


def step_runs_of(conn: Conn, run_id: str) -> list[StepRunRecord]:
    rows = conn.all(f"{_STEP_RUNS} WHERE run_id = :run_id ORDER BY started, id", run_id=run_id)
    return STEP_RUN.records(rows, conn.dialect)


def get_step_run(conn: Conn, step_run_id: str) -> StepRunRecord:
    row = conn.first(f"{_STEP_RUNS} WHERE id = :id", id=step_run_id)
    if row is None:
        row = _by_prefix(conn, _STEP_RUNS, step_run_id, "step run")
    if row is None:
        raise NotFound(
            f"no step run with id {step_run_id!r}",
            hint="`bevel runs show <run>` lists a run's step runs and their ids",
        )
    return STEP_RUN.record(row, conn.dialect)


def find_cached(conn: Conn, cache_key: str) -> CacheHit | None:
    row = conn.first(
        f"{_STEP_RUNS} WHERE cache_key = :key AND status = :completed"
        " ORDER BY started DESC, id DESC LIMIT 1",
        key=cache_key,
        completed=_COMPLETED,
    )
    if row is None:
        return None
    step_run = STEP_RUN.record(row, conn.dialect)
    outputs = {
        name: artifact
        for _, direction, name, artifact in edges_with_artifacts(conn, [step_run.id])
        if direction == "out"
    }
    return CacheHit(step_run=step_run, outputs=outputs)


def previous_step_run(
    conn: Conn, pipeline: str, step_id: str, before: datetime
) -> StepRunRecord | None:
    row = conn.first(
        f"SELECT {STEP_RUN.columns('s')} FROM step_runs s JOIN runs r ON r.id = s.run_id"
        " WHERE r.pipeline = :pipeline AND s.step_id = :step_id AND s.status IN (:statuses)"
        " AND s.started < :before ORDER BY s.started DESC, s.id DESC LIMIT 1",
        pipeline=pipeline,
        step_id=step_id,
        statuses=[StepStatus.COMPLETED.value, StepStatus.CACHED.value],
        before=before,
    )
    return None if row is None else STEP_RUN.record(row, conn.dialect)


# --- artifacts & lineage -------------------------------------------------------------------


def get_artifact(conn: Conn, ref: str) -> ArtifactRecord:
    """By id, ``name:version``, unique id prefix (6+ hex chars) or name (its latest version)."""
    row = conn.first(f"{_ARTIFACTS} WHERE id = :id", id=ref)
    if row is None and (m := _NAME_VERSION.fullmatch(ref)):
        row = conn.first(
            f"{_ARTIFACTS} WHERE name = :name AND version = :version",
            name=m["name"],
            version=int(m["version"]),
        )
    if row is None:
        row = _by_prefix(conn, _ARTIFACTS, ref, "artifact")
    if row is None:
        row = conn.first(f"{_ARTIFACTS} WHERE name = :name ORDER BY version DESC LIMIT 1", name=ref)
    if row is None:
        raise NotFound(
            f"no artifact with id, name or name:version {ref!r}",
            hint="`bevel artifacts list` shows the artifacts, their ids and versions",
        )
    return ARTIFACT.record(row, conn.dialect)


def list_artifacts(conn: Conn, flt: ArtifactFilter) -> list[ArtifactRecord]:
    where, params = [], {}
    for column in ("name", "run_id", "content_hash"):
        value = getattr(flt, column)
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    page, page_params = _page(flt.limit, flt.offset)
    sql = _ARTIFACTS + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY created DESC, version DESC, id" + page
    return ARTIFACT.records(conn.all(sql, {**params, **page_params}), conn.dialect)


def lineage_edges(
    conn: Conn, step_run_id: str | None, artifact_id: str | None
) -> list[LineageEdge]:
    if step_run_id is None and artifact_id is None:
        raise ValueError("lineage() needs step_run_id or artifact_id")
    where, params = [], {}
    if step_run_id is not None:
        where.append("step_run_id = :step_run_id")
        params["step_run_id"] = step_run_id
    if artifact_id is not None:
        where.append("artifact_id = :artifact_id")
        params["artifact_id"] = artifact_id
    rows = conn.all(
        "SELECT step_run_id, artifact_id, name, direction FROM lineage WHERE "
        + " AND ".join(where)
        + " ORDER BY step_run_id, direction, name",
        params,
    )
    return [LineageEdge(*row) for row in rows]


def step_io(conn: Conn, run_id: str) -> StepIO:
    """``{step_run_id: {"in": {name: artifact}, "out": {name: artifact}}}`` in two queries."""
    ids = conn.scalars("SELECT id FROM step_runs WHERE run_id = :run_id", run_id=run_id)
    io: StepIO = {i: {"in": {}, "out": {}} for i in ids}
    if ids:
        for step_run_id, direction, name, artifact in edges_with_artifacts(conn, run_id=run_id):
            io[step_run_id][direction][name] = artifact
    return io


def step_details(conn: Conn, step_run_ids: list[str]) -> StepDetails:
    """Step runs by id with their edges, metrics and pipelines: three queries."""
    if not step_run_ids:
        return StepDetails([], {}, [], {})
    rows = conn.all(
        f"SELECT {STEP_RUN.columns('s')}, r.pipeline FROM step_runs s"
        " JOIN runs r ON r.id = s.run_id WHERE s.id IN (:ids) ORDER BY s.started, s.id",
        ids=step_run_ids,
    )
    records, pipelines = [], {}
    width = len(STEP_RUN.cols)
    for row in rows:
        record = STEP_RUN.record(row, conn.dialect)
        records.append(record)
        pipelines[record.run_id] = row[width]
    ids = [r.id for r in records]
    io: StepIO = {i: {"in": {}, "out": {}} for i in ids}
    for step_run_id, direction, name, artifact in edges_with_artifacts(conn, ids):
        io[step_run_id][direction][name] = artifact
    found = conn.all(
        f"SELECT {METRIC.columns()} FROM metrics WHERE step_run_id IN (:ids) ORDER BY id", ids=ids
    )
    return StepDetails(records, io, METRIC.records(found, conn.dialect), pipelines)


def edges_with_artifacts(
    conn: Conn, step_run_ids: list[str] | None = None, *, run_id: str | None = None
) -> list[tuple[str, str, str, ArtifactRecord]]:
    """(step run id, direction, edge name, artifact) for the given step runs, or a whole run."""
    select = (
        f"SELECT l.step_run_id, l.direction, l.name, {ARTIFACT.columns('a')}"
        " FROM lineage l JOIN artifacts a ON a.id = l.artifact_id"
    )
    if run_id is not None:
        rows = conn.all(
            f"{select} JOIN step_runs s ON s.id = l.step_run_id WHERE s.run_id = :run_id",
            run_id=run_id,
        )
    elif step_run_ids:
        rows = conn.all(f"{select} WHERE l.step_run_id IN (:ids)", ids=step_run_ids)
    else:
        return []
    return [(r[0], r[1], r[2], ARTIFACT.record(r, conn.dialect, 3)) for r in rows]


# --- metrics & metadata --------------------------------------------------------------------


def get_metadata(conn: Conn, entity: str, entity_id: str) -> dict[str, Any]:
    rows = conn.all(
        'SELECT "key", value FROM metadata_entries WHERE entity = :entity'
        ' AND entity_id = :entity_id ORDER BY "key"',
        entity=entity,
        entity_id=entity_id,
    )
    return {key: from_json(value) for key, value in rows}


def metadata_of(conn: Conn, entity: str, entity_ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = conn.all(
        'SELECT entity_id, "key", value FROM metadata_entries WHERE entity = :entity'
        ' AND entity_id IN (:ids) ORDER BY entity_id, "key"',
        entity=entity,
        ids=entity_ids,
    )
    found: dict[str, dict[str, Any]] = {}
    for entity_id, key, value in rows:
        found.setdefault(entity_id, {})[key] = from_json(value)
    return found


def latest_metrics(
    conn: Conn, run_ids: list[str], keys: list[str] | None
) -> dict[str, dict[str, float]]:
    """One query: a window function ranks each (run, key)'s points, newest first (SQLite 3.25+,
    PostgreSQL, MySQL 8 / MariaDB 10.2+ all have ROW_NUMBER)."""
    only_keys = ' AND "key" IN (:keys)' if keys is not None else ""
    rows = conn.all(
        'SELECT run_id, "key", value FROM (SELECT run_id, "key", value, ROW_NUMBER() OVER'
        ' (PARTITION BY run_id, "key" ORDER BY created DESC, COALESCE(step, -1) DESC, id DESC)'
        f" AS rn FROM metrics WHERE run_id IN (:run_ids){only_keys}) ranked"
        ' WHERE rn = 1 ORDER BY run_id, "key"',
        {"run_ids": run_ids, **({"keys": keys} if keys is not None else {})},
    )
    found: dict[str, dict[str, float]] = {}
    for run_id, key, value in rows:
        found.setdefault(run_id, {})[key] = float(value)
    return found


def metrics_of(conn: Conn, run_id: str) -> list[MetricRecord]:
    rows = conn.all(
        f"SELECT {METRIC.columns()} FROM metrics WHERE run_id = :run_id ORDER BY id",
        run_id=run_id,
    )
    return METRIC.records(rows, conn.dialect)
