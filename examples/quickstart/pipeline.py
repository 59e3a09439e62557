"""bevel quickstart: a small, real ML pipeline on a dataset that ships inside scikit-learn.

It profiles the data (statistics with a report), checks it against a reviewed schema
(``schema.yaml``: edit it and the check re-runs), then trains and evaluates a model. Run it
twice and watch the second run come from the cache:

    python examples/quickstart/pipeline.py
    bevel run examples/quickstart/pipeline.py:training -p C=0.5
    bevel artifacts visualize training.profile_step.statistics --open
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from bevel import current, log_metric, pipeline, step
from bevel.data import Schema, profile_step, validate_step

TARGET = "target"
# The schema the data must match (inferred once with bevel.data.infer_schema, then reviewed).
# Passed as a parameter, its content is part of the validation step's cache key.
SCHEMA = Schema.load(Path(__file__).with_name("schema.yaml")).to_dict()


@step
def load(n_rows: int = 569) -> pd.DataFrame:
    """The Wisconsin breast cancer data (bundled with scikit-learn: no download)."""
    frame = load_breast_cancer(as_frame=True).frame
    current.logger.info("loaded %d rows", min(n_rows, len(frame)))
    return frame.head(n_rows)


@step
def split(
    df: pd.DataFrame, test_size: float = 0.2, seed: int = 42
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    train, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=df[TARGET])
    return train, test


@step(retries=2)
def train(train: pd.DataFrame, C: float = 1.0, max_iter: int = 500) -> Pipeline:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    model.fit(train.drop(columns=TARGET), train[TARGET])
    return model


@step
def evaluate(model: Pipeline, test: pd.DataFrame) -> Annotated[float, "accuracy"]:
    accuracy = float(model.score(test.drop(columns=TARGET), test[TARGET]))
    log_metric("accuracy", accuracy)
    print(f"accuracy on {len(test)} held-out rows: {accuracy:.3f}")
    return accuracy


@pipeline
def training(n_rows: int = 569, C: float = 1.0) -> None:
    data = load(n_rows)
    profile_step(data)
    checked = validate_step(data, schema=SCHEMA)  # fails the run, naming each anomaly
    train_df, test_df = split(data, after=checked)
    evaluate(train(train_df, C=C), test_df)


if __name__ == "__main__":
    run = training(C=0.5)
    cached = sum(s.status == "cached" for s in run.steps.values())
    print(f"run {run.name}: {run.status}, {cached}/{len(run.steps)} steps from the cache")
    print("accuracy:", run.steps["evaluate"].outputs["accuracy"].load())
