"""A "team" stack: artifacts in S3, metadata in PostgreSQL (see test_team_stack.py).

Run as a script, it opens the same stack in a fresh process and prints what it reads back::

    python team_stack.py S3_ROOT ENDPOINT_URL DATABASE_URL
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import numpy as np
import pandas as pd

from bevel import log_metric, pipeline, step
from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.client.client import Client
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.orchestrators.local import LocalOrchestrator
from bevel.stack.stack import Stack


def build_stack(s3_root: str, endpoint_url: str, database_url: str) -> Stack:
    return Stack(
        name="team",
        orchestrator=LocalOrchestrator(),
        artifact_store=FsspecArtifactStore(
            s3_root,
            endpoint_url=endpoint_url,
            key="testing",
            secret="testing",
            client_kwargs={"region_name": "us-east-1"},
        ),
        metadata_store=SqlMetadataStore(database_url),
    )


@step
def make(rows: int = 50) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(rows, dtype=float), "y": np.arange(rows) % 3})


@step
def fit(df: pd.DataFrame) -> Annotated[dict[str, float], "model"]:
    print("fitting on", len(df), "rows")
    return {"slope": float(df.y.mean()), "n": float(len(df))}


@step
def score(model: dict[str, float], df: pd.DataFrame) -> Annotated[np.ndarray, "scores"]:
    scores = df.x.to_numpy() * model["slope"]
    log_metric("total", float(scores.sum()))
    return scores


@pipeline
def team_training(rows: int = 50) -> None:
    df = make(rows)
    score(fit(df), df)


def read_back(stack: Stack) -> dict[str, object]:
    """What another process sees of the last run: loaded through the stack's stores."""
    with Client(stack) as client:
        run = client.last_run("team_training")
        frame = run.steps["make"].output.load()
        return {
            "id": run.id,
            "status": str(run.status),
            "steps": {k: str(s.status) for k, s in run.steps.items()},
            "uris": sorted(a.uri for s in run.steps.values() for a in s.outputs.values()),
            "frame": [list(frame.shape), float(frame.x.sum())],
            "model": run.steps["fit"].outputs["model"].load(),
            "scores": float(run.steps["score"].outputs["scores"].load().sum()),
            "metrics": run.metrics,
            "logs": run.steps["fit"].logs(),
        }


if __name__ == "__main__":
    print(json.dumps(read_back(build_stack(*sys.argv[1:4]))))
