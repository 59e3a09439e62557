"""Continuous training: sweep, evaluate, promote if better, deploy, query the endpoint.

The data ships with scikit-learn (the Wisconsin breast cancer set: no download). Each run:

1. tunes a scikit-learn pipeline with a seeded Optuna sweep (every trial is a step run with
   its own cache entry; the best trial's model continues),
2. evaluates it on held-out rows (the metrics become the model version's),
3. promotes it to ``production`` only when it beats the version there,
4. deploys the production version with the stack's model deployer (``local``: a background
   ``bevel models serve`` process on 127.0.0.1) and queries its ``/predict`` endpoint.

Run it (twice: the second run is served from the cache and promotes nothing)::

    python examples/continuous_training/pipeline.py
    bevel run examples/continuous_training/pipeline.py:continuous_training -p n_trials=8
    bevel models show breast_cancer --version production
    bevel models deployments        # the running server;  bevel models stop breast_cancer
"""

from __future__ import annotations

import json
import urllib.request
from typing import Annotated

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from bevel import Model, current, evaluator, log_metric, pipeline, step, trainer

TARGET = "target"


@step
def load() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@step
def split(
    df: pd.DataFrame, seed: int = 42
) -> tuple[
    Annotated[pd.DataFrame, "train"],
    Annotated[pd.DataFrame, "valid"],
    Annotated[pd.DataFrame, "test"],
]:
    rest, test = train_test_split(df, test_size=0.2, random_state=seed, stratify=df[TARGET])
    train, valid = train_test_split(rest, test_size=0.25, random_state=seed, stratify=rest[TARGET])
    return train, valid, test


@trainer
def fit(train_df: pd.DataFrame, valid_df: pd.DataFrame, C: float = 1.0) -> Pipeline:
    """One candidate: its validation accuracy is what the sweep maximises."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    model.fit(train_df.drop(columns=TARGET), train_df[TARGET])
    log_metric("val_accuracy", float(model.score(valid_df.drop(columns=TARGET), valid_df[TARGET])))
    return model


@evaluator
def evaluate(model: Pipeline, test: pd.DataFrame) -> Annotated[float, "accuracy"]:
    X, y = test.drop(columns=TARGET), test[TARGET]
    accuracy = float(model.score(X, y))
    log_metric("accuracy", accuracy)
    log_metric("f1", float(f1_score(y, model.predict(X))))
    log_metric("auc", float(roc_auc_score(y, model.predict_proba(X)[:, 1])))
    return accuracy


@step(enable_cache=False)  # the decision depends on what is in production now
def promote(accuracy: float, min_delta: float = 0.0) -> Annotated[bool, "promoted"]:
    decision = current.model.promote_if_better("accuracy", min_delta=min_delta)
    current.logger.info("version %s: %s", current.model.number, decision.reason)
    return decision.promoted


@step(enable_cache=False)
def deploy(promoted: bool) -> Annotated[str, "url"]:
    """Serve the production version (redeployed only when it changed or is not running)."""
    return current.model.deploy(stage="production", restart=promoted)


@step(enable_cache=False)
def query(url: str, test: pd.DataFrame) -> Annotated[dict, "answer"]:
    rows = test.drop(columns=TARGET).head(3)
    body = json.dumps({"instances": rows.to_dict(orient="records")}).encode()
    request = urllib.request.Request(
        f"{url}/predict", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # 127.0.0.1 only
        answer = json.loads(response.read())
    current.logger.info("the endpoint answered %s for labels %s", answer, list(test[TARGET][:3]))
    return answer


@pipeline(model=Model("breast_cancer", description="malignant or benign, from 30 features"))
def continuous_training(n_trials: int = 8, parallel: int = 2) -> None:
    train_df, valid_df, test_df = split(load())
    model = fit.sweep(
        {"C": {"low": 1e-3, "high": 10.0, "log": True}},
        n_trials=n_trials,
        metric="val_accuracy",
        parallel=parallel,
        seed=0,
    )(train_df, valid_df)
    accuracy = evaluate(model, test_df)
    url = deploy(promote(accuracy))
    query(url, test_df)


if __name__ == "__main__":
    run = continuous_training()
    print(run.steps["query"].outputs["answer"].load())
