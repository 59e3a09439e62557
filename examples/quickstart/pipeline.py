"""bevel quickstart: a small, real ML pipeline on a dataset that ships inside scikit-learn.

Run it twice and watch the second run come from the cache:

    python examples/quickstart/pipeline.py
    bevel run examples/quickstart/pipeline.py:training -p C=0.5
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from bevel import current, log_metric, pipeline, step

TARGET = "target"


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
    train_df, test_df = split(load(n_rows))
    evaluate(train(train_df, C=C), test_df)


if __name__ == "__main__":
    run = training(C=0.5)
    cached = sum(s.status == "cached" for s in run.steps.values())
    print(f"run {run.name}: {run.status}, {cached}/{len(run.steps)} steps from the cache")
    print("accuracy:", run.steps["evaluate"].outputs["accuracy"].load())
