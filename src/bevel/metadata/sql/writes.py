"""The write side of the SQL store: each function runs inside one transaction it is given.

The store (:mod:`bevel.metadata.sql.store`) opens the transaction (``BEGIN IMMEDIATE`` on
SQLite, so writers queue instead of failing) and retries it on a unique-key race on server
databases. Statements that run on every step are built once, at import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from bevel.errors import CacheHitLost, ConfigError, MetadataError
from bevel.metadata.records import (
    ArtifactRecord,
    MetadataEntry,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepRunRecord,
    StepStatus,
    step_status_sources,
)
from bevel.metadata.sql import status
from bevel.metadata.sql.convert import artifact_params, metric_params, run_params, step_run_params
from bevel.metadata.sql.reads import run_not_found
from bevel.metadata.sql.schema import (
    artifacts,
    lineage,
    metadata_entries,
    metrics,
    model_artifacts,
    pipelines,
    runs,
    step_runs,
)

ENTITIES = ("run", "step_run", "artifact")
T = TypeVar("T")

_INSERT_STEP = insert(step_runs)
# Ending a step run: conditional on the status it may end from (one today: RUNNING).
_UPDATE_STEP = update(step_runs).where(
    step_runs.c.id == bindparam("_id"), step_runs.c.status == bindparam("_from")
)
_INSERT_ARTIFACT = insert(artifacts)
_INSERT_LINEAGE = insert(lineage)
_INSERT_METRIC = insert(metrics)
_INSERT_METADATA = insert(metadata_entries)
_MAX_VERSIONS = (
    select(artifacts.c.name, func.max(artifacts.c.version))
    .where(artifacts.c.name.in_(bindparam("names", expanding=True)))
    .group_by(artifacts.c.name)
)


def create_run(conn: Connection, run: RunRecord) -> None:
    """Insert ``run``, and its pipeline if this is the pipeline's first run."""
    taken = conn.execute(select(runs.c.id).where(runs.c.name == run.name)).first()
    if taken is not None:
        raise ConfigError(
            f"a run named {run.name!r} already exists (id {taken[0]})",
            hint=f"pick another name, or let bevel number it: --name '{run.name}-{{n}}' "
            f"(or run_name: {run.name}-{{n}} in the run config; {{date}} and {{time}} work "
            f"too), or delete the old run: bevel runs delete {run.name}",
        )
    source = str(run.plan.get("source") or "")
    known = conn.execute(select(pipelines.c.source).where(pipelines.c.name == run.pipeline)).first()
    if known is None:
        conn.execute(
            insert(pipelines), {"name": run.pipeline, "created": run.created, "source": source}
        )
    elif source and known[0] != source:
        conn.execute(
            update(pipelines).where(pipelines.c.name == run.pipeline).values(source=source)
        )
    conn.execute(insert(runs), run_params(run))


def start_step_run(conn: Connection, sr: StepRunRecord) -> None:
    """Insert a step run, only into a RUNNING run."""
    status.require_running_run(conn, sr.run_id, f"start step {sr.step_id!r}")
    conn.execute(_INSERT_STEP, step_run_params(sr))


def finish_step_run(conn: Connection, completion: StepCompletion) -> list[ArtifactRecord]:
    """Write a step's whole outcome; returns its new artifacts with their versions assigned.

    Only into a RUNNING run, and only as a change the transition table allows (a step run that
    another process already ended stays as it is: StatusConflict, and nothing of this outcome
    is recorded). A step run that never started (CACHED, SKIPPED, ...) is inserted.

    Ending a RUNNING step run needs no look at its run: an ended run has no RUNNING step run
    (ending a run ends them in the same transaction), so the conditional UPDATE alone refuses
    a step of an ended run. Inserting checks the run under a shared lock.

    Versions are ``max(version for that name) + 1``, read in this same transaction. On SQLite the
    write lock makes that race-free; on server databases two writers can pick the same number,
    and the loser's unique-key violation makes the store retry the whole transaction.
    """
    sr = completion.step_run
    target = StepStatus(sr.status)
    sources = step_status_sources(target)
    updated = 0
    if sources:  # a step run that may exist (RUNNING): end it, only if it still runs
        params = step_run_params(sr)
        params["_id"] = params.pop("id")
        for source in sources:
            params["_from"] = source.value
            updated = conn.execute(_UPDATE_STEP, params).rowcount
            if updated:
                break
        if not updated:
            conflict = status.step_conflict(conn, sr)
            if conflict is not None:
                raise conflict
    if not updated:  # never started (CACHED, SKIPPED, ...): insert it, only into a RUNNING run
        status.require_running_run(conn, sr.run_id, f"record step {sr.step_id!r} as {target.value}")
        conn.execute(_INSERT_STEP, step_run_params(sr))
    if sr.cached_from:
        _lock_reused(
            conn, sr.cached_from, [artifact_id for _, artifact_id in completion.reused_outputs]
        )

    saved = _insert_artifacts(conn, sr, completion.outputs)
    edges = [
        {"step_run_id": sr.id, "direction": "in", "name": name, "artifact_id": artifact_id}
        for name, artifact_id in completion.inputs
    ]
    edges += [
        {"step_run_id": sr.id, "direction": "out", "name": a.output_name, "artifact_id": a.id}
        for a in saved
    ]
    edges += [
        {"step_run_id": sr.id, "direction": "out", "name": name, "artifact_id": artifact_id}
        for name, artifact_id in completion.reused_outputs
    ]
    if edges:
        conn.execute(_INSERT_LINEAGE, edges)
    if completion.metrics:
        conn.execute(_INSERT_METRIC, [metric_params(m) for m in completion.metrics])
    if sr.cached_from:
        _copy_metrics(conn, sr)
    if completion.metadata:
        log_metadata(conn, completion.metadata)
    return saved


