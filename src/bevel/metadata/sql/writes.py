"""The write side of the SQL store: each function runs inside one transaction it is given.

The store (:mod:`bevel.metadata.sql.store`) opens the transaction (``BEGIN IMMEDIATE`` on
SQLite, so writers queue instead of failing) and retries it on a unique-key race on server
databases. Queries are portable SQL text (:mod:`bevel.metadata.sql.dialect`), built once at
import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from bevel._dataclass import replace
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
from bevel.metadata.sql.db import Conn
from bevel.metadata.sql.reads import run_not_found
from bevel.metadata.sql.tables import ARTIFACT, RUN, STEP_RUN, quoted, to_json

ENTITIES = ("run", "step_run", "artifact")
T = TypeVar("T")

_INSERT_RUN = RUN.insert()
_INSERT_STEP = STEP_RUN.insert()
# Ending a step run: conditional on the status it may end from (one today: RUNNING). What was
# fixed when it started (which run and step, when, and the cache key with its ingredients) is
# not written again: a database rewrites the index entries of every column an UPDATE sets, so
# leaving them out spares SQLite two index pages per step (WAL frames at commit), and the
# largest JSON value of the row is not encoded twice.
_FIXED_AT_START = frozenset(
    {"id", "run_id", "step_id", "step_name", "started", "cache_key", "cache_ingredients"}
)
_UPDATE_STEP = (
    "UPDATE step_runs SET "
    + ", ".join(f"{quoted(c)} = :{c}" for c in STEP_RUN.cols if c not in _FIXED_AT_START)
    + " WHERE id = :id AND status = :from_status"
)
_INSERT_ARTIFACT = ARTIFACT.insert()
_INSERT_LINEAGE = (
    "INSERT INTO lineage (step_run_id, direction, name, artifact_id)"
    " VALUES (:step_run_id, :direction, :name, :artifact_id)"
)
_INSERT_METRIC = (
    'INSERT INTO metrics (run_id, step_run_id, "key", value, step, created)'
    " VALUES (:run_id, :step_run_id, :key, :value, :step, :created)"
)
_METADATA_COLUMNS = ("entity", "entity_id", "key", "value", "created")


def create_run(conn: Conn, run: RunRecord) -> None:
    """Insert ``run``, and its pipeline if this is the pipeline's first run."""
    taken = conn.first("SELECT id FROM runs WHERE name = :name", name=run.name)
    if taken is not None:
        raise ConfigError(
            f"a run named {run.name!r} already exists (id {taken[0]})",
            hint=f"pick another name, or let bevel number it: --name '{run.name}-{{n}}' "
            f"(or run_name: {run.name}-{{n}} in the run config; {{date}} and {{time}} work "
            f"too), or delete the old run: bevel runs delete {run.name}",
        )
    source = str(run.plan.get("source") or "")
    known = conn.first("SELECT source FROM pipelines WHERE name = :name", name=run.pipeline)
    if known is None:
        conn.run(
            "INSERT INTO pipelines (name, created, source) VALUES (:name, :created, :source)",
            name=run.pipeline,
            created=run.created,
            source=source,
        )
    elif source and known[0] != source:
        conn.run(
            "UPDATE pipelines SET source = :source WHERE name = :name",
            source=source,
            name=run.pipeline,
        )
    conn.run(_INSERT_RUN, RUN.params(run))


def start_step_run(conn: Conn, sr: StepRunRecord) -> None:
    """Insert a step run, only into a RUNNING run."""
    status.require_running_run(conn, sr.run_id, f"start step {sr.step_id!r}")
    conn.run(_INSERT_STEP, STEP_RUN.params(sr))


