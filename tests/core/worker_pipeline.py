"""A pipeline importable by worker processes (see test_worker.py): arrays, a DataFrame, a
fan-in, metrics, metadata, prints, a retried step and one that asks for resources."""

from __future__ import annotations

import os
from typing import Annotated

import numpy as np
import pandas as pd

from bevel import current, log_metadata, log_metric, pipeline, step


@step
def make(seed: int, n: int = 1000) -> np.ndarray:
    log_metadata({"pid": os.getpid()})
    return np.random.default_rng(seed).random(n)


@step
def frame(a: np.ndarray) -> pd.DataFrame:
    log_metadata({"pid": os.getpid()})
    return pd.DataFrame({"x": a, "bucket": (a * 4).astype(int)})


@step(resources={"cpu": 2, "memory": "1GiB"})
def stats(df: pd.DataFrame) -> tuple[Annotated[dict[str, float], "means"], Annotated[int, "rows"]]:
    log_metadata({"pid": os.getpid()})
    print("stats over", len(df), "rows")
    means = {str(k): float(v) for k, v in df.groupby("bucket").x.mean().items()}
    return means, len(df)


@step(retries=1, retry_delay=0.0)
def flaky(a: np.ndarray) -> float:
    log_metadata({"pid": os.getpid()})
    if current.attempt == 1:
        raise RuntimeError("first attempt fails")
    return float(a.sum())


@step
def report(means: dict[str, float], rows: int, total: float) -> str:
    log_metadata({"pid": os.getpid()})
    log_metric("rows", rows)
    log_metric("total", total)
    return f"{rows} rows, {len(means)} buckets, total {total:.6f}"


@pipeline
def worked(seed: int = 0) -> None:
    a = make(seed)
    means, rows = stats(frame(a))
    report(means, rows, flaky(a))
