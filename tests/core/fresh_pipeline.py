"""A pipeline whose consumer reports exactly what it was given (see test_fresh_equals_cached.py).

A module of its own so that worker processes (``spawn``) can import it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any

import numpy as np
import pandas as pd

from bevel import pipeline, step

BASE = np.arange(6, dtype=np.int64)  # a module-level array a producer returns as it is


class Mode(IntEnum):
    FAST = 1


def describe(value: Any) -> str:
    """Types all the way down, e.g. ``list[tuple[int, int]]``."""
    if isinstance(value, list | tuple):
        inner = ", ".join(describe(v) for v in value)
        return f"{type(value).__name__}[{inner}]"
    if isinstance(value, dict):
        return "dict{" + ", ".join(f"{k}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray):
        return f"ndarray[{value.dtype}, {value.shape}, C={value.flags.c_contiguous}]"
    if isinstance(value, pd.DataFrame):
        return f"DataFrame[{dict(value.dtypes.astype(str))}, {type(value.index).__name__}]"
    return type(value).__name__


@step
def pairs() -> list[tuple[int, int]]:
    return [(1, 2), (3, 4)]


@step
def array() -> np.ndarray:
    return BASE


@step
def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]}).iloc[1:]


@step(enable_cache=False)
def mutate(xs: np.ndarray, df: pd.DataFrame) -> Annotated[int, "mutated"]:
    xs += 100  # in place: must not change what other steps (or the producer's module) see
    df["x"] = -1.0
    return int(xs.sum())


@step(enable_cache=False)
def report(
    ps: list,  # type: ignore[type-arg]
    xs: np.ndarray,
    df: pd.DataFrame,
    shape: tuple[int, int] = (2, 3),
    raw: Any = (5, 6),
    nested: dict[str, tuple[int, ...]] | None = None,
    mode: int = Mode.FAST,
) -> Annotated[dict[str, str], "seen"]:
    return {
        "ps": describe(ps),
        "xs": describe(xs) + f" sum={int(xs.sum())}",
        "df": describe(df) + f" x={df['x'].tolist()}",
        "shape": describe(shape),
        "raw": describe(raw),
        "nested": describe(nested),
        "mode": describe(mode),
    }


@pipeline
def fresh() -> None:
    ps, xs, df = pairs(), array(), frame()
    mutated = mutate(xs, df)
    report(ps, xs, df, nested={"a": (1, 2)}, after=mutated)
