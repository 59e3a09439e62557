"""Records to row parameters and rows to records: the only place that knows both shapes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from bevel.metadata.records import (
    ArtifactRecord,
    MetricRecord,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)

Row = RowMapping


def run_params(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "name": run.name,
        "status": run.status.value,
        "created": run.created,
        "ended": run.ended,
        "params": run.params,
        "config": run.config,
        "plan": run.plan,
        "code_fingerprint": run.code_fingerprint,
        "stack": run.stack,
        "error": run.error,
        "host": run.host,
        "heartbeat": run.heartbeat,
    }


def run_record(row: Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        pipeline=row["pipeline"],
        name=row["name"],
        status=RunStatus(row["status"]),
        created=row["created"],
        ended=row["ended"],
        params=row["params"],
        config=row["config"],
        plan=row["plan"],
        code_fingerprint=row["code_fingerprint"],
        stack=row["stack"],
        error=row["error"],
        host=row["host"],
        heartbeat=row["heartbeat"],
    )


def step_run_params(sr: StepRunRecord) -> dict[str, Any]:
    return {
        "id": sr.id,
        "run_id": sr.run_id,
        "step_id": sr.step_id,
        "step_name": sr.step_name,
        "status": sr.status.value,
        "started": sr.started,
        "ended": sr.ended,
        "cache_key": sr.cache_key,
        "cached_from": sr.cached_from,
        "attempts": sr.attempts,
        "params": sr.params,
        "code_hash": sr.code_hash,
        "error": sr.error,
        "traceback": sr.traceback,
        "logs_uri": sr.logs_uri,
        "cache_ingredients": sr.cache_ingredients,
    }


def step_run_record(row: Row) -> StepRunRecord:
    return StepRunRecord(
        id=row["id"],
        run_id=row["run_id"],
        step_id=row["step_id"],
        step_name=row["step_name"],
        status=StepStatus(row["status"]),
        started=row["started"],
        ended=row["ended"],
        cache_key=row["cache_key"],
        cached_from=row["cached_from"],
        attempts=row["attempts"],
        params=row["params"],
        code_hash=row["code_hash"],
        error=row["error"],
        traceback=row["traceback"],
        logs_uri=row["logs_uri"],
        cache_ingredients=row["cache_ingredients"],
    )


def artifact_params(a: ArtifactRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "version": a.version,
        "uri": a.uri,
        "type_ref": a.type_ref,
        "materializer": a.materializer,
        "materializer_version": a.materializer_version,
        "content_hash": a.content_hash,
        "size": a.size,
        "producer_step_run_id": a.producer_step_run_id,
        "run_id": a.run_id,
        "output_name": a.output_name,
        "metadata": a.metadata,
        "visualizations": a.visualizations,
        "python_version": a.python_version,
        "created": a.created,
    }


def artifact_record(row: Row) -> ArtifactRecord:
    return ArtifactRecord(
        id=row["id"],
        name=row["name"],
        version=row["version"],
        uri=row["uri"],
        type_ref=row["type_ref"],
        materializer=row["materializer"],
        materializer_version=row["materializer_version"],
        content_hash=row["content_hash"],
        size=row["size"],
        producer_step_run_id=row["producer_step_run_id"],
        run_id=row["run_id"],
        output_name=row["output_name"],
        created=row["created"],
        metadata=row["metadata"],
        visualizations=row["visualizations"],
        python_version=row["python_version"],
    )


def metric_params(m: MetricRecord) -> dict[str, Any]:
    return {
        "run_id": m.run_id,
        "step_run_id": m.step_run_id,
        "key": m.key,
        "value": float(m.value),
        "step": m.step,
        "created": m.created,
    }


def metric_record(row: Row) -> MetricRecord:
    return MetricRecord(
        run_id=row["run_id"],
        step_run_id=row["step_run_id"],
        key=row["key"],
        value=row["value"],
        step=row["step"],
        created=row["created"],
    )
