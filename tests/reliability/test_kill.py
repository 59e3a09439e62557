"""Runs killed with SIGKILL at random moments leave a store that tells the truth.

A driver process runs a 6-step pipeline with array outputs over and over; the test kills it at a
random moment (seeded, so a failure can be replayed), :data:`KILLS` times. Afterwards, once the
dead runs are reaped (what a writer does, explicitly): no run or step run stays RUNNING, every
artifact record points at files whose bytes hash to the recorded content hash, SQLite's
``PRAGMA integrity_check`` is ``ok``, and a normal run succeeds. The figures go to the test's
``record_property`` (shown in the JUnit report) and to stdout (``-s``).
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from killed_pipeline import killed

from bevel.artifacts.hashing import hash_folder
from bevel.client.liveness import reap_dead_runs
from bevel.metadata.base import ArtifactFilter, RunFilter
from bevel.metadata.records import RunStatus, StepStatus
from bevel.settings import load_settings
from bevel.stack.stack import default_stack

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

HERE = Path(__file__).parent
KILLS = 12
SEED = 20261201


def driver(ready: Path, runs: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "killed_pipeline.py"), str(ready), str(runs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(path: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()[-2000:]
        assert time.monotonic() < deadline, "the driver did not start"
        time.sleep(0.01)


def test_sigkilled_runs_leave_a_consistent_store(
    bevel_home: Path, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    rng = random.Random(SEED)
    env = {**os.environ, "BEVEL_HOME": str(bevel_home)}
    # How long one run takes on this machine: only to aim the kills inside runs, never asserted.
    ready = tmp_path / "ready-calibrate"
    proc = driver(ready, 3, env)
    wait_for(ready, proc)
    began = time.monotonic()
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]
    per_run = (time.monotonic() - began) / 3

    for i in range(KILLS):
        ready = tmp_path / f"ready-{i}"
        proc = driver(ready, 1000, env)
        wait_for(ready, proc)
        time.sleep(rng.uniform(0, 2.5 * per_run))  # anywhere in the first few runs
        proc.kill()
        proc.wait(timeout=60)

    stack = default_stack()
    try:
        store = stack.metadata_store
        reap_dead_runs(store)  # the explicit reaping of a writer
        runs = store.list_runs(RunFilter(limit=0))
        statuses = [r.status for r in runs]
        assert RunStatus.RUNNING not in statuses
        for run in runs:
            assert StepStatus.RUNNING not in {s.status for s in store.step_runs(run.id)}
        reaped = [r for r in runs if r.status is RunStatus.FAILED]
        assert all("died" in (r.error or "") for r in reaped)
        assert reaped, "no kill landed inside a run: the kills are mis-aimed"

        artifacts = store.list_artifacts(ArtifactFilter(limit=0))
        for art in artifacts:
            folder = Path(art.uri)
            assert folder.is_dir(), f"{art.name} v{art.version}: {folder} is missing"
            assert hash_folder(str(folder))[0] == art.content_hash, f"{art.name}: bytes changed"

        settings = load_settings()
        with sqlite3.connect(settings.database_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

        after = killed.with_options(enable_cache=False)(seed=12345)
        assert after.status == "completed"
        assert after.steps["total"].output.load() == pytest.approx(
            float(after.steps["combine"].output.load().sum())
        )
    finally:
        stack.close()

    tmp_bytes = sum(
        f.stat().st_size for f in (settings.artifacts_path / ".tmp").rglob("*") if f.is_file()
    )
    figures = {
        "kills": KILLS,
        "seconds_per_run": round(per_run, 3),
        "runs_completed": statuses.count(RunStatus.COMPLETED),
        "runs_reaped_failed": len(reaped),
        "artifacts_verified": len(artifacts),
        "leftover_tmp_bytes": tmp_bytes,
    }
    for key, value in figures.items():
        record_property(key, value)
    print("\nreliability/kill:", figures)
