"""Both ML examples end to end, as a user runs them: twice (the second run from the cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

from bevel import Client
from bevel.metadata.records import ModelStage, StepStatus

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("bevel_home")]


def _run(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        env={**os.environ, "BEVEL_HOME": str(home)},
        capture_output=True, text=True, timeout=600, cwd=home.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _bevel(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bevel", *args],
        env={**os.environ, "BEVEL_HOME": str(home)},
        capture_output=True, text=True, timeout=120, cwd=home.parent,
    )  # fmt: skip


def test_continuous_training_sweeps_promotes_deploys_and_answers(bevel_home: Path) -> None:
    script = ROOT / "examples" / "continuous_training" / "pipeline.py"
    try:
        first = _run(script, bevel_home)
        assert "'predictions': [0, 1, 0]" in first.stdout
        with Client() as client:
            run = client.last_run("continuous_training")
            trials = [sid for sid in run.steps if sid.startswith("fit.trial-")]
            assert len(trials) == 8
            production = client.models.version("breast_cancer", "production")
            assert production.number == 1 and production.metrics["accuracy"] > 0.9
            assert production.artifacts["model"].artifact_id == run.steps["fit"].output.id
            url = run.steps["deploy"].outputs["url"].load()
        # the endpoint is up, outside the pipeline too, and checks its input
        body = json.dumps({"instances": [[0.0, 1.0]]}).encode()
        request = urllib.request.Request(f"{url}/predict", data=body)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 422 and "30 features" in json.loads(err.value.read())["error"]

        second = _run(script, bevel_home)
        assert "'version': 1" in second.stdout  # not better: production stays version 1
        with Client() as client:
            again = client.last_run("continuous_training")
            assert all(again.steps[sid].status is StepStatus.CACHED for sid in trials)
            assert client.models.version("breast_cancer", 2).stage is None
            assert again.steps["deploy"].outputs["url"].load() == url  # kept running
    finally:
        _bevel(bevel_home, "models", "stop", "breast_cancer")
    listed = _bevel(bevel_home, "models", "deployments")
    assert "running" not in listed.stdout


def test_torch_example_passes_a_dataset_and_a_module_and_is_cached(bevel_home: Path) -> None:
    script = ROOT / "examples" / "torch" / "pipeline.py"
    first = _run(script, bevel_home)
    accuracy = float(first.stdout.split("accuracy")[-1])
    assert accuracy > 0.9
    _run(script, bevel_home)
    with Client() as client:
        run = client.last_run("digits")
        assert all(step.status is StepStatus.CACHED for step in run.steps.values())
        model = client.models.version("digits", "latest")
        assert model.number == 2 and model.metadata["device"] in ("cpu", "cuda:0")
        net = model.load_artifact("model")
        assert type(net).__name__ == "DigitNet" and not net.training
        test = run.steps["prepare"].outputs["test"].load()
        x, y = test.tensors
        with torch.no_grad():
            again = float((net(x).argmax(dim=1) == y).float().mean())
        assert again == pytest.approx(accuracy, abs=1e-3)
        assert client.models.version("digits", 1).stage is not ModelStage.PRODUCTION