def finish_step_run(conn: Conn, completion: StepCompletion) -> list[ArtifactRecord]:
    """Write a step's whole outcome; returns its new artifacts with their versions assigned.

    Only into a RUNNING run, and only as a change the transition table allows (a step run that
    another process already ended stays as it is: StatusConflict, and nothing of this outcome
    is recorded). A step run that never started (CACHED, SKIPPED, ...) is inserted, unless one
    runs under its id (StatusConflict: a worker started it just as the driver gave it up).

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
    ending = {**STEP_RUN.params(sr, skip=_FIXED_AT_START), "id": sr.id} if sources else {}
    for source in sources:  # a step run that may exist (RUNNING): end it, only if it still runs
        updated = conn.run(_UPDATE_STEP, {**ending, "from_status": source.value})
        if updated:
            break
    if not updated:  # the step run exists but cannot change (or, being a status that is
        # never reached from RUNNING, must not replace the RUNNING one under the same id)
        conflict = status.step_conflict(conn, sr)
        if conflict is not None:
            raise conflict
    if not updated:  # never started (CACHED, SKIPPED, ...): insert it, only into a RUNNING run
        status.require_running_run(conn, sr.run_id, f"record step {sr.step_id!r} as {target.value}")
        conn.run(_INSERT_STEP, STEP_RUN.params(sr))
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
    conn.many(_INSERT_LINEAGE, edges)
    conn.many(
        _INSERT_METRIC,
        [
            {
                "run_id": m.run_id,
                "step_run_id": m.step_run_id,
                "key": m.key,
                "value": float(m.value),
                "step": m.step,
                "created": m.created,
            }
            for m in completion.metrics
        ],
    )
    if sr.cached_from:
        _copy_metrics(conn, sr)
    if completion.metadata:
        log_metadata(conn, completion.metadata)
    return saved


def _lock_reused(conn: Conn, step_run_id: str, artifact_ids: list[str]) -> None:
    """Check that a cache hit's step run and outputs still exist, and share-lock them until this
    transaction ends, so a concurrent ``delete_run`` waits and then keeps them (they are used
    elsewhere now). CacheHitLost when one was deleted since the hit was found."""
    kept = conn.first("SELECT id FROM step_runs WHERE id = :id {for_share}", id=step_run_id)
    found = set(
        conn.scalars(
            "SELECT id FROM artifacts WHERE id IN (:ids) {for_key_share}", ids=artifact_ids
        )
        if artifact_ids
        else []
    )
    if kept is None or found != set(artifact_ids):
        raise CacheHitLost(
            f"the cached step run {step_run_id} or its outputs were deleted meanwhile",
            hint="the step is computed again instead",
        )


def _copy_metrics(conn: Conn, sr: StepRunRecord) -> None:
    """A cached step run reports the metrics of the run it reused: same outputs, same scores,
    so runs stay comparable whether or not their steps came from the cache."""
    rows = conn.all(
        'SELECT "key", value, step, created FROM metrics WHERE step_run_id = :source ORDER BY id',
        source=sr.cached_from,
    )
    conn.many(
        _INSERT_METRIC,
        [
            {
                "run_id": sr.run_id,
                "step_run_id": sr.id,
                "key": key,
                "value": value,
                "step": step,
                "created": conn.dialect.time(created),
            }
            for key, value, step, created in rows
        ],
    )


def _insert_artifacts(
    conn: Conn, sr: StepRunRecord, outputs: Sequence[ArtifactRecord]
) -> list[ArtifactRecord]:
    if not outputs:
        return []
    # max() of one name is the last entry of the (name, version) index, one seek on every
    # database; a GROUP BY over an IN list of names read every version of each name instead
    # (a 10-step run on a store of 10,000 runs spent 2-7 ms a step there).
    latest: dict[str, int] = {}
    for name in sorted({a.name for a in outputs}):
        row = conn.first("SELECT max(version) FROM artifacts WHERE name = :name", name=name)
        latest[name] = row[0] if row and row[0] is not None else 0
    saved = []
    for a in outputs:
        latest[a.name] += 1
        saved.append(
            replace(
                a,
                version=latest[a.name],
                producer_step_run_id=a.producer_step_run_id or sr.id,
                run_id=a.run_id or sr.run_id,
            )
        )
    conn.many(_INSERT_ARTIFACT, [ARTIFACT.params(a) for a in saved])
    return saved


def log_metadata(conn: Conn, entries: Iterable[MetadataEntry]) -> None:
    """Upsert entries: logging a key again replaces its value (the last entry for a key wins)."""
    latest: dict[tuple[str, str, str], MetadataEntry] = {}
    for e in entries:
        if e.entity not in ENTITIES:
            raise ConfigError(
                f"cannot log metadata on {e.entity!r}",
                hint=f"metadata goes on one of: {', '.join(ENTITIES)}",
            )
        latest[(e.entity, e.entity_id, e.key)] = e
    sql = conn.dialect.upsert("metadata_entries", _METADATA_COLUMNS, _METADATA_COLUMNS[:3])
    conn.many(
        sql,
        [
            {
                "entity": e.entity,
                "entity_id": e.entity_id,
                "key": e.key,
                "value": to_json(e.value),
                "created": e.created,
            }
            for e in latest.values()
        ],
    )


_OWN_STEPS = "SELECT id FROM step_runs WHERE run_id = :run_id"
_TOUCHED = f"SELECT artifact_id FROM lineage WHERE step_run_id IN ({_OWN_STEPS})"
# An artifact that another run's lineage points at (consumed, or reused by a cache hit).
_USED_ELSEWHERE = (
    "EXISTS (SELECT 1 FROM lineage l JOIN step_runs s ON s.id = l.step_run_id"
    " WHERE l.artifact_id = artifacts.id AND s.run_id <> :run_id)"
)
# An artifact linked to a model version (its model, its data, its evaluation): a model version
# keeps it when its run is deleted.
_LINKED = "EXISTS (SELECT 1 FROM model_artifacts m WHERE m.artifact_id = artifacts.id)"


def delete_run(conn: Conn, run_id: str, *, force: bool) -> list[str]:
    """Delete a run and what belongs to it; return the uris whose files may now be removed.

    Artifacts the run produced are deleted with it, except those that other runs' lineage
    still points at (a later run consumed them, or a CACHED step run reused them): those stay,
    detached (``run_id`` and ``producer_step_run_id`` cleared), so the other runs stay loadable;
    a detached artifact is deleted with the last run that references it.
    A uri is returned only when no remaining artifact row records it (content-addressed
    artifacts can share files).
    """
    row = conn.first("SELECT status FROM runs WHERE id = :run_id", run_id=run_id)
    if row is None:
        raise run_not_found(run_id)
    if row[0] == RunStatus.RUNNING and not force:
        raise MetadataError(
            f"run {run_id} is still running; refusing to delete it",
            hint="wait for it to end, or pass force=True (bevel runs delete --force) if its"
            " process is dead",
        )
    p = {"run_id": run_id}
    # Lock what this deletion may remove before deciding what other runs still use: a cache hit
    # recording a reuse of these rows right now holds a share lock on them (see
    # _lock_reused), so this waits for it and then sees its lineage (PostgreSQL, MySQL; SQLite
    # serializes write transactions anyway).
    conn.all(
        "SELECT id FROM artifacts WHERE run_id = :run_id"
        f" OR (run_id IS NULL AND id IN ({_TOUCHED})) {{for_update}}",
        p,
    )
    conn.run(
        "UPDATE artifacts SET run_id = NULL, producer_step_run_id = NULL"
        f" WHERE run_id = :run_id AND ({_USED_ELSEWHERE} OR {_LINKED})",
        p,
    )
    # Besides its own artifacts, a run can hold the last reference to a detached artifact
    # (one whose producing run was deleted earlier): those go now too.
    doomed = conn.all(
        "SELECT id, uri FROM artifacts WHERE run_id = :run_id OR (run_id IS NULL"
        f" AND id IN ({_TOUCHED}) AND NOT {_USED_ELSEWHERE} AND NOT {_LINKED})",
        p,
    )
    doomed_ids = [r[0] for r in doomed]

    conn.run("DELETE FROM metadata_entries WHERE entity = 'run' AND entity_id = :run_id", p)
    conn.run(
        f"DELETE FROM metadata_entries WHERE entity = 'step_run' AND entity_id IN ({_OWN_STEPS})",
        p,
    )
    for chunk in _chunks(doomed_ids):
        conn.run(
            "DELETE FROM metadata_entries WHERE entity = 'artifact' AND entity_id IN (:ids)",
            ids=list(chunk),
        )
    conn.run(f"DELETE FROM lineage WHERE step_run_id IN ({_OWN_STEPS})", p)
    conn.run("DELETE FROM metrics WHERE run_id = :run_id", p)
    for chunk in _chunks(doomed_ids):
        conn.run("DELETE FROM artifacts WHERE id IN (:ids)", ids=list(chunk))
    conn.run("DELETE FROM step_runs WHERE run_id = :run_id", p)
    conn.run("DELETE FROM runs WHERE id = :run_id", p)

    uris = sorted({r[1] for r in doomed})
    # Content-addressed files can be shared: keep a uri another record still names. (By uri,
    # not by content hash, which is indexed: a record's uri is what its files are; uri has no
    # index, as MySQL cannot index unbounded text, so deleting reads the artifacts table.)
    still_used: set[str] = set()
    for chunk in _chunks(uris):
        still_used.update(
            conn.scalars("SELECT uri FROM artifacts WHERE uri IN (:uris)", uris=list(chunk))
        )
    return [u for u in uris if u not in still_used]


def _chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Slices small enough for any database's limit on bound parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