def _lock_reused(conn: Connection, step_run_id: str, artifact_ids: list[str]) -> None:
    """Check that a cache hit's step run and outputs still exist, and share-lock them until this
    transaction ends, so a concurrent ``delete_run`` waits and then keeps them (they are used
    elsewhere now). CacheHitLost when one was deleted since the hit was found."""
    kept = conn.execute(
        select(step_runs.c.id).where(step_runs.c.id == step_run_id).with_for_update(read=True)
    ).first()
    found = set(
        conn.execute(
            select(artifacts.c.id)
            .where(artifacts.c.id.in_(artifact_ids))
            .with_for_update(read=True, key_share=True)
        ).scalars()
    )
    if kept is None or found != set(artifact_ids):
        raise CacheHitLost(
            f"the cached step run {step_run_id} or its outputs were deleted meanwhile",
            hint="the step is computed again instead",
        )


def _copy_metrics(conn: Connection, sr: StepRunRecord) -> None:
    """A cached step run reports the metrics of the run it reused: same outputs, same scores,
    so runs stay comparable whether or not their steps came from the cache."""
    source = conn.execute(select(metrics).where(metrics.c.step_run_id == sr.cached_from))
    rows = [{**row._asdict(), "run_id": sr.run_id, "step_run_id": sr.id} for row in source]
    for row in rows:
        row.pop("id", None)  # a surrogate key, if the table has one
    if rows:
        conn.execute(_INSERT_METRIC, rows)


def _insert_artifacts(
    conn: Connection, sr: StepRunRecord, outputs: Sequence[ArtifactRecord]
) -> list[ArtifactRecord]:
    if not outputs:
        return []
    names = sorted({a.name for a in outputs})
    latest: dict[str, int] = {
        name: version for name, version in conn.execute(_MAX_VERSIONS, {"names": names})
    }
    saved = []
    for a in outputs:
        latest[a.name] = latest.get(a.name, 0) + 1
        saved.append(
            replace(
                a,
                version=latest[a.name],
                producer_step_run_id=a.producer_step_run_id or sr.id,
                run_id=a.run_id or sr.run_id,
            )
        )
    conn.execute(_INSERT_ARTIFACT, [artifact_params(a) for a in saved])
    return saved


def log_metadata(conn: Connection, entries: Iterable[MetadataEntry]) -> None:
    """Upsert entries: logging a key again replaces its value (the last entry for a key wins)."""
    latest: dict[tuple[str, str, str], MetadataEntry] = {}
    for e in entries:
        if e.entity not in ENTITIES:
            raise ConfigError(
                f"cannot log metadata on {e.entity!r}",
                hint=f"metadata goes on one of: {', '.join(ENTITIES)}",
            )
        latest[(e.entity, e.entity_id, e.key)] = e
    if not latest:
        return
    by_owner: dict[tuple[str, str], list[str]] = {}
    for entity, entity_id, key in latest:
        by_owner.setdefault((entity, entity_id), []).append(key)
    for (entity, entity_id), keys in by_owner.items():
        conn.execute(
            delete(metadata_entries).where(
                metadata_entries.c.entity == entity,
                metadata_entries.c.entity_id == entity_id,
                metadata_entries.c.key.in_(keys),
            )
        )
    conn.execute(
        _INSERT_METADATA,
        [
            {
                "entity": e.entity,
                "entity_id": e.entity_id,
                "key": e.key,
                "value": e.value,
                "created": e.created,
            }
            for e in latest.values()
        ],
    )


