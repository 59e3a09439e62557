"""The model control plane in SQL: models, versions, stages and the audit log.

Each function runs on a connection the store gives it, inside one transaction. The rule "at most
one holder of a stage" is the unique constraint ``(model, exclusive_stage)``; promotions also
lock the model's row first (``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` serialises writers
anyway), so two promotions of one model queue instead of racing, and each moves the holder it
actually finds to ``archived``. Queries are portable SQL text (:mod:`bevel.metadata.sql.dialect`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bevel.errors import ConfigError, NotFound
from bevel.metadata.records import (
    EXCLUSIVE_STAGES,
    ModelArtifactLink,
    ModelRecord,
    ModelStage,
    ModelStageEvent,
    ModelVersionRecord,
)
from bevel.metadata.sql.db import Conn, Row
from bevel.metadata.sql.tables import from_json, to_json

STAGES = tuple(s.value for s in ModelStage)

_VERSION_COLUMNS = "id, model, number, created, name, run_id, stage, description, metadata, metrics"
_VERSIONS = f"SELECT {_VERSION_COLUMNS} FROM model_versions"


def _model_not_found(name: str) -> NotFound:
    return NotFound(
        f"no model named {name!r}",
        hint="`bevel models list` shows the models; a model gets its first version when a "
        "pipeline with @pipeline(model=Model(...)) runs its @trainer step",
    )


def _version(conn: Conn, row: Row, links: Sequence[ModelArtifactLink] = ()) -> ModelVersionRecord:
    id_, model, number, created, name, run_id, stage, description, metadata, metrics = row
    return ModelVersionRecord(
        id=id_,
        model=model,
        number=int(number),
        created=conn.dialect.time(created),  # type: ignore[arg-type]
        name=name,
        run_id=run_id,
        stage=ModelStage(stage) if stage else None,
        description=description,
        metadata=from_json(metadata),
        metrics=from_json(metrics),
        artifacts=tuple(links),
    )


def _links(conn: Conn, version_ids: Sequence[str]) -> dict[str, list[ModelArtifactLink]]:
    found: dict[str, list[ModelArtifactLink]] = {vid: [] for vid in version_ids}
    if not version_ids:
        return found
    rows = conn.all(
        "SELECT version_id, name, artifact_id, role FROM model_artifacts"
        " WHERE version_id IN (:ids) ORDER BY version_id, name",
        ids=list(version_ids),
    )
    for version_id, name, artifact_id, role in rows:
        found[version_id].append(ModelArtifactLink(name, artifact_id, role))
    return found


def _with_links(conn: Conn, rows: Sequence[Row]) -> list[ModelVersionRecord]:
    links = _links(conn, [r[0] for r in rows])
    return [_version(conn, r, links[r[0]]) for r in rows]


def _model_exists(conn: Conn, model: str) -> bool:
    return conn.first("SELECT name FROM models WHERE name = :name", name=model) is not None


# --- writes ---------------------------------------------------------------------------------


def create_version(conn: Conn, record: ModelVersionRecord) -> ModelVersionRecord:
    """Insert a version (and its model when new), numbered ``max + 1``; with a ``run_id``, the
    version that run already has is returned instead (one version per run and model)."""
    if not _model_exists(conn, record.model):
        conn.run(
            "INSERT INTO models (name, description, created) VALUES (:name, '', :created)",
            name=record.model,
            created=record.created,
        )
    if record.run_id is not None:
        row = conn.first(
            "SELECT id FROM model_versions WHERE model = :model AND run_id = :run_id",
            model=record.model,
            run_id=record.run_id,
        )
        if row is not None:
            if record.artifacts:
                add_artifacts(conn, row[0], record.artifacts)
            return get_version_by_id(conn, row[0])
    if record.name is not None:
        taken = conn.first(
            "SELECT number FROM model_versions WHERE model = :model AND name = :name",
            model=record.model,
            name=record.name,
        )
        if taken is not None:
            raise ConfigError(
                f"model {record.model!r} already has a version named {record.name!r} "
                f"(version {taken[0]})",
                hint="version names are unique per model: pick another one, or leave it out "
                "and refer to the version by its number",
            )
    last = conn.first(
        "SELECT max(number) FROM model_versions WHERE model = :model", model=record.model
    )
    stage = record.stage.value if record.stage else None
    conn.run(
        f"INSERT INTO model_versions ({_VERSION_COLUMNS}, exclusive_stage) VALUES (:id, :model,"
        " :number, :created, :name, :run_id, :stage, :description, :metadata, :metrics,"
        " :exclusive_stage)",
        id=record.id,
        model=record.model,
        number=((last[0] if last else None) or 0) + 1,
        created=record.created,
        name=record.name,
        run_id=record.run_id,
        stage=stage,
        description=record.description,
        metadata=to_json(record.metadata),
        metrics=to_json(record.metrics),
        exclusive_stage=stage if record.stage in EXCLUSIVE_STAGES else None,
    )
    add_artifacts(conn, record.id, record.artifacts)
    return get_version_by_id(conn, record.id)


def add_artifacts(conn: Conn, version_id: str, links: Sequence[ModelArtifactLink]) -> None:
    """Link artifacts to a version; a link of the same name is replaced."""
    if not links:
        return
    conn.run(
        "DELETE FROM model_artifacts WHERE version_id = :version_id AND name IN (:names)",
        version_id=version_id,
        names=[link.name for link in links],
    )
    conn.many(
        "INSERT INTO model_artifacts (version_id, name, artifact_id, role)"
        " VALUES (:version_id, :name, :artifact_id, :role)",
        [
            {"version_id": version_id, "name": x.name, "artifact_id": x.artifact_id, "role": x.role}
            for x in links
        ],
    )


def update_version(
    conn: Conn,
    version_id: str,
    *,
    metadata: dict[str, Any],
    metrics: dict[str, float],
    artifacts: Sequence[ModelArtifactLink],
) -> ModelVersionRecord:
    """Merge metadata and metrics into a version (a key given again replaces its value)."""
    row = conn.first(
        "SELECT metadata, metrics FROM model_versions WHERE id = :id {for_update}", id=version_id
    )
    if row is None:
        raise NotFound(f"no model version with id {version_id!r}")
    if metadata or metrics:
        conn.run(
            "UPDATE model_versions SET metadata = :metadata, metrics = :metrics WHERE id = :id",
            metadata=to_json({**from_json(row[0]), **metadata}),
            metrics=to_json({**from_json(row[1]), **metrics}),
            id=version_id,
        )
    add_artifacts(conn, version_id, artifacts)
    return get_version_by_id(conn, version_id)


def set_stage(
    conn: Conn,
    model: str,
    number: int,
    stage: ModelStage | None,
    *,
    actor: str,
    reason: str,
    at: datetime,
) -> list[ModelStageEvent]:
    """Move version ``number`` to ``stage`` (None: no stage); the previous holder of an
    exclusive stage goes to ``archived``. Returns the audit entries written (none when the
    version already is in that stage)."""
    if conn.first("SELECT name FROM models WHERE name = :name {for_update}", name=model) is None:
        raise _model_not_found(model)
    target = get_version(conn, model, str(number))
    if target.stage == stage:
        return []
    events: list[ModelStageEvent] = []
    if stage in EXCLUSIVE_STAGES:
        holder = conn.first(
            "SELECT id, number FROM model_versions WHERE model = :model"
            " AND exclusive_stage = :stage",
            model=model,
            stage=stage.value,
        )
        if holder is not None:
            _move(conn, holder[0], ModelStage.ARCHIVED)
            events.append(
                ModelStageEvent(
                    model, int(holder[1]), stage, ModelStage.ARCHIVED, actor,
                    f"replaced in {stage.value} by version {number}"
                    + (f": {reason}" if reason else ""),
                    at,
                )
            )  # fmt: skip
    _move(conn, target.id, stage)
    events.append(ModelStageEvent(model, number, target.stage, stage, actor, reason, at))
    conn.many(
        "INSERT INTO model_events (model, version, from_stage, to_stage, actor, reason, created)"
        " VALUES (:model, :version, :from_stage, :to_stage, :actor, :reason, :created)",
        [
            {
                "model": e.model,
                "version": e.version,
                "from_stage": e.from_stage.value if e.from_stage else None,
                "to_stage": e.to_stage.value if e.to_stage else None,
                "actor": e.actor,
                "reason": e.reason,
                "created": e.created,
            }
            for e in events
        ],
    )
    return events


def _move(conn: Conn, version_id: str, stage: ModelStage | None) -> None:
    conn.run(
        "UPDATE model_versions SET stage = :stage, exclusive_stage = :exclusive WHERE id = :id",
        stage=stage.value if stage else None,
        exclusive=stage.value if stage in EXCLUSIVE_STAGES else None,
        id=version_id,
    )


# --- reads ----------------------------------------------------------------------------------


def get_version_by_id(conn: Conn, version_id: str) -> ModelVersionRecord:
    row = conn.first(f"{_VERSIONS} WHERE id = :id", id=version_id)
    if row is None:
        raise NotFound(f"no model version with id {version_id!r}")
    return _with_links(conn, [row])[0]


def get_version(conn: Conn, model: str, ref: str) -> ModelVersionRecord:
    """``ref``: a version number, ``latest``, a stage (``staging``, ``production``) or a
    version name."""
    where = f"{_VERSIONS} WHERE model = :model"
    if ref.isdigit():
        row = conn.first(f"{where} AND number = :number", model=model, number=int(ref))
    elif ref == "latest":
        row = conn.first(f"{where} ORDER BY number DESC LIMIT 1", model=model)
    elif ref in (ModelStage.STAGING, ModelStage.PRODUCTION):
        row = conn.first(f"{where} AND exclusive_stage = :stage", model=model, stage=str(ref))
    elif ref == ModelStage.ARCHIVED:
        raise ConfigError(
            "'archived' names many versions, not one",
            hint=f"pick one by number: `bevel models versions {model} --stage archived` lists them",
        )
    else:
        row = conn.first(f"{where} AND name = :name", model=model, name=ref)
    if row is not None:
        return _with_links(conn, [row])[0]
    if not _model_exists(conn, model):
        raise _model_not_found(model)
    if ref in (ModelStage.STAGING, ModelStage.PRODUCTION):
        raise NotFound(
            f"model {model!r} has no version in {ref}",
            hint=f"promote one first: bevel models promote {model} VERSION --stage {ref} "
            f"(`bevel models versions {model}` lists them)",
        )
    raise NotFound(
        f"model {model!r} has no version {ref!r}",
        hint=f"`bevel models versions {model}` lists its versions",
    )


def list_versions(
    conn: Conn, model: str, *, stage: ModelStage | None, limit: int, offset: int
) -> list[ModelVersionRecord]:
    """Newest first."""
    if not _model_exists(conn, model):
        raise _model_not_found(model)
    sql = f"{_VERSIONS} WHERE model = :model"
    params: dict[str, Any] = {"model": model}
    if stage is not None:
        sql += " AND stage = :stage"
        params["stage"] = stage.value
    sql += " ORDER BY number DESC"
    if limit > 0 or offset > 0:
        sql += " LIMIT :limit"
        params["limit"] = limit if limit > 0 else 2**63 - 1
    if offset > 0:
        sql += " OFFSET :offset"
        params["offset"] = offset
    return _with_links(conn, conn.all(sql, params))


def list_models(conn: Conn) -> list[ModelRecord]:
    """Every model with its version count, latest number and stage holders (three queries)."""
    stats = {
        model: (int(n), latest)
        for model, n, latest in conn.all(
            "SELECT model, count(id), max(number) FROM model_versions GROUP BY model"
        )
    }
    holders: dict[str, dict[str, int]] = {}
    for model, stage, number in conn.all(
        "SELECT model, exclusive_stage, number FROM model_versions"
        " WHERE exclusive_stage IS NOT NULL"
    ):
        holders.setdefault(model, {})[stage] = int(number)
    return [
        ModelRecord(
            name=name,
            created=conn.dialect.time(created),  # type: ignore[arg-type]
            description=description,
            versions=stats.get(name, (0, None))[0],
            latest=stats.get(name, (0, None))[1],
            stages=holders.get(name, {}),
        )
        for name, created, description in conn.all(
            "SELECT name, created, description FROM models ORDER BY name"
        )
    ]


def list_events(conn: Conn, model: str, limit: int) -> list[ModelStageEvent]:
    """Oldest first (the audit log reads like a story); ``limit`` keeps the newest."""
    sql = (
        "SELECT model, version, from_stage, to_stage, actor, reason, created FROM model_events"
        " WHERE model = :model ORDER BY id DESC"
    )
    params: dict[str, Any] = {"model": model}
    if limit > 0:
        sql += " LIMIT :limit"
        params["limit"] = limit
    rows = conn.all(sql, params)
    return [
        ModelStageEvent(
            model=model_,
            version=int(version),
            from_stage=ModelStage(from_stage) if from_stage else None,
            to_stage=ModelStage(to_stage) if to_stage else None,
            actor=actor,
            reason=reason,
            created=conn.dialect.time(created),  # type: ignore[arg-type]
        )
        for model_, version, from_stage, to_stage, actor, reason, created in reversed(rows)
    ]
