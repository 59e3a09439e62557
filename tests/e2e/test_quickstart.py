"""The quickstart example (what the README demo runs): real sklearn data, cache on the 2nd run."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_helpers import ROOT, Runner

from bevel import Client
from bevel.settings import ENV_HOME

EXAMPLE = ROOT / "examples" / "quickstart" / "pipeline.py"


@pytest.mark.slow
def test_quickstart_runs_then_is_cached(bevel_cli: Runner, tmp_path: Path, monkeypatch) -> None:
    first = bevel_cli("run", f"{EXAMPLE}:training", "-p", "C=0.5")
    assert "6 ran, 0 cached" in first.stdout
    assert "profile_step" in first.stdout and "validate_step" in first.stdout
    second = bevel_cli("run", f"{EXAMPLE}:training", "-p", "C=0.5")
    assert "0 ran, 6 cached" in second.stdout
    third = bevel_cli("run", f"{EXAMPLE}:training", "-p", "C=0.25", "--name", "smaller-C")
    assert "2 ran, 4 cached" in third.stdout
    monkeypatch.setenv(ENV_HOME, str(tmp_path / ".bevel"))
    with Client() as client:
        run = client.get_run("smaller-C")
        accuracy = run.steps["evaluate"].outputs["accuracy"].load()
        assert 0.9 < accuracy <= 1.0
        assert run.metrics["accuracy"] == accuracy
        model = run.steps["train"].output.load()
        assert model.get_params()["logisticregression__C"] == 0.25
    explain = bevel_cli("runs", "explain", "smaller-C", "train").stdout
    assert "param C changed: 0.5 -> 0.25" in explain
    logs = bevel_cli("logs", "smaller-C", "evaluate").stdout
    assert "accuracy on 114 held-out rows" in logs
    with Client() as client:
        run = client.get_run("smaller-C")
        stats = run.steps["profile_step"].output
        assert stats.load().rows == 569 and "statistics" in stats.visualizations
        assert run.steps["validate_step"].output.load().ok
    page = tmp_path / "stats.html"
    shown = bevel_cli("artifacts", "visualize", "training.profile_step.statistics", "-o", str(page))
    assert "statistics" in shown.stdout and "Statistics" in page.read_text()


def test_editing_the_schema_reruns_the_validation_and_an_anomaly_fails_the_run(
    bevel_cli: Runner, tmp_path: Path
) -> None:
    """The schema is a parameter of the validation step: its content is in the cache key."""
    import shutil

    copy = tmp_path / "quickstart"
    shutil.copytree(EXAMPLE.parent, copy)
    script = copy / "pipeline.py"
    assert "6 ran" in bevel_cli("run", f"{script}:training").stdout
    schema = copy / "schema.yaml"
    text = schema.read_text()
    schema.write_text(text.replace("    max: 33.4\n", "    max: 20.0\n", 1))  # mean radius
    failed = bevel_cli("run", f"{script}:training", ok=False)
    assert failed.returncode == 1
    assert "1 anomaly in 569 rows (1 out of range): mean radius" in failed.stderr
    run_name = failed.stdout.split()[1]  # "run training-2024...-ab12cd of pipeline training"
    shown = bevel_cli("runs", "show", run_name, ok=False).stdout
    assert "mean radius: out of range - values outside [1.7, 20.0]" in shown


def test_the_example_runs_as_a_plain_script(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "completed, 0/6 steps from the cache" in proc.stdout


def test_run_config_file_through_the_cli(bevel_cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(
        "run_name: nightly-{date}\n"
        "parameters: {C: 0.3}\n"
        "steps:\n"
        "  train: {parameters: {max_iter: 200}, retries: 1}\n"
        "  split: {parameters: {test_size: 0.25}}\n"
    )
    out = bevel_cli("run", f"{EXAMPLE}:training", "--config", "run.yaml").stdout
    assert "run nightly-2" in out and "6 ran" in out
    listed = bevel_cli("runs", "list").stdout
    name = next(w for w in listed.split() if w.startswith("nightly-"))
    shown = bevel_cli("runs", "show", name).stdout
    assert "C=0.3" in shown and "max_iter=200" in shown and "test_size=0.25" in shown