def delete_run(conn: Connection, run_id: str, *, force: bool) -> list[str]:
    """Delete a run and what belongs to it; return the uris whose files may now be removed.

    Artifacts the run produced are deleted with it, except those that other runs' lineage
    still points at (a later run consumed them, or a CACHED step run reused them): those stay,
    detached (``run_id`` and ``producer_step_run_id`` cleared), so the other runs stay loadable;
    a detached artifact is deleted with the last run that references it.
    A uri is returned only when no remaining artifact row records it (content-addressed
    artifacts can share files).
    """
    row = conn.execute(select(runs.c.status).where(runs.c.id == run_id)).first()
    if row is None:
        raise run_not_found(run_id)
    if row[0] == RunStatus.RUNNING and not force:
        raise MetadataError(
            f"run {run_id} is still running; refusing to delete it",
            hint="wait for it to end, or pass force=True (bevel runs delete --force) if its"
            " process is dead",
        )
    own_steps = select(step_runs.c.id).where(step_runs.c.run_id == run_id)
    touched = select(lineage.c.artifact_id).where(lineage.c.step_run_id.in_(own_steps))
    # Lock what this deletion may remove before deciding what other runs still use: a cache hit
    # recording a reuse of these rows right now holds a share lock on them (see
    # _lock_reused), so this waits for it and then sees its lineage (PostgreSQL, MySQL; SQLite
    # serializes write transactions anyway).
    conn.execute(
        select(artifacts.c.id)
        .where(
            or_(
                artifacts.c.run_id == run_id,
                and_(artifacts.c.run_id.is_(None), artifacts.c.id.in_(touched)),
            )
        )
        .with_for_update()
    ).all()
    used_elsewhere = (
        select(lineage.c.artifact_id)
        .join(step_runs, step_runs.c.id == lineage.c.step_run_id)
        .where(step_runs.c.run_id != run_id)
    )
    # A model version keeps the artifacts linked to it (its model, its data, its evaluation).
    linked = select(model_artifacts.c.artifact_id)
    conn.execute(
        update(artifacts)
        .where(
            artifacts.c.run_id == run_id,
            or_(artifacts.c.id.in_(used_elsewhere), artifacts.c.id.in_(linked)),
        )
        .values(run_id=None, producer_step_run_id=None)
    )
    # Besides its own artifacts, a run can hold the last reference to a detached artifact
    # (one whose producing run was deleted earlier): those go now too.
    doomed = conn.execute(
        select(artifacts.c.id, artifacts.c.uri).where(
            or_(
                artifacts.c.run_id == run_id,
                and_(
                    artifacts.c.run_id.is_(None),
                    artifacts.c.id.in_(touched),
                    artifacts.c.id.not_in(used_elsewhere),
                    artifacts.c.id.not_in(linked),
                ),
            )
        )
    ).all()
    doomed_ids = [r[0] for r in doomed]

    me = metadata_entries.c
    conn.execute(delete(metadata_entries).where(me.entity == "run", me.entity_id == run_id))
    conn.execute(
        delete(metadata_entries).where(me.entity == "step_run", me.entity_id.in_(own_steps))
    )
    for chunk in _chunks(doomed_ids):
        conn.execute(
            delete(metadata_entries).where(me.entity == "artifact", me.entity_id.in_(chunk))
        )
    conn.execute(delete(lineage).where(lineage.c.step_run_id.in_(own_steps)))
    conn.execute(delete(metrics).where(metrics.c.run_id == run_id))
    for chunk in _chunks(doomed_ids):
        conn.execute(delete(artifacts).where(artifacts.c.id.in_(chunk)))
    conn.execute(delete(step_runs).where(step_runs.c.run_id == run_id))
    conn.execute(delete(runs).where(runs.c.id == run_id))

    uris = sorted({r[1] for r in doomed})
    still_used: set[str] = set()
    for chunk in _chunks(uris):
        still_used.update(
            conn.execute(select(artifacts.c.uri).where(artifacts.c.uri.in_(chunk))).scalars()
        )
    return [u for u in uris if u not in still_used]


def _chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Slices small enough for any database's limit on bound parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
