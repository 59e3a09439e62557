"""The ready-made steps in real pipelines: artifacts recorded with their reports, loaded back
equal, a failing validation fails the run with every anomaly named, and a re-run is cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bevel import Client, pipeline, step
from bevel.api import run_pipeline
from bevel.data import (
    AnomalyReport,
    DriftReport,
    Profile,
    Schema,
    drift_step,
    infer_schema,
    profile,
    profile_step,
    schema_step,
    validate_step,
)
from bevel.errors import RunFailed


@step
def reference(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(0, 1, n), "c": rng.choice(["a", "b"], n)})


@step
def batch(n: int = 400, shift: float = 0.0, bad_category: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(shift, 1, n), "c": rng.choice(["a", "b"], n)})
    if bad_category:
        frame.loc[:4, "c"] = "zzz"
    return frame


@pipeline
def checks(shift: float = 0.0, bad_category: bool = False, on_anomaly: str = "fail") -> None:
    ref = reference()
    new = batch(shift=shift, bad_category=bad_category)
    profile_step(new)
    report = validate_step(new, schema_step(ref, range_margin=5.0), on_anomaly=on_anomaly)
    drift_step(ref, new, after=report)


def test_the_steps_record_loadable_artifacts_with_reports(bevel_home: Path) -> None:
    run = run_pipeline(checks)
    outputs = {sid: s.outputs for sid, s in run.steps.items()}
    stats = outputs["profile_step"]["statistics"]
    assert stats.visualizations.keys() == {"statistics"}
    loaded = stats.load()
    assert isinstance(loaded, Profile) and loaded.rows == 400
    assert loaded == profile(batch.func())  # what the step computed, read back from the store
    assert isinstance(outputs["schema_step"]["schema"].load(), Schema)
    anomalies = outputs["validate_step"]["anomalies"].load()
    assert isinstance(anomalies, AnomalyReport) and anomalies.ok
    report = outputs["drift_step"]["drift"].load()
    assert isinstance(report, DriftReport) and report.drift_detected is False
    assert outputs["drift_step"]["drift"].metadata["drift_detected"] is False
    assert "validated: no anomalies" in run.steps["validate_step"].logs()
    again = run_pipeline(checks)
    assert {s.status.value for s in again.steps.values()} == {"cached"}


def test_a_failing_validation_fails_the_run_naming_every_anomaly(bevel_home: Path) -> None:
    with pytest.raises(RunFailed):
        run_pipeline(checks, params={"bad_category": True})
    run = Client().last_run("checks")
    step_view = run.steps["validate_step"]
    assert step_view.status.value == "failed"
    assert step_view.error and "c: unseen category" in step_view.error
    assert "'zzz' (5 rows)" in step_view.error
    assert "drift_step" not in run.steps or run.steps["drift_step"].status.value == "skipped"


def test_warn_passes_and_logs_the_anomalies(bevel_home: Path) -> None:
    run = run_pipeline(checks, params={"bad_category": True, "on_anomaly": "warn"})
    step_view = run.steps["validate_step"]
    assert step_view.status.value == "completed"
    assert not step_view.outputs["anomalies"].load().ok
    assert "unseen category" in step_view.logs()


@pipeline
def with_schema_parameter(schema: dict) -> None:  # type: ignore[type-arg]
    validate_step(batch(), schema=schema)


def test_a_schema_given_as_a_parameter_is_part_of_the_cache_key(
    bevel_home: Path, tmp_path: Path
) -> None:
    schema = infer_schema(batch.func())
    path = schema.save(tmp_path / "schema.yaml")
    first = run_pipeline(with_schema_parameter, params={"schema": Schema.load(path).to_dict()})
    assert first.steps["validate_step"].status.value == "completed"
    cached = run_pipeline(with_schema_parameter, params={"schema": Schema.load(path).to_dict()})
    assert cached.steps["validate_step"].status.value == "cached"
    path.write_text(path.read_text().replace("nullable: false", "nullable: true", 1))
    edited = run_pipeline(with_schema_parameter, params={"schema": Schema.load(path).to_dict()})
    assert edited.steps["validate_step"].status.value == "completed"


def test_the_steps_are_plain_functions_outside_a_pipeline() -> None:
    df = batch.func()
    assert isinstance(profile_step(df), Profile)
    assert validate_step(df, infer_schema(df)).ok
    assert drift_step(df, df).drifted == []
