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
    assert "4 ran, 0 cached" in first.stdout
    second = bevel_cli("run", f"{EXAMPLE}:training", "-p", "C=0.5")
    assert "0 ran, 4 cached" in second.stdout
    third = bevel_cli("run", f"{EXAMPLE}:training", "-p", "C=0.25", "--name", "smaller-C")
    assert "2 ran, 2 cached" in third.stdout
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


def test_the_example_runs_as_a_plain_script(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "completed, 0/4 steps from the cache" in proc.stdout


def test_run_config_file_through_the_cli(bevel_cli: Runner, tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(
        "run_name: nightly-{date}\n"
        "parameters: {C: 0.3}\n"
        "steps:\n"
        "  train: {parameters: {max_iter: 200}, retries: 1}\n"
        "  split: {parameters: {test_size: 0.25}}\n"
    )
    out = bevel_cli("run", f"{EXAMPLE}:training", "--config", "run.yaml").stdout
    assert "run nightly-2" in out and "4 ran" in out
    listed = bevel_cli("runs", "list").stdout
    name = next(w for w in listed.split() if w.startswith("nightly-"))
    shown = bevel_cli("runs", "show", name).stdout
    assert "C=0.3" in shown and "max_iter=200" in shown and "test_size=0.25" in shown
