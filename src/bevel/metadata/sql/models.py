"""The model control plane in SQL: models, versions, stages and the audit log.

Each function runs on a connection the store gives it, inside one transaction. The rule "at most
one holder of a stage" is the unique constraint ``(model, exclusive_stage)``; promotions also
lock the model's row first (``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` serialises writers
anyway), so two promotions of one model queue instead of racing, and each moves the holder it
actually finds to ``archived``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from bevel.errors import ConfigError, NotFound
from bevel.metadata.records import (
    EXCLUSIVE_STAGES,
    ModelArtifactLink,
    ModelRecord,
    ModelStage,
    ModelStageEvent,
    ModelVersionRecord,
)
from bevel.metadata.sql.schema import model_artifacts, model_events, model_versions, models

STAGES = tuple(s.value for s in ModelStage)


def _model_not_found(name: str) -> NotFound:
    return NotFound(
        f"no model named {name!r}",
        hint="`bevel models list` shows the models; a model gets its first version when a "
        "pipeline with @pipeline(model=Model(...)) runs its @trainer step",
    )


def _version(row: RowMapping, links: Sequence[ModelArtifactLink] = ()) -> ModelVersionRecord:
    return ModelVersionRecord(
        id=row["id"],
        model=row["model"],
        number=row["number"],
        created=row["created"],
        name=row["name"],
        run_id=row["run_id"],
        stage=ModelStage(row["stage"]) if row["stage"] else None,
        description=row["description"],
        metadata=row["metadata"],
        metrics=row["metrics"],
        artifacts=tuple(links),
    )


def _links(conn: Connection, version_ids: Sequence[str]) -> dict[str, list[ModelArtifactLink]]:
    found: dict[str, list[ModelArtifactLink]] = {vid: [] for vid in version_ids}
    if not version_ids:
        return found
    query = (
        select(model_artifacts)
        .where(model_artifacts.c.version_id.in_(list(version_ids)))
        .order_by(model_artifacts.c.version_id, model_artifacts.c.name)
    )
    for r in conn.execute(query).mappings():
        found[r["version_id"]].append(ModelArtifactLink(r["name"], r["artifact_id"], r["role"]))
    return found


def _with_links(conn: Connection, rows: Sequence[RowMapping]) -> list[ModelVersionRecord]:
    links = _links(conn, [r["id"] for r in rows])
    return [_version(r, links[r["id"]]) for r in rows]


# --- writes ---------------------------------------------------------------------------------


def create_version(conn: Connection, record: ModelVersionRecord) -> ModelVersionRecord:
    """Insert a version (and its model when new), numbered ``max + 1``; with a ``run_id``, the
    version that run already has is returned instead (one version per run and model)."""
    exists = conn.execute(select(models.c.name).where(models.c.name == record.model)).first()
    if exists is None:
        conn.execute(
            insert(models).values(name=record.model, description="", created=record.created)
        )
    if record.run_id is not None:
        row = (
            conn.execute(
                select(model_versions).where(
                    model_versions.c.model == record.model,
                    model_versions.c.run_id == record.run_id,
                )
            )
            .mappings()
            .first()
        )
        if row is not None:
            if record.artifacts:
                add_artifacts(conn, row["id"], record.artifacts)
            return get_version_by_id(conn, row["id"])
    if record.name is not None:
        taken = conn.execute(
            select(model_versions.c.number).where(
                model_versions.c.model == record.model, model_versions.c.name == record.name
            )
        ).first()
        if taken is not None:
            raise ConfigError(
                f"model {record.model!r} already has a version named {record.name!r} "
                f"(version {taken[0]})",
                hint="version names are unique per model: pick another one, or leave it out "
                "and refer to the version by its number",
            )
    last = conn.execute(
        select(func.max(model_versions.c.number)).where(model_versions.c.model == record.model)
    ).scalar()
    number = (last or 0) + 1
    stage = record.stage.value if record.stage else None
    conn.execute(
        insert(model_versions).values(
            id=record.id,
            model=record.model,
            number=number,
            name=record.name,
            run_id=record.run_id,
            stage=stage,
            exclusive_stage=stage if record.stage in EXCLUSIVE_STAGES else None,
            description=record.description,
            metadata=record.metadata,
            metrics=record.metrics,
            created=record.created,
        )
    )
    add_artifacts(conn, record.id, record.artifacts)
    return get_version_by_id(conn, record.id)


def add_artifacts(conn: Connection, version_id: str, links: Sequence[ModelArtifactLink]) -> None:
    """Link artifacts to a version; a link of the same name is replaced."""
    if not links:
        return
    conn.execute(
        delete(model_artifacts).where(
            model_artifacts.c.version_id == version_id,
            model_artifacts.c.name.in_([link.name for link in links]),
        )
    )
    conn.execute(
        insert(model_artifacts),
        [
            {"version_id": version_id, "name": x.name, "artifact_id": x.artifact_id, "role": x.role}
            for x in links
        ],
    )


def update_version(
    conn: Connection,
    version_id: str,
    *,
    metadata: dict[str, Any],
    metrics: dict[str, float],
    artifacts: Sequence[ModelArtifactLink],
) -> ModelVersionRecord:
    """Merge metadata and metrics into a version (a key given again replaces its value)."""
    row = (
        conn.execute(
            select(model_versions.c.metadata, model_versions.c.metrics)
            .where(model_versions.c.id == version_id)
            .with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no model version with id {version_id!r}")
    if metadata or metrics:
        conn.execute(
            update(model_versions)
            .where(model_versions.c.id == version_id)
            .values(metadata={**row["metadata"], **metadata}, metrics={**row["metrics"], **metrics})
        )
    add_artifacts(conn, version_id, artifacts)
    return get_version_by_id(conn, version_id)


def set_stage(
    conn: Connection,
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
    locked = conn.execute(
        select(models.c.name).where(models.c.name == model).with_for_update()
    ).first()
    if locked is None:
        raise _model_not_found(model)
    target = get_version(conn, model, str(number))
    if target.stage == stage:
        return []
    events: list[ModelStageEvent] = []
    if stage in EXCLUSIVE_STAGES:
        holder = conn.execute(
            select(model_versions.c.id, model_versions.c.number).where(
                model_versions.c.model == model, model_versions.c.exclusive_stage == stage.value
            )
        ).first()
        if holder is not None:
            _move(conn, holder[0], ModelStage.ARCHIVED)
            events.append(
                ModelStageEvent(
                    model, holder[1], stage, ModelStage.ARCHIVED, actor,
                    f"replaced in {stage.value} by version {number}"
                    + (f": {reason}" if reason else ""),
                    at,
                )
            )  # fmt: skip
    _move(conn, target.id, stage)
    events.append(ModelStageEvent(model, number, target.stage, stage, actor, reason, at))
    conn.execute(
        insert(model_events),
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


def _move(conn: Connection, version_id: str, stage: ModelStage | None) -> None:
    conn.execute(
        update(model_versions)
        .where(model_versions.c.id == version_id)
        .values(
            stage=stage.value if stage else None,
            exclusive_stage=stage.value if stage in EXCLUSIVE_STAGES else None,
        )
    )


# --- reads ----------------------------------------------------------------------------------


def get_version_by_id(conn: Connection, version_id: str) -> ModelVersionRecord:
    row = (
        conn.execute(select(model_versions).where(model_versions.c.id == version_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no model version with id {version_id!r}")
    return _with_links(conn, [row])[0]


def get_version(conn: Connection, model: str, ref: str) -> ModelVersionRecord:
    """``ref``: a version number, ``latest``, a stage (``staging``, ``production``) or a
    version name."""
    query = select(model_versions).where(model_versions.c.model == model)
    if ref.isdigit():
        query = query.where(model_versions.c.number == int(ref))
    elif ref == "latest":
        query = query.order_by(model_versions.c.number.desc()).limit(1)
    elif ref in (ModelStage.STAGING, ModelStage.PRODUCTION):
        query = query.where(model_versions.c.exclusive_stage == ref)
    elif ref == ModelStage.ARCHIVED:
        raise ConfigError(
            "'archived' names many versions, not one",
            hint=f"pick one by number: `bevel models versions {model} --stage archived` lists them",
        )
    else:
        query = query.where(model_versions.c.name == ref)
    row = conn.execute(query).mappings().first()
    if row is not None:
        return _with_links(conn, [row])[0]
    if conn.execute(select(models.c.name).where(models.c.name == model)).first() is None:
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
    conn: Connection, model: str, *, stage: ModelStage | None, limit: int, offset: int
) -> list[ModelVersionRecord]:
    """Newest first."""
    if conn.execute(select(models.c.name).where(models.c.name == model)).first() is None:
        raise _model_not_found(model)
    query = select(model_versions).where(model_versions.c.model == model)
    if stage is not None:
        query = query.where(model_versions.c.stage == stage.value)
    query = query.order_by(model_versions.c.number.desc())
    if limit > 0:
        query = query.limit(limit)
    if offset > 0:
        query = query.offset(offset)
    return _with_links(conn, conn.execute(query).mappings().all())


def list_models(conn: Connection) -> list[ModelRecord]:
    """Every model with its version count, latest number and stage holders (three queries)."""
    stats = {
        r["model"]: (r["n"], r["latest"])
        for r in conn.execute(
            select(
                model_versions.c.model,
                func.count(model_versions.c.id).label("n"),
                func.max(model_versions.c.number).label("latest"),
            ).group_by(model_versions.c.model)
        ).mappings()
    }
    holders: dict[str, dict[str, int]] = {}
    for r in conn.execute(
        select(model_versions.c.model, model_versions.c.exclusive_stage, model_versions.c.number)
        .where(model_versions.c.exclusive_stage.is_not(None))
    ).mappings():  # fmt: skip
        holders.setdefault(r["model"], {})[r["exclusive_stage"]] = r["number"]
    return [
        ModelRecord(
            name=r["name"],
            created=r["created"],
            description=r["description"],
            versions=stats.get(r["name"], (0, None))[0],
            latest=stats.get(r["name"], (0, None))[1],
            stages=holders.get(r["name"], {}),
        )
        for r in conn.execute(select(models).order_by(models.c.name)).mappings()
    ]


def list_events(conn: Connection, model: str, limit: int) -> list[ModelStageEvent]:
    """Oldest first (the audit log reads like a story); ``limit`` keeps the newest."""
    query = select(model_events).where(model_events.c.model == model)
    query = query.order_by(model_events.c.id.desc())
    if limit > 0:
        query = query.limit(limit)
    rows = conn.execute(query).mappings().all()
    return [
        ModelStageEvent(
            model=r["model"],
            version=r["version"],
            from_stage=ModelStage(r["from_stage"]) if r["from_stage"] else None,
            to_stage=ModelStage(r["to_stage"]) if r["to_stage"] else None,
            actor=r["actor"],
            reason=r["reason"],
            created=r["created"],
        )
        for r in reversed(rows)
    ]
