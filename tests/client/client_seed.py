"""Seed a real SQLite metadata store and local artifact store with a few recorded runs.

Records go in through the public ``MetadataStore`` API and artifacts through
``bevel.artifacts.publish.save_artifact``, exactly as the engine writes them, so the client and
CLI tests read what a real run leaves behind. Shared by ``tests/client`` and ``tests/cli``.

The project:

* ``training-1`` (completed): load -> train -> evaluate, metrics (``loss`` is a series of four
  points), step and run metadata, logs.
* ``training-2`` (failed): load CACHED from training-1, train FAILED (C=-1), evaluate SKIPPED.
* ``etl-1`` (completed): one step ``extract`` with two outputs ``X`` and ``y``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.materializers.registry import JSON_MATERIALIZER
from bevel.artifacts.publish import save_artifact
from bevel.metadata.base import MetadataStore
from bevel.metadata.records import (
    STEP_TRANSITIONS,
    ArtifactRecord,
    MetadataEntry,
    MetricRecord,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.stack.stack import Stack

T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Seeded:
    """Ids of what was recorded, by a readable key (``"training-1"``, ``"training-1/train"``)."""

    runs: dict[str, str] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


class _Recorder:
    def __init__(self, store: MetadataStore, files: ArtifactStore, seeded: Seeded) -> None:
        self.store = store
        self.files = files
        self.seeded = seeded

    def run(
        self, name: str, pipeline: str, at: datetime, params: dict[str, Any], plan: dict[str, Any]
    ) -> str:
        run_id = new_id()
        self.store.create_run(
            RunRecord(
                id=run_id,
                pipeline=pipeline,
                name=name,
                status=RunStatus.RUNNING,
                created=at,
                params=params,
                plan=plan,
                code_fingerprint="f" * 64,
                stack="test",
            )
        )
        self.seeded.runs[name] = run_id
        return run_id

    def artifact(
        self, obj: Any, *, name: str, output: str, run_id: str, step_run_id: str, at: datetime
    ) -> ArtifactRecord:
        saved = save_artifact(self.files, obj, JSON_MATERIALIZER, name=name)
        return ArtifactRecord(
            id=new_id(),
            name=name,
            version=0,
            uri=saved.uri,
            type_ref=f"builtins:{type(obj).__name__}",
            materializer=JSON_MATERIALIZER,
            materializer_version="1",
            content_hash=saved.content_hash,
            size=saved.size,
            producer_step_run_id=step_run_id,
            run_id=run_id,
            output_name=output,
            created=at,
            metadata=saved.metadata,
            visualizations=saved.visualizations,
        )

    def step(
        self,
        key: str,
        run_id: str,
        step_id: str,
        status: StepStatus,
        at: datetime,
        *,
        seconds: float = 1.5,
        outputs: dict[str, Any] | None = None,
        inputs: dict[str, str] | None = None,
        reused: dict[str, str] | None = None,
        metrics: list[tuple[str, float, int | None]] | None = None,
        metadata: dict[str, Any] | None = None,
        run_metadata: dict[str, Any] | None = None,
        logs: str | None = None,
        **fields: Any,
    ) -> dict[str, str]:
        """Record one finished step run; returns output name -> artifact id."""
        step_run_id = new_id()
        pipeline = self.store.get_run(run_id).pipeline
        logs_uri = None
        if logs is not None:
            path = f"logs/{run_id}/{step_id}.log"
            with self.files.open(path, "wb") as fh:
                fh.write(logs.encode())
            logs_uri = self.files.uri(path)
        record = StepRunRecord(
            id=step_run_id,
            run_id=run_id,
            step_id=step_id,
            step_name=step_id.split("_")[0],
            status=StepStatus.RUNNING,
            started=at,
            logs_uri=logs_uri,
            **fields,
        )
        if status in STEP_TRANSITIONS[StepStatus.RUNNING]:  # else recorded without running
            self.store.start_step_run(record)
        new = tuple(
            self.artifact(
                obj,
                name=f"{pipeline}.{step_id}.{out}",
                output=out,
                run_id=run_id,
                step_run_id=step_run_id,
                at=at,
            )
            for out, obj in (outputs or {}).items()
        )
        final = StepRunRecord(
            **{**record.__dict__, "status": status, "ended": at + timedelta(seconds=seconds)}
        )
        saved = self.store.finish_step_run(
            StepCompletion(
                step_run=final,
                outputs=new,
                reused_outputs=tuple((reused or {}).items()),
                inputs=tuple((inputs or {}).items()),
                metrics=tuple(
                    MetricRecord(run_id, step_run_id, k, v, s, at + timedelta(seconds=i))
                    for i, (k, v, s) in enumerate(metrics or [])
                ),
                metadata=tuple(
                    MetadataEntry("step_run", step_run_id, k, v, at)
                    for k, v in (metadata or {}).items()
                )
                + tuple(
                    MetadataEntry("run", run_id, k, v, at) for k, v in (run_metadata or {}).items()
                ),
            )
        )
        self.seeded.steps[key] = step_run_id
        ids = {a.output_name: a.id for a in saved}
        for out, art_id in ids.items():
            self.seeded.artifacts[f"{key}.{out}"] = art_id
        return {**ids, **(reused or {})}

    def finish(
        self, run_id: str, status: RunStatus, at: datetime, error: str | None = None
    ) -> None:
        self.store.finish_run(run_id, status, ended=at, error=error)


def _plan(pipeline: str, steps: list[str], enable_cache: bool = True) -> dict[str, Any]:
    return {
        "pipeline": pipeline,
        "enable_cache": enable_cache,
        "steps": [{"id": s, "options": {"enable_cache": True}} for s in steps],
    }


def seed(stack: Stack) -> Seeded:
    seeded = Seeded()
    rec = _Recorder(stack.metadata_store, stack.artifact_store, seeded)
    steps = ["load", "train", "evaluate"]

    # training-1: everything runs.
    r1 = rec.run("training-1", "training", T0, {"C": 0.5}, _plan("training", steps))
    load1 = rec.step(
        "training-1/load",
        r1,
        "load",
        StepStatus.COMPLETED,
        T0,
        outputs={"output": [1, 2, 3]},
        logs="loading 3 rows\n[bold]not markup[/bold]\n",
        cache_key="k-load",
        cache_ingredients={"code": "c-load", "params": {}},
    )
    train1 = rec.step(
        "training-1/train",
        r1,
        "train",
        StepStatus.COMPLETED,
        T0 + timedelta(seconds=2),
        outputs={"model": {"w": 0.5}},
        inputs={"data": load1["output"]},
        metrics=[("accuracy", 0.8, 1), ("accuracy", 0.9, 2)]
        + [("loss", v, i) for i, v in enumerate([0.9, 0.6, 0.4, 0.3])],
        metadata={"rows": 3, "device": "cpu"},
        run_metadata={"dataset": "iris-v2"},
        params={"C": 0.5},
        cache_key="k-train-1",
        cache_ingredients={"code": "c-train", "params": {"C": 0.5}},
    )
    rec.step(
        "training-1/evaluate",
        r1,
        "evaluate",
        StepStatus.COMPLETED,
        T0 + timedelta(seconds=4),
        outputs={"report": "good <b>model</b>"},
        inputs={"model": train1["model"]},
        metrics=[("f1", 0.7, None)],
        cache_key="k-eval",
        cache_ingredients={"code": "c-eval", "params": {}},
    )
    rec.finish(r1, RunStatus.COMPLETED, T0 + timedelta(seconds=6))

    # training-2: load is cached, train fails, evaluate is skipped.
    t2 = T0 + timedelta(hours=1)
    r2 = rec.run("training-2", "training", t2, {"C": -1}, _plan("training", steps))
    rec.step(
        "training-2/load",
        r2,
        "load",
        StepStatus.CACHED,
        t2,
        seconds=0.01,
        reused={"output": load1["output"]},
        cached_from=seeded.steps["training-1/load"],
        cache_key="k-load",
        cache_ingredients={"code": "c-load", "params": {}},
    )
    rec.step(
        "training-2/train",
        r2,
        "train",
        StepStatus.FAILED,
        t2 + timedelta(seconds=1),
        inputs={"data": load1["output"]},
        params={"C": -1},
        error="ValueError: C must be positive",
        traceback='Traceback (most recent call last):\n  File "pipe.py", line 9, in train\nValueError: C must be positive\n',
        cache_key="k-train-2",
        cache_ingredients={"code": "c-train", "params": {"C": -1}},
    )
    rec.step(
        "training-2/evaluate",
        r2,
        "evaluate",
        StepStatus.SKIPPED,
        t2 + timedelta(seconds=2),
        seconds=0,
    )
    rec.finish(r2, RunStatus.FAILED, t2 + timedelta(seconds=3), error="step train failed")

    # etl-1: a step with two outputs.
    t3 = T0 + timedelta(hours=2)
    r3 = rec.run("etl-1", "etl", t3, {}, _plan("etl", ["extract"]))
    rec.step(
        "etl-1/extract", r3, "extract", StepStatus.COMPLETED, t3, outputs={"X": [[1, 2]], "y": [0]}
    )
    rec.finish(r3, RunStatus.COMPLETED, t3 + timedelta(seconds=2))
    return seeded


class CountingStore:
    """Wraps a metadata store and counts calls per method (each call is one or two queries)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return counted
