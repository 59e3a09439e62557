"""The optional component types have a caller: a run's end tells the alerter and the tracker.

Before, ``stack/protocols.py`` declared five optional protocols that nothing in bevel called, and
``docs/extending.md`` showed how to write an alerter that no run would ever use. Now an alerter
is told when a run fails or is cancelled, an experiment tracker gets each run's parameters and
metrics, and the types nothing would call (a data validator) cannot be
registered. The components are real ones, from the example flavor package, writing to files.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from bevel.api import load_pipeline, run_pipeline
from bevel.errors import BevelWarning, ConfigError, RunFailed, StackError
from bevel.settings import Settings
from bevel.stack.build import build_stack
from bevel.stack.definitions import Definitions

PIPELINE = """
from bevel import log_metric, pipeline, step


@step
def train(lr: float = 0.1, fail: bool = False) -> float:
    for epoch in range(3):
        log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    if fail:
        raise ValueError("diverged")
    log_metric("accuracy", 0.9)
    return lr


@pipeline
def training(lr: float = 0.1, fail: bool = False):
    train(lr=lr, fail=fail)
"""


@pytest.fixture
def training(tmp_path: Path) -> Any:
    path = tmp_path / "training.py"
    path.write_text(PIPELINE)
    return load_pipeline(f"{path}:training")


def watched_stack(defs: Definitions, *, alerts: str = "alerts.txt", fail: bool = False) -> str:
    defs.register_component("alerter", "ping", "file", {"path": alerts})
    defs.register_component(
        "experiment_tracker", "track", "file", {"path": "tracked.jsonl", "fail": fail}
    )
    defs.register_stack(
        "watched",
        {"orchestrator": "local", "artifact_store": "local-artifacts", "alerter": "ping",
         "experiment_tracker": "track"},
    )  # fmt: skip
    return "watched"


def tracked(settings: Settings) -> list[dict[str, Any]]:
    path = settings.project_root / "tracked.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_failed_run_is_alerted_and_tracked(
    defs: Definitions, settings: Settings, thirdparty: Path, training: Any
) -> None:
    stack = watched_stack(defs)
    with pytest.raises(RunFailed) as failed:
        run_pipeline(training, stack=stack, params={"lr": 0.5, "fail": True})
    alerts = (settings.project_root / "alerts.txt").read_text().splitlines()
    assert len(alerts) == 1
    assert (
        alerts[0].startswith("bevel: run training-")
        and " of pipeline training failed: " in alerts[0]
    )
    assert "step(s) failed: train" in alerts[0]
    run_id = failed.value.run_id
    calls = tracked(settings)
    assert calls[0] == {"call": "log_params", "run_id": run_id, "params": {"lr": 0.5, "fail": True}}
    series = [(c["step"], c["metrics"]) for c in calls[1:]]
    assert series == [(0, {"loss": 1.0}), (1, {"loss": 0.5}), (2, {"loss": 1 / 3})]


def test_a_completed_run_is_tracked_not_alerted(
    defs: Definitions, settings: Settings, thirdparty: Path, training: Any
) -> None:
    stack = watched_stack(defs)
    run = run_pipeline(training, stack=stack, params={"lr": 0.2})
    assert run.status == "completed"
    assert not (settings.project_root / "alerts.txt").exists()
    calls = tracked(settings)
    assert calls[0]["params"] == {"lr": 0.2, "fail": False}
    assert {
        "call": "log_metrics",
        "run_id": run.id,
        "metrics": {"accuracy": 0.9},
        "step": None,
    } in calls
    assert [c["step"] for c in calls if c["call"] == "log_metrics"] == [None, 0, 1, 2]


def test_broken_components_never_change_the_outcome(
    defs: Definitions, settings: Settings, thirdparty: Path, training: Any
) -> None:
    """An alerter that cannot write (its path is a folder) and a tracker whose server is down:
    each is a warning naming it, and the run is recorded as it ended."""
    (settings.project_root / "a-folder").mkdir()
    stack = watched_stack(defs, alerts="a-folder", fail=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RunFailed):
            run_pipeline(training, stack=stack, params={"fail": True})
    said = [str(w.message) for w in caught if issubclass(w.category, BevelWarning)]
    assert any(s.startswith("the stack's alerter 'ping' failed for run training-") for s in said)
    assert any(
        "the stack's experiment tracker 'track' failed" in s and "ConnectionError" in s
        for s in said
    )
    assert all("the run's outcome is recorded all the same" in s for s in said)
    from bevel.client.client import Client

    with Client(stack) as client:
        assert client.last_run("training").status == "failed"


# model_deployer is called now (bevel models deploy, current.model.deploy): tests/ml/test_serving.py;
# model_registry too (a trainer's version, a promotion): tests/ml/test_mlflow.py
@pytest.mark.parametrize("type_", ["data_validator"])
def test_types_nothing_calls_cannot_be_registered(defs: Definitions, type_: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown component type '{type_}'") as err:
        defs.register_component(type_, "x", "anything", {})
    assert err.value.hint and "experiment_tracker, model_registry, model_deployer, alerter" in (
        err.value.hint
    )


def test_a_stored_stack_with_a_type_this_bevel_does_not_use(
    defs: Definitions, settings: Settings
) -> None:
    """A definition written by another version (a data validator member): a clear error."""
    from datetime import UTC, datetime

    from bevel.metadata.records import ComponentRecord, StackRecord

    now = datetime.now(UTC)
    defs.store.create_component(ComponentRecord("val", "data_validator", "evidently", {}, now, now))
    members = {"orchestrator": "local", "artifact_store": "local-artifacts",
               "metadata_store": "home-metadata", "data_validator": "val"}  # fmt: skip
    defs.store.create_stack(StackRecord("old", members, now))
    with pytest.raises(StackError) as err:
        build_stack("old", settings).close()
    assert err.value.message == (
        "stack 'old' has a component of type data_validator ('val'), which this bevel does not use"
    )
    assert err.value.hint and err.value.hint.startswith(
        "register the stack again without it: bevel stack register old --force"
    )
