"""`python -m bevel.entrypoint`: a run prepared once, each step run as a process of its own from
a folder with no project code (it comes from the shipped archive), then finished; as an
engine launching one process per step (a Kubernetes Job, an Airflow task) would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bevel import Client

HERE = Path(__file__).parent
ENTRY = [sys.executable, "-m", "bevel.entrypoint"]


@pytest.fixture
def project(bevel_home: Path, tmp_path: Path) -> Path:
    shutil.copy(HERE / "control_pipelines.py", tmp_path / "pipes.py")
    shutil.copy(HERE / "map_pipelines.py", tmp_path / "maps.py")
    return tmp_path


def entry(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [*ENTRY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_prepare_run_each_step_elsewhere_finish(project: Path, tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    fixed.write_text("")
    prepared = entry("prepare", "pipes.py:fixable", "-p", f"fixed={fixed}", cwd=project)
    assert prepared.returncode == 0, prepared.stderr
    plan = json.loads(prepared.stdout)
    assert [s["id"] for s in plan["steps"]] == ["start", "flaky", "finish", "side"]
    assert plan["steps"][1]["upstream"] == ["start"]
    elsewhere = tmp_path / "pod"
    elsewhere.mkdir()  # no project code here: the step imports the shipped archive
    for step in plan["steps"]:
        ran = entry("--run", plan["run"], "--step", step["id"], cwd=elsewhere)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == f"step {step['id']} completed"
    finished = entry("finish", "--run", plan["run"], cwd=elsewhere)
    assert finished.returncode == 0, finished.stderr
    run = Client().get_run(plan["run"])
    assert run.status == "completed"
    assert run.steps["finish"].output.load() == 21
    assert run.metadata["code.archive"].startswith("sha256:")


def test_mapped_calls_and_a_fan_in(project: Path) -> None:
    prepared = entry("prepare", "maps.py:sweep", "-p", "values=[1, 2]", cwd=project)
    assert prepared.returncode == 0, prepared.stderr
    run_id = json.loads(prepared.stdout)["run"]
    mapped = entry("--run", run_id, "--step", "train", cwd=project)
    assert mapped.returncode == 2
    assert "step 'train' is mapped: run each of its calls (train[0], train[1]" in mapped.stderr
    order = ["seeds", "offset", "train[0]", "train[1]", "evaluate[0]", "evaluate[1]", "best",
             "listing"]  # fmt: skip
    for step in order:
        ran = entry("--run", run_id, "--step", step, cwd=project)
        assert ran.returncode == 0, (step, ran.stderr)
    assert entry("finish", "--run", run_id, cwd=project).returncode == 0
    assert Client().get_run(run_id).steps["listing"].output.load() == [110.5, 120.5]


def test_what_cannot_run_says_why(project: Path, tmp_path: Path) -> None:
    fixed = tmp_path / "not-there"
    prepared = entry("prepare", "pipes.py:fixable", "-p", f"fixed={fixed}", cwd=project)
    run_id = json.loads(prepared.stdout)["run"]
    early = entry("--run", run_id, "--step", "finish", cwd=project)
    assert early.returncode == 2
    assert "needs the output 'output' of step 'flaky', which has not completed" in early.stderr
    assert f"--run {run_id} --step flaky" in early.stderr
    unknown = entry("--run", run_id, "--step", "nope", cwd=project)
    assert unknown.returncode == 2 and "its steps: start, flaky, finish, side" in unknown.stderr
    assert entry("--run", run_id, "--step", "start", cwd=project).returncode == 0
    failed = entry("--run", run_id, "--step", "flaky", cwd=project)
    assert failed.returncode == 1
    assert "step flaky failed: RuntimeError: not fixed yet" in failed.stdout
    finished = entry("finish", "--run", run_id, cwd=project)
    assert finished.returncode == 1
    assert "step(s) did not complete: flaky (failed), finish (not run), side (not run)" in (
        finished.stdout
    )
    after = entry("--run", run_id, "--step", "side", cwd=project)
    assert after.returncode == 2 and "has ended (failed)" in after.stderr
