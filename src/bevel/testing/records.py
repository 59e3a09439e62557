"""Records for contract tests: a run, a step run, an artifact, with sensible defaults.

Times start at :data:`T0` (a fixed UTC instant with microseconds, so stores that drop them
fail the round trip).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bevel.metadata.records import ArtifactRecord, RunRecord, RunStatus, StepRunRecord, StepStatus

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def new_id(prefix: str = "") -> str:
    return (prefix + uuid.uuid4().hex)[:32]


def make_run(pipeline: str = "train", *, at: int = 0, **kw: Any) -> RunRecord:
    """A RUNNING run created ``at`` seconds after :data:`T0`."""
    run_id = kw.pop("id", None) or new_id()
    created = T0 + timedelta(seconds=at)
    fields: dict[str, Any] = {
        "id": run_id,
        "pipeline": pipeline,
        "name": f"{pipeline}-{run_id[:8]}",
        "status": RunStatus.RUNNING,
        "created": created,
        "params": {"lr": 0.1, "layers": [1, 2], "note": "héllo"},
        "config": {"enable_cache": True},
        "plan": {"pipeline": pipeline, "source": f"pipes:{pipeline}", "steps": []},
        "code_fingerprint": "sha256:abc",
        "host": "box:123",
        "heartbeat": created,
    }
    fields.update(kw)
    return RunRecord(**fields)


def make_step(run: RunRecord, step_id: str = "load", *, at: int = 0, **kw: Any) -> StepRunRecord:
    fields: dict[str, Any] = {
        "id": new_id(),
        "run_id": run.id,
        "step_id": step_id,
        "step_name": step_id.rstrip("_0123456789") or step_id,
        "status": StepStatus.RUNNING,
        "started": run.created + timedelta(seconds=at),
        "cache_key": None,
        "params": {"n": 1},
        "code_hash": "sha256:code",
        "cache_ingredients": {"code": "sha256:code"},
    }
    fields.update(kw)
    return StepRunRecord(**fields)


def make_artifact(name: str, output: str = "output", **kw: Any) -> ArtifactRecord:
    artifact_id = kw.pop("id", None) or new_id()
    fields: dict[str, Any] = {
        "id": artifact_id,
        "name": name,
        "version": 0,
        "uri": f"/store/{artifact_id}",
        "type_ref": "builtins:int",
        "materializer": "bevel.artifacts.materializers.builtin:JsonMaterializer",
        "materializer_version": "1",
        "content_hash": f"sha256:{artifact_id}",
        "size": 12,
        "producer_step_run_id": None,
        "run_id": None,
        "output_name": output,
        "created": T0,
        "metadata": {"rows": 3},
        "visualizations": {"preview": "/store/x/preview.html"},
    }
    fields.update(kw)
    return ArtifactRecord(**fields)


def done(step: StepRunRecord, status: StepStatus = StepStatus.COMPLETED) -> StepRunRecord:
    return replace(step, status=status, ended=step.started + timedelta(seconds=1))
