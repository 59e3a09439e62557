"""Trainer and evaluator steps building model versions, promotion rules in a step, and an
inference pipeline using the production version, on the real default stack."""

from __future__ import annotations

from collections import deque
from typing import Annotated

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from bevel import Client, Model, current, evaluator, log_metric, pipeline, step, trainer
from bevel.errors import DefinitionError, ModelError, NotFound, RunFailed
from bevel.metadata.records import ModelStage, StepStatus

pytestmark = pytest.mark.usefixtures("bevel_home")

CALLS: deque[str] = deque()


@step
def load(n_rows: int = 150) -> tuple[Annotated[np.ndarray, "X"], Annotated[np.ndarray, "y"]]:
    data = load_iris()
    order = np.random.default_rng(0).permutation(len(data.target))[:n_rows]
    return data.data[order], data.target[order]


@trainer
def train(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> LogisticRegression:
    CALLS.append("train")
    current.model.log_metadata({"C": C})
    return LogisticRegression(C=C, max_iter=500).fit(X[:100], y[:100])


@evaluator
def evaluate(model: LogisticRegression, X: np.ndarray, y: np.ndarray) -> Annotated[float, "acc"]:
    acc = float(model.score(X[100:], y[100:]))
    log_metric("accuracy", acc)
    return acc


@step(enable_cache=False)  # a promotion depends on the registry now, not only on its inputs
def promote(acc: float) -> Annotated[bool, "promoted"]:
    decision = current.model.promote_if_better("accuracy", stage="production")
    current.logger.info("promotion: %s", decision.reason)
    return decision.promoted


@pipeline(model=Model("iris", description="iris species"))
def training(C: float = 1.0, n_rows: int = 150) -> None:
    X, y = load(n_rows)
    promote(evaluate(train(X, y, C=C), X, y))


@step
def predict(X: np.ndarray) -> Annotated[list[int], "labels"]:
    model = current.model.load_artifact("model")
    current.log_metadata({"model_version": current.model.number})
    return [int(v) for v in model.predict(X[:5])]


@pipeline(model=Model("iris", version="production"))
def scoring() -> None:
    X, _ = load()
    predict(X)


def test_a_training_run_builds_a_version_linked_to_its_run_data_and_metrics() -> None:
    run = training(C=1.0)
    with Client() as client:
        version = client.models.version("iris", "latest")
        assert version.number == 1 and version.run_id == run.id
        assert version.metrics["accuracy"] == pytest.approx(
            run.steps["evaluate"].outputs["acc"].load()
        )
        assert version.metadata["C"] == 1.0
        assert version.metadata["device"] == "cpu"
        assert version.metadata["trained_by"] == {"run": run.name, "step": "train", "cached": False}
        links = version.artifacts
        assert links["model"].artifact_id == run.steps["train"].output.id
        assert links["data.X"].artifact_id == run.steps["load"].outputs["X"].id
        assert links["evaluate.acc"].role == "evaluation"
        model = version.load_artifact("model")
        X = load_iris().data
        assert (model.predict(X) == run.steps["train"].output.load().predict(X)).all()
        # the empty production stage was taken, and the audit log says who and why
        assert version.stage is ModelStage.PRODUCTION
        (event,) = client.models.events("iris")
        assert event.actor == f"run {run.name} (step promote)"
        assert (
            event.reason.startswith("accuracy ") and "no version was in production" in event.reason
        )


def test_a_better_version_replaces_production_and_a_worse_one_does_not() -> None:
    training(C=0.001)  # a weak model first
    weak = Client().models.version("iris", 1)
    training(C=10.0)
    strong = Client().models.version("iris", 2)
    assert strong.metrics["accuracy"] > weak.metrics["accuracy"]
    assert strong.stage is ModelStage.PRODUCTION
    assert Client().models.version("iris", 1).stage is ModelStage.ARCHIVED
    run = training(C=0.001)  # trains nothing new (cached), is not better: stays out
    third = Client().models.version("iris", 3)
    assert third.stage is None and run.steps["promote"].outputs["promoted"].load() is False
    assert third.artifacts["model"].artifact_id == weak.artifacts["model"].artifact_id
    assert third.metadata["trained_by"]["cached"] is True
    assert third.metrics == weak.metrics  # the cached evaluator's metrics carry over
    moves = [(e.version, e.to_stage) for e in Client().models.events("iris")]
    assert moves == [
        (1, ModelStage.PRODUCTION),
        (1, ModelStage.ARCHIVED),
        (2, ModelStage.PRODUCTION),
    ]


def test_an_inference_pipeline_uses_the_production_version_and_caches_per_version() -> None:
    training(C=0.001)
    first = scoring()
    assert first.steps["predict"].metadata["model_version"] == 1
    assert first.plan["model"]["resolved"]["number"] == 1
    assert scoring().steps["predict"].status is StepStatus.CACHED
    training(C=10.0)  # better: version 2 takes production
    third = scoring()
    assert third.steps["predict"].status is StepStatus.COMPLETED  # not version 1's result
    assert third.steps["predict"].metadata["model_version"] == 2
    assert third.steps["load"].status is StepStatus.COMPLETED  # every step knows its version


def test_an_empty_stage_is_a_clear_error_before_anything_runs() -> None:
    with pytest.raises(NotFound, match="no model named 'iris'"):
        scoring()
    run_without_promotion = pipeline(model=Model("iris"))(_train_only)
    run_without_promotion()
    with pytest.raises(NotFound, match="has no version in production") as err:
        scoring()
    assert "bevel models promote iris VERSION --stage production" in str(err.value)
    assert Client().runs(pipeline="scoring") == []  # nothing was recorded


def _train_only() -> None:
    X, y = load()
    train(X, y)


def test_current_model_outside_a_model_pipeline_says_how_to_name_one() -> None:
    @step
    def peek() -> int:
        return current.model.number

    @pipeline
    def plain() -> None:
        peek()

    with pytest.raises(RunFailed) as err:
        plain()
    cause = err.value.__cause__
    assert isinstance(cause, ModelError)
    assert '@pipeline(model=Model("churn"))' in (cause.hint or "")


def test_a_trainer_in_an_inference_pipeline_is_refused() -> None:
    @pipeline(model=Model("iris", version="production"))
    def confused() -> None:
        X, y = load()
        train(X, y)

    with pytest.raises(DefinitionError, match="has a @trainer step"):
        confused()


def test_a_trainer_without_a_pipeline_model_builds_one_named_after_the_pipeline() -> None:
    @pipeline
    def iris_quick() -> None:
        X, y = load()
        train(X, y)

    iris_quick()
    assert Client().models.version("iris_quick", 1).artifact("model").output_name == "output"
