"""The MLflow experiment tracker and model registry against a real ``mlflow server``.

The server (full ``mlflow`` in its own venv) runs on 127.0.0.1 with a SQLite backend and proxied
artifacts; bevel talks to it with ``mlflow-skinny``. What is read back here is read with MLflow's
own client, from the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import pytest
from click.testing import Result
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from bevel import Client, Model, current, evaluator, log_metric, pipeline, step, trainer
from bevel.errors import BevelWarning
from bevel.testing.servers import MlflowServer, free_port

# The first test also starts the server (and, on a machine that never ran it, builds its venv).
pytestmark = [
    pytest.mark.servers, pytest.mark.slow, pytest.mark.timeout(900),
    pytest.mark.usefixtures("bevel_home"),
]  # fmt: skip
Invoke = Callable[..., Result]


@step
def load() -> tuple[Annotated[np.ndarray, "X"], Annotated[np.ndarray, "y"]]:
    data = load_iris()
    order = np.random.default_rng(0).permutation(len(data.target))
    return data.data[order], data.target[order]


@trainer
def train(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> LogisticRegression:
    for epoch, loss in enumerate([0.9, 0.5, 0.3]):  # a series, point by point
        log_metric("loss", loss * C, step=epoch)
    return LogisticRegression(C=C, max_iter=500).fit(X[:100], y[:100])


@evaluator
def evaluate(model: LogisticRegression, X: np.ndarray, y: np.ndarray) -> Annotated[float, "acc"]:
    acc = float(model.score(X[100:], y[100:]))
    log_metric("accuracy", acc)
    return acc


@step(enable_cache=False)
def promote(acc: float) -> Annotated[bool, "promoted"]:
    return current.model.promote_if_better("accuracy", stage="production").promoted


@pipeline(model=Model("iris"))
def training(C: float = 1.0) -> None:
    X, y = load()
    promote(evaluate(train(X, y, C=C), X, y))


def _stack(invoke: Invoke, url: str, *, name: str = "ml") -> None:
    for type_, component in (("experiment_tracker", "mlf"), ("model_registry", "mlreg")):
        done = invoke("component", "register", type_, component, "--flavor", "mlflow",
                      "--tracking-uri", url, "--force")  # fmt: skip
        assert done.exit_code == 0, done.output
    done = invoke("stack", "register", name, "-o", "local", "-a", "local-artifacts",
                  "--experiment-tracker", "mlf", "--model-registry", "mlreg", "--set")  # fmt: skip
    assert done.exit_code == 0, done.output


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_a_run_and_its_steps_are_mlflow_runs_linked_both_ways(
    invoke: Invoke, mlflow_srv: MlflowServer
) -> None:
    _stack(invoke, mlflow_srv.url)
    training(C=2.0)
    client = Client()
    run = client.runs()[0]
    ml = MlflowClient(tracking_uri=mlflow_srv.url)

    link = run.metadata["mlflow"]  # bevel's side: the MLflow run's id and URL
    parent = ml.get_run(link["run_id"])
    assert link["url"].startswith(mlflow_srv.url)
    assert parent.data.tags["bevel.run_id"] == run.id  # MLflow's side: bevel's run id
    assert parent.data.tags["bevel.pipeline"] == "training"
    assert parent.data.params["C"] == "2.0"
    assert parent.info.status == "FINISHED"
    assert ml.get_experiment(parent.info.experiment_id).name == "training"

    steps = {s.step_id: s for s in run.steps.values()}
    trained = ml.get_run(steps["train"].metadata["mlflow"]["run_id"])
    assert trained.data.tags["bevel.step_run_id"] == steps["train"].id
    assert trained.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert trained.data.params["C"] == "2.0"
    history = ml.get_metric_history(trained.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.8), (1, 1.0), (2, 0.6)]
    evaluated = ml.get_run(steps["evaluate"].metadata["mlflow"]["run_id"])
    assert evaluated.data.metrics["accuracy"] == pytest.approx(
        steps["evaluate"].metrics["accuracy"]
    )

    shown = invoke("runs", "show", run.name)
    assert shown.exit_code == 0, shown.output
    assert link["run_id"] in shown.output  # bevel runs show links the MLflow run


def test_a_trained_version_is_an_mlflow_model_version_and_promotion_moves_the_alias(
    invoke: Invoke, mlflow_srv: MlflowServer, tmp_path: Path
) -> None:
    _stack(invoke, mlflow_srv.url)
    training(C=1.0)  # v1, promoted by its pipeline (the stage was empty)
    training(C=0.01)  # v2, worse: stays where it is
    models = Client().models
    v1, v2 = models.version("iris", 1), models.version("iris", 2)
    ml = MlflowClient(tracking_uri=mlflow_srv.url)

    mirrored = {v["bevel_version"]: v for v in models.registry_versions("iris") or []}
    assert set(mirrored) == {1, 2}
    for version in (v1, v2):
        info = version.metadata["registry"]  # bevel's side: which MLflow version
        mv = ml.get_model_version("iris", info["version"])
        assert mv.tags["bevel.version_id"] == version.record.id  # MLflow's side: bevel's
        assert mv.tags["bevel.metric.accuracy"] == str(version.metrics["accuracy"])
        assert mv.source == f"runs:/{mv.run_id}/model"
        # the version's run is the trainer step's MLflow run, which the tracker filled too
        assert ml.get_run(mv.run_id).data.tags["bevel.step"] == "train"
    assert (
        ml.get_model_version_by_alias("iris", "production").version
        == v1.metadata["registry"]["version"]
    )

    # the model's files are in MLflow, as bevel's materializer wrote them
    folder = Path(ml.download_artifacts(mv.run_id, "model", str(tmp_path)))
    about = json.loads((folder / "bevel-model.json").read_text())
    assert about["version"] == 2 and about["content_hash"] == v2.artifact("model").content_hash
    assert sorted(p.name for p in folder.iterdir()) != ["bevel-model.json"]

    moved = invoke("models", "promote", "iris", "2", "--stage", "production")
    assert moved.exit_code == 0, moved.output
    assert ml.get_model_version_by_alias("iris", "production").version == mv.version
    staged = invoke("models", "promote", "iris", "1", "--stage", "staging")
    assert staged.exit_code == 0, staged.output
    assert ml.get_registered_model("iris").aliases == {
        "production": mv.version, "staging": v1.metadata["registry"]["version"],
    }  # fmt: skip
    archived = invoke("models", "promote", "iris", "1", "--stage", "archived")
    assert archived.exit_code == 0, archived.output
    assert ml.get_registered_model("iris").aliases == {"production": mv.version}

    shown = invoke("models", "show", "iris")  # reads the registry back
    assert shown.exit_code == 0, shown.output
    registry = shown.output.split("registry", 1)[1]
    assert f"models:/iris/{mv.version}" in registry and "production" in registry


def test_a_server_that_is_down_is_named_and_bevel_keeps_its_records(
    invoke: Invoke, mlflow_srv: MlflowServer
) -> None:
    dead = _dead_url()
    _stack(invoke, dead)
    with pytest.warns(BevelWarning) as caught:
        training(C=1.0)
    said = " | ".join(str(w.message) for w in caught)
    assert f"at {dead} cannot be reached" in said
    assert "experiment tracker 'mlf'" in said and "model registry 'mlreg'" in said
    client = Client()
    run = client.runs()[0]
    assert run.status.value == "completed"  # the run's own records are all there
    assert "mlflow" not in run.metadata
    version = client.models.version("iris", 1)
    assert version.stage is not None and version.stage.value == "production"
    assert version.metrics["accuracy"] > 0.8 and "registry" not in version.metadata

    with pytest.warns(BevelWarning, match="cannot be reached"):
        training(C=0.5)  # v2: bevel records it all the same
    failed = invoke("models", "promote", "iris", "2", "--stage", "production")
    assert failed.exit_code == 1
    assert f"{dead} cannot be reached" in failed.output
    assert "version 2 moved to production (recorded by bevel)" in failed.output
    assert "bevel models sync iris" in failed.output
    assert Client().models.version("iris", "production").number == 2

    # the hint, followed: point the component at a running server, then sync
    fixed = invoke("component", "update", "mlreg", "--tracking-uri", mlflow_srv.url)
    assert fixed.exit_code == 0, fixed.output
    synced = invoke("models", "sync", "iris")
    assert synced.exit_code == 0, synced.output
    assert "versions 1, 2 are in the model registry" in synced.output
    ml = MlflowClient(tracking_uri=mlflow_srv.url)
    production = ml.get_model_version_by_alias("iris", "production")
    assert production.tags["bevel.version"] == "2"
    assert Client().models.version("iris", 2).metadata["registry"]["version"] == production.version
