"""The engine's own guarantees: a run never stays "running", whatever fails around the steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from bevel import Client, pipeline, step
from bevel.api import run_pipeline
from bevel.artifacts.local import LocalArtifactStore
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.orchestrators.local import LocalOrchestrator
from bevel.run import engine
from bevel.stack.stack import Stack


@step
def inc(x: int) -> int:
    return x + 1


@pipeline
def chain(start: int = 0) -> None:
    x = inc(start)
    for _ in range(9):
        x = inc(x)


def memory_stack(tmp_path: Path) -> Stack:
    return Stack(
        name="memory",
        orchestrator=LocalOrchestrator(),
        artifact_store=LocalArtifactStore(str(tmp_path / "artifacts")),
        metadata_store=SqlMetadataStore("sqlite://"),
    )


def test_in_memory_sqlite_is_safe_with_a_busy_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: `sqlite://` shares one connection, and the heartbeat thread's transaction
    # collided with the run's ("cannot start a transaction within a transaction"): 10 of 10
    # runs failed with a 1 ms heartbeat.
    monkeypatch.setattr(engine, "HEARTBEAT_SECONDS", 0.001)
    stack = memory_stack(tmp_path)
    try:
        for start in range(10):
            run = run_pipeline(chain, params={"start": start}, stack=stack)
            assert run.status == "completed"
            assert run.steps["inc_10"].output.load() == start + 10
        assert len(Client(stack).runs(limit=0)) == 10
    finally:
        stack.close()
