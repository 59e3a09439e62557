"""Seeing what a real run recorded: metric series, metadata, run-list columns, artifact values
and logs, through the views and the CLI (pipelines run in-process, the CLI through click)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel import Client, current, log_metadata, log_metric, pipeline, step

Invoke = Callable[..., Result]


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


@step
def fit(epochs: int = 5) -> float:
    for epoch in range(epochs):
        log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    log_metadata({"device": "cpu", "rows": 120})
    log_metadata({"dataset": "iris", "split": [0.8, 0.2]}, run=True)
    current.log_metric("accuracy", 0.93)
    return 0.93


@pipeline
def training(epochs: int = 5) -> None:
    fit(epochs)


def test_metric_history_and_metadata_of_a_real_run(bevel_home: Path, invoke: Invoke) -> None:
    run = training(epochs=6)
    step_view = run.steps["fit"]
    assert step_view.metric_series["loss"].values == [1.0 / (i + 1) for i in range(6)]
    assert step_view.metric_series["loss"].steps == list(range(6))
    assert step_view.metrics == {"loss": pytest.approx(1 / 6), "accuracy": 0.93}
    assert step_view.metadata == {"device": "cpu", "rows": 120}
    assert run.metadata == {"dataset": "iris", "split": [0.8, 0.2]}
    with Client() as client:  # read back from the store, as another process would
        again = client.get_run(run.id)
        assert again.metric_series["loss"].last == pytest.approx(1 / 6)
        assert again.metadata == run.metadata

    out = _ok(invoke("runs", "show", run.name))
    loss = next(line for line in out.splitlines() if line.startswith("loss"))
    assert "█▄▂▂▁▁  6 points, 1 → 0.166667" in loss, out
    assert "dataset=iris" in out and "device" in out and "120" in out


def test_log_metadata_refuses_two_targets_and_bad_keys(bevel_home: Path) -> None:
    from bevel.errors import BevelError, RunFailed

    @step
    def both() -> None:
        log_metadata({"a": 1}, artifact="output", run=True)

    @pipeline
    def p() -> None:
        both()

    with pytest.raises(RunFailed) as err:
        p()
    assert isinstance(err.value.__cause__, BevelError)
    assert "artifact= or run=True, not both" in str(err.value.__cause__)
