"""Pipelines with fan-in (a list of outputs as one argument) and dynamic fan-out (``.map``),
importable by worker processes."""

from __future__ import annotations

from bevel import pipeline, step, unmapped


@step
def seeds(values: list[int]) -> list[int]:
    return list(values)


@step
def train(seed: int, scale: int = 10) -> int:
    if seed < 0:
        raise ValueError(f"bad seed {seed}")
    return seed * scale


@step
def offset(by: int = 100) -> int:
    return by


@step
def evaluate(model: int, offset: int) -> float:
    return model + offset + 0.5


@step
def best(scores: list[float]) -> float:
    return max(scores, default=-1.0)


@step
def listing(scores: list[float]) -> list[float]:
    return scores


@step
def one(x: int) -> int:
    return x


@step
def pick_first(options: list[int]) -> int:
    return options[0]


@pipeline
def sweep(values: list[int], scale: int = 10) -> None:
    models = train.map(seeds(values), scale=scale)
    scores = evaluate.map(models, offset=unmapped(offset()))
    best(scores)
    listing(scores)


@pipeline
def fan_in() -> None:
    pick_first([one(3), one(1), one(2)])


@step
def pair(a: int, b: int) -> int:
    return a * b


@pipeline
def zipped(left: list[int], right: list[int]) -> None:
    listing(pair.map(seeds(left), seeds.with_options(id="more")(right)))


@step
def not_a_list() -> int:
    return 3


@step
def untyped():  # type: ignore[no-untyped-def]
    return 3


@pipeline
def maps_an_int() -> None:
    train.map(untyped())
