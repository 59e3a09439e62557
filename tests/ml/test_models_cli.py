"""``bevel models``: list, versions, show, promote, the audit log, and errors that say what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import pytest
from click.testing import Result

from bevel import Client, Model, evaluator, log_metric, pipeline, step, trainer

Invoke = Callable[..., Result]


@step
def numbers(n: int = 10) -> list[float]:
    return [float(i) for i in range(n)]


@trainer
def fit(xs: list[float], scale: float = 1.0) -> dict[str, float]:
    return {"mean": sum(xs) / len(xs) * scale}


@evaluator
def score(model: dict[str, float]) -> Annotated[float, "error"]:
    error = abs(model["mean"] - 4.5)
    log_metric("error", error)
    return error


@pipeline(model=Model("mean"))
def build(scale: float = 1.0) -> None:
    score(fit(numbers(), scale=scale))


@pytest.fixture
def three_versions(invoke: Invoke) -> None:
    for scale in (1.0, 2.0, 0.5):
        build(scale=scale)


def test_list_versions_show(invoke: Invoke, three_versions: None) -> None:
    result = invoke("models", "list")
    assert result.exit_code == 0, result.output
    assert "mean" in result.output and "3" in result.output

    result = invoke("models", "versions", "mean")
    lines = result.output.splitlines()
    assert result.exit_code == 0 and lines[0].split()[:3] == ["VERSION", "NAME", "STAGE"]
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]
    assert "error=0" in lines[-1]  # version 1: scale 1.0, error 0

    result = invoke("models", "show", "mean", "--version", "2")
    assert result.exit_code == 0, result.output
    assert "error=4.5" in result.output and "trained_by" in result.output
    assert "model" in result.output and "data.xs" in result.output
    assert "no stage changes yet" in result.output


def test_promote_moves_the_holder_to_archived_and_is_in_the_history(
    invoke: Invoke, three_versions: None
) -> None:
    result = invoke("models", "promote", "mean", "1", "--stage", "production", "-r", "exact")
    assert result.exit_code == 0, result.output
    assert "model 'mean' version 1 -> production" in result.output
    result = invoke("models", "promote", "mean", "3", "--reason", "try the small one")
    assert "version 1 -> archived (was production)" in result.output
    assert "version 3 -> production" in result.output
    again = invoke("models", "promote", "mean", "production")
    assert "is in production already" in again.output

    shown = invoke("models", "show", "mean", "--version", "production")
    assert "version  3" in shown.output or "version 3" in shown.output
    history = shown.output.split("history", 1)[1]
    assert "try the small one" in history and "exact" in history
    assert "production -> archived" in history
    assert Client().models.version("mean", 1).stage.value == "archived"  # type: ignore[union-attr]


def test_errors_say_what_to_do_and_the_hints_work(invoke: Invoke, three_versions: None) -> None:
    result = invoke("models", "show", "mean", "--version", "staging")
    assert result.exit_code == 1
    assert "model 'mean' has no version in staging" in result.output
    hint = result.output.split("hint: ", 1)[1]
    assert "bevel models promote mean VERSION --stage staging" in hint
    # follow the hint literally, with a version from the listing it names
    assert invoke("models", "versions", "mean").exit_code == 0
    followed = invoke("models", "promote", "mean", "2", "--stage", "staging")
    assert followed.exit_code == 0, followed.output
    assert invoke("models", "show", "mean", "--version", "staging").exit_code == 0

    unknown = invoke("models", "versions", "nope")
    assert unknown.exit_code == 1 and "no model named 'nope'" in unknown.output
    assert "bevel models list" in unknown.output
    assert invoke("models", "promote", "mean", "9").exit_code == 1


def test_no_models_yet(invoke: Invoke) -> None:
    invoke("init")
    result = invoke("models", "list")
    assert result.exit_code == 0 and "no models yet" in result.output
